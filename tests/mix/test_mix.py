"""The mixer: real sources load, shares hold, speakers and voices stay in one split, seeds reproduce."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
import soundfile as sf

from scenavox.errors import UserError
from scenavox.mix import blend_rows, load_real
from scenavox.scenario import MixConfig
from scenavox.splits import SPLITS

from .conftest import (
    real_records,
    scenario,
    synthetic_rows,
    write_audiofolder,
    write_disk,
    write_manifest,
    write_parquet,
)


def _speakers(rows):
    return {r["voice_id"] for r in rows if r["source"] == "real"}


def _voices(rows):
    return {r["voice_id"] for r in rows if r["source"] == "synthetic"}


def _check_disjoint(out):
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            assert not (_speakers(out[a]) & _speakers(out[b])), f"real speaker in {a} and {b}"


# --- sources ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["audiofolder-csv", "audiofolder-jsonl", "manifest", "parquet", "parquet-datasets", "disk"])
def test_each_source_format_loads(kind, tmp_path):
    recs = real_records(speakers=3, per_speaker=2)
    writer = {
        "audiofolder-csv": lambda p: write_audiofolder(p, recs, "csv"),
        "audiofolder-jsonl": lambda p: write_audiofolder(p, recs, "jsonl"),
        "manifest": lambda p: write_manifest(p, recs),
        "parquet": lambda p: write_parquet(p, recs),
        "parquet-datasets": lambda p: write_parquet(p, recs, with_datasets=True),
        "disk": lambda p: write_disk(p, recs),
    }[kind]
    loc = writer(tmp_path / "src")
    src = load_real(MixConfig(real=str(loc), licence="CC-BY-4.0"))
    assert src.kind == kind.split("-")[0]
    assert len(src.items) == 6
    assert sorted({i.speaker for i in src.items}) == ["spk00", "spk01", "spk02"]
    assert {i.text for i in src.items} == {r["text"] for r in recs}
    for it in src.items:
        assert it.sample_rate == 22050 and 0.04 < it.duration_s < 0.1
    if kind.startswith(("audiofolder", "parquet", "disk")):
        assert {i.accent for i in src.items} == {"en-US", "en-GB"}
    # one blended row: resampled to the corpus rate, FLAC, text kept and normalized, provenance with licence
    from scenavox.mix import real_row

    sc = scenario()
    row = real_row(src.items[0], src, sc, 3, 16000)
    x, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
    assert sr == 16000 and sf.info(io.BytesIO(row["audio"]["bytes"])).format == "FLAC"
    assert abs(len(x) / sr - src.items[0].duration_s) < 1e-3
    assert row["source"] == "real" and row["text"].startswith("Set the temperature to")
    assert row["text_normalized"].startswith("set the temperature to") and "," not in row["text_normalized"]
    prov = json.loads(row["provenance"])["real"]
    assert prov["licence"] == "CC-BY-4.0" and prov["original_sample_rate"] == 22050


# --- blending ---------------------------------------------------------------------------
@pytest.mark.parametrize("shares", [
    {"train": 0.5, "validation": 0.5, "test": 0.0},
    {"train": 0.7, "validation": 0.25, "test": 1.0},
    {"train": 0.8, "validation": 0.0, "test": 0.0},
])
def test_shares_within_one_point_and_speakers_disjoint(shares, real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "synthetic_share": shares})
    out, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    assert summary["mode"] == "blended" and summary["speaker_disjoint"]
    for s in SPLITS:
        rows = out[s]
        assert rows, f"{s} is empty"
        syn = sum(r["source"] == "synthetic" for r in rows)
        assert abs(syn / len(rows) - shares[s]) <= 0.01, (s, syn, len(rows))
        assert summary["splits"][s]["synthetic_share"] == pytest.approx(syn / len(rows), abs=1e-4)
        assert summary["splits"][s]["requested_share"] == shares[s]
    _check_disjoint(out)
    assert not [n for n in summary["notes"] if "differs from the requested" in n]
    # every row has the same columns
    cols = {frozenset(r) for s in SPLITS for r in out[s]}
    assert len(cols) == 1


def test_share_in_hours(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "share_unit": "hours",
                   "synthetic_share": {"train": 0.4, "validation": 0.5, "test": 0.0}})
    out, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    for s, want in (("train", 0.4), ("validation", 0.5), ("test", 0.0)):
        h = Counter()
        for r in out[s]:
            h[r["source"]] += r["duration_s"]
        assert abs(h["synthetic"] / (h["synthetic"] + h["real"]) - want) <= 0.01, (s, h)
        assert summary["splits"][s]["synthetic_share_hours"] == pytest.approx(want, abs=0.01)
    _check_disjoint(out)


def test_target_hours_per_split(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "hours": {"train": 0.002, "validation": 0.0008},
                   "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.0}})
    out, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    for s, hours in (("train", 0.002), ("validation", 0.0008)):
        total = sum(r["duration_s"] for r in out[s]) / 3600
        assert total == pytest.approx(hours, rel=0.08)
        assert summary["splits"][s]["synthetic_share_hours"] == pytest.approx(0.5, abs=0.01)


def test_stratified_by_accent_and_intent(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder)})
    out, _ = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    real_train = [r for r in out["train"] if r["source"] == "real"]
    acc = Counter(r["accent"] for r in real_train)
    intents = Counter(r["intent"] for r in real_train)
    assert abs(acc["en-US"] - acc["en-GB"]) <= 0.1 * len(real_train), acc  # the source is 50/50
    assert abs(intents["set_temperature"] - intents["call_contact"]) <= 0.15 * len(real_train), intents
    for s in ("validation", "test"):  # small splits still get both accents
        assert len({r["accent"] for r in out[s] if r["source"] == "real"}) == 2


def test_voice_disjoint_with_held_out_voice(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "voice_disjoint": True,
                   "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.5}},
                  voices={"held_out": ["espeak-e"]})
    out, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    assert summary["voice_disjoint"] and summary["speaker_disjoint"]
    assert _voices(out["test"]) == {"espeak-e"}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            assert not (_voices(out[a]) & _voices(out[b])), f"synthetic voice in {a} and {b}"
    for s in SPLITS:
        syn = sum(r["source"] == "synthetic" for r in out[s])
        assert abs(syn / len(out[s]) - 0.5) <= 0.01
    _check_disjoint(out)


def test_held_out_voices_without_voice_disjoint_stay_in_test(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.3}},
                  voices={"held_out": ["piper-b"]})
    out, _ = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    assert "piper-b" in _voices(out["test"])
    assert "piper-b" not in _voices(out["train"]) | _voices(out["validation"])


def test_real_only_test_moves_synthetic_rows_to_the_other_splits(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder)})
    syn = synthetic_rows(tmp_path / "c", sc)
    out, summary = blend_rows(syn, sc, 3, 16000)
    assert not [r for r in out["test"] if r["source"] == "synthetic"]
    assert summary["synthetic_rows"] == 200 and summary["synthetic_dropped"] == 0


def test_same_seed_same_output(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "voice_disjoint": True})
    a, sa = blend_rows(synthetic_rows(tmp_path / "a", sc), sc, 3, 16000)
    b, sb = blend_rows(synthetic_rows(tmp_path / "b", sc), sc, 3, 16000)
    assert sa == sb
    for s in SPLITS:
        assert [r["id"] for r in a[s]] == [r["id"] for r in b[s]]
        assert [r["audio"]["bytes"] for r in a[s]] == [r["audio"]["bytes"] for r in b[s]]
    c, _ = blend_rows(synthetic_rows(tmp_path / "c", sc, seed=4), sc, 4, 16000)
    assert [r["id"] for r in c["train"]] != [r["id"] for r in a["train"]]


def test_short_real_data_keeps_the_share_by_dropping_synthetic(tmp_path):
    folder = write_audiofolder(tmp_path / "few", real_records(speakers=4, per_speaker=10))
    sc = scenario({"real": str(folder), "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.0}})
    out, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    assert summary["synthetic_dropped"] > 0
    for s in ("train", "validation"):
        syn = sum(r["source"] == "synthetic" for r in out[s])
        assert abs(syn / len(out[s]) - 0.5) <= 0.01
    _check_disjoint(out)


def test_share_that_cannot_be_met_is_reported(tmp_path):
    folder = write_audiofolder(tmp_path / "one", real_records(speakers=1, per_speaker=5))
    sc = scenario({"real": str(folder), "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.0}})
    out, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    assert summary["speaker_disjoint"]
    notes = " ".join(summary["notes"])
    assert "validation: no real speaker left" in notes and "validation: realized synthetic share 1.000" in notes
    assert out["validation"] and all(r["source"] == "synthetic" for r in out["validation"])
    assert "test: empty" in notes and not out["test"]
    assert summary["splits"]["train"]["real_speakers"] == 1


def test_blend_splits_a_flat_list_of_synthetic_rows(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder)})
    _, summary = blend_rows(synthetic_rows(tmp_path / "c", sc), sc, 3, 16000)
    assert summary["synthetic_rows"] == 200 and summary["speaker_disjoint"]


def test_without_real_data_the_corpus_is_synthetic_only(tmp_path):
    sc = scenario()
    syn = synthetic_rows(tmp_path / "c", sc)
    out, summary = blend_rows(syn, sc, 3, 16000)
    assert summary["mode"] == "synthetic_only" and summary["real_rows"] == 0
    assert "synthetic only" in summary["notes"][0]
    # the splitter's rule, nothing more: 200 rows cut 0.8/0.1/0.1, each split in row order
    assert {s: len(v) for s, v in out.items()} == {"train": 160, "validation": 20, "test": 20}
    assert all(r["source"] == "synthetic" for s in SPLITS for r in out[s])
    assert all([r["id"] for r in out[s]] == sorted(r["id"] for r in out[s]) for s in SPLITS)


# --- bad input --------------------------------------------------------------------------
def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_missing_audio_file_names_it(tmp_path):
    m = write_manifest(tmp_path / "m", real_records(speakers=1, per_speaker=2))
    m.write_text(m.read_text() + json.dumps({"audio_filepath": "wavs/nope.wav", "text": "hi", "speaker": "x"}) + "\n")
    with pytest.raises(UserError) as e:
        load_real(MixConfig(real=str(m)))
    assert "nope.wav" in _one_line(e) and "row 2" in str(e.value) and str(m) in str(e.value)


def test_missing_column_names_it(tmp_path):
    folder = write_audiofolder(tmp_path / "af", real_records(speakers=1, per_speaker=2))
    with pytest.raises(UserError) as e:
        load_real(MixConfig(real=str(folder), text_column="words"))
    assert "'words'" in _one_line(e) and "mix.text_column" in str(e.value) and "transcription" in str(e.value)
    (folder / "metadata.csv").write_text("file_name,speaker_id\nspk00/utt00.wav,a\n")
    with pytest.raises(UserError) as e:
        load_real(MixConfig(real=str(folder)))
    assert "no transcript column" in _one_line(e) and "metadata.csv" in str(e.value)


def test_unreadable_audio_names_the_file(tmp_path):
    folder = write_audiofolder(tmp_path / "af", real_records(speakers=1, per_speaker=2))
    (folder / "spk00" / "utt01.wav").write_bytes(b"this is not audio")
    with pytest.raises(UserError) as e:
        load_real(MixConfig(real=str(folder)))
    assert "unreadable audio" in _one_line(e) and "row 1" in str(e.value)


def test_bad_manifest_line(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"audio_filepath": "a.wav", "text": "x"}\n{oops\n')
    with pytest.raises(UserError) as e:
        load_real(MixConfig(real=str(m)))
    assert "line 2" in _one_line(e)


def test_hub_id_offline_is_refused(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as e:
        load_real(MixConfig(real="someone/some-speech"))
    assert "offline" in _one_line(e) and "HF_HUB_OFFLINE" in str(e.value)


def test_missing_real_folder_is_a_scenario_error(tmp_path):
    with pytest.raises(UserError) as e:
        scenario({"real": str(tmp_path / "nowhere")})
    assert "mix.real" in _one_line(e) and "not found" in str(e.value)


@pytest.mark.parametrize("mix, fragment", [
    ({"synthetic_share": {"train": 1.5}}, "between 0 and 1"),
    ({"synthetic_share": {"train": -0.1}}, "between 0 and 1"),
    ({"synthetic_share": {"dev": 0.5}}, "unknown split ['dev']"),
    ({"hours": {"eval": 1}}, "unknown split ['eval']"),
    ({"hours": {"train": 0}}, "positive number of hours"),
    ({"stratify_by": ["gender"]}, "mix.stratify_by.0"),
    ({"speaker": "x"}, "unknown field 'speaker'"),
])
def test_mix_config_validation(mix, fragment):
    with pytest.raises(UserError) as e:
        scenario(mix)
    msg = _one_line(e)
    assert fragment in msg and "mix" in msg


def test_hub_id_online_goes_through_load_dataset(monkeypatch):
    """The Hub path, without a network: load_dataset is replaced by one returning a local dataset."""
    import datasets
    from datasets import Audio, Dataset, DatasetDict

    from .conftest import hf_rows

    recs = real_records(speakers=2, per_speaker=2)
    dd = DatasetDict({"train": Dataset.from_list(hf_rows(recs)).cast_column("audio", Audio(sampling_rate=22050))})
    calls = []

    def fake_load(ref, name=None, split=None):
        calls.append((ref, name, split))
        return dd

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    src = load_real(MixConfig(real="someone/some-speech", hub_config="en"))
    assert calls == [("someone/some-speech", "en", None)]
    assert src.kind == "hub" and len(src.items) == 4 and {i.speaker for i in src.items} == {"spk00", "spk01"}


def test_voice_disjoint_with_too_few_voices_says_so(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "voice_disjoint": True,
                   "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.5}})
    syn = synthetic_rows(tmp_path / "c", sc, voices=[("piper-a", "en-US"), ("piper-b", "en-US")])
    out, summary = blend_rows(syn, sc, 3, 16000)
    assert summary["voice_disjoint"]
    assert any("cannot fill" in n for n in summary["notes"])
    assert sum(1 for s in SPLITS if _voices(out[s])) == 2


def _as_kokoro(rows):
    """The fixture's voices as Kokoro voices: piper-a and piper-b are one style (af_sarah) read with
    American and New York phonemes, one person under two voice ids; the others are styles of their own."""
    style = {"piper-a": ("af_sarah", "en-us"), "piper-b": ("af_sarah", "en-us-nyc"), "espeak-c": ("bf_emma", "en-gb"),
             "espeak-d": ("bm_george", "en-gb"), "espeak-e": ("bf_alice", "en-gb")}
    for r in rows:
        prov = json.loads(r["provenance"])
        name, lang = style[r["voice_id"]]
        prov["clip"] = {**prov["clip"], "tts_backend": "kokoro", "voice_options": {"style": name, "lang": lang}}
        r.update(tts_backend="kokoro", tts_model="kokoro-82m-v1.0-int8", provenance=json.dumps(prov))
    return rows


def test_a_held_out_voice_takes_its_other_accents_to_test_too(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.5}},
                  voices={"held_out": ["piper-a"]})
    out, _ = blend_rows(_as_kokoro(synthetic_rows(tmp_path / "c", sc)), sc, 3, 16000)
    assert {"piper-a", "piper-b"} <= _voices(out["test"])
    assert not {"piper-a", "piper-b"} & (_voices(out["train"]) | _voices(out["validation"]))


def test_voice_disjoint_splits_are_speaker_disjoint(real_folder, tmp_path):
    sc = scenario({"real": str(real_folder), "voice_disjoint": True,
                   "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.5}})
    out, _ = blend_rows(_as_kokoro(synthetic_rows(tmp_path / "c", sc)), sc, 3, 16000)
    where = {s for s in SPLITS if {"piper-a", "piper-b"} & _voices(out[s])}
    assert len(where) == 1, where  # af_sarah in one split, under both of her voice ids


def test_leakage_counts_a_held_out_speaker_under_another_voice_id(tmp_path):
    from scenavox.qa.corpus import leakage_of_rows

    sc = scenario()
    rows = _as_kokoro(synthetic_rows(tmp_path / "c", sc, n=20))
    by_split = {"train": [r for r in rows if r["voice_id"] != "piper-a"],
                "test": [r for r in rows if r["voice_id"] == "piper-a"]}
    leak = leakage_of_rows(by_split, ["piper-a"])
    assert leak["held_out_voices_outside_test"] == ["piper-b"] and leak["leak"]
    assert leakage_of_rows(by_split, ["espeak-c"])["held_out_voices_outside_test"] == ["espeak-c"]


def test_the_card_names_the_other_voice_ids_of_a_held_out_speaker(real_folder, tmp_path):
    from scenavox.publish.card import build_card

    sc = scenario({"real": str(real_folder), "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.5}},
                  voices={"held_out": ["piper-a"]})
    out, _ = blend_rows(_as_kokoro(synthetic_rows(tmp_path / "c", sc)), sc, 3, 16000)
    card = str(build_card(sc, out))
    assert ("Voices kept for the test split only: piper-a (and the same speakers under other voice ids, in other "
            "accents: piper-b).") in card
