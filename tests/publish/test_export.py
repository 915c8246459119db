"""The exported folder as it would be uploaded: parquet shards, card, manifests."""

from __future__ import annotations

import io
import json
import re

import pytest
import soundfile as sf
import yaml

from scenavox.errors import UserError
from scenavox.publish.card import (
    licence_sources,
    merge_card_metadata,
    most_restrictive_licence,
    normalize_licence,
    size_category,
)
from scenavox.publish.export import export_dataset

from .conftest import SCENARIO_YAML, make_corpus, sine_flac


def _front_matter(text: str) -> dict:
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert m, "README.md has no YAML front matter"
    return yaml.safe_load(m.group(1))


def test_shards_follow_hub_layout(corpus):
    names = sorted(p.name for p in (corpus["folder"] / "data").iterdir())
    assert names == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
        "validation-00000-of-00001.parquet",
    ]
    assert corpus["counts"] == {"train": 3, "validation": 2, "test": 1}
    for name in ("README.md", "scenario.yaml", "run_config.json"):
        assert (corpus["folder"] / name).is_file()
    assert json.loads((corpus["folder"] / "run_config.json").read_text())["seed"] == 3
    assert not list(corpus["store"].root.glob("*.tmp-*")), "temporary export folder left behind"


def test_folder_loads_with_load_dataset(corpus, tmp_path):
    import datasets
    from datasets import Audio

    ds = datasets.load_dataset(str(corpus["folder"]), cache_dir=str(tmp_path / "cache"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 3, "validation": 2, "test": 1}
    train = ds["train"]
    assert isinstance(train.features["audio"], Audio)
    for col in ("text", "intent", "slots", "voice_id", "accent", "voice_licence", "tts_backend", "provenance",
                "source", "duration_s", "rate"):
        assert col in train.column_names
    raw = train.cast_column("audio", Audio(decode=False))
    clips = {c.id: c for c in corpus["clips"]}
    for row in raw:
        x, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
        assert sr == 16000
        assert len(x) / sr == pytest.approx(clips[row["id"]].duration_s, abs=1e-3)
        assert json.loads(row["provenance"])["clip"]["engine_licence"] == "GPL-3.0-or-later"
        assert row["source"] == "synthetic"


def test_voiced_replies_ship_in_the_dataset(tmp_path):
    """output_form voiced_replies: each row carries its reply's audio, read back by `datasets` as the file the
    voice stage wrote; a clip without a reply file has an empty reply_audio, and the card says what it is."""
    import datasets
    from datasets import Audio

    store, sc, clips, triples = make_corpus(tmp_path / "c", n=5)
    for i, c in enumerate(clips[:4]):  # the fifth has no reply file (a corpus of another output form)
        rel = f"replies/r{i}.flac"
        store.put_bytes(rel, sine_flac(0.4 + 0.1 * i, freq=500 + 30 * i))
        clips[i] = c.model_copy(update={"reply_audio_path": rel, "reply_duration_s": 0.4 + 0.1 * i})
    export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {"seed": 3}, shard_size=2)
    ds = datasets.load_dataset(str(store.root / "dataset"), cache_dir=str(tmp_path / "cache"))
    assert isinstance(ds["train"].features["reply_audio"], Audio) and not ds["train"].features["reply_audio"].decode
    by_id = {c.id: c for c in clips}
    seen = 0
    for split in ds:
        for row in ds[split].cast_column("audio", Audio(decode=False)):  # reply_audio comes undecoded as it is
            c = by_id[row["id"]]
            if c.reply_audio_path is None:
                assert row["reply_audio"] is None and row["reply_duration_s"] is None
                continue
            assert row["reply_audio"]["bytes"] == store.file(c.reply_audio_path).read_bytes()
            y, sr = sf.read(io.BytesIO(row["reply_audio"]["bytes"]))
            assert sr == 16000 and len(y) / sr == pytest.approx(row["reply_duration_s"], abs=1e-3)
            seen += 1
    assert seen == 4
    card = (store.root / "dataset" / "README.md").read_text()
    assert "`reply_audio` is the assistant's reply" in card and "adds 2.2 s of the assistant's voiced replies" in card


def test_card_yaml_has_the_fields(corpus):
    from huggingface_hub import DatasetCard

    text = (corpus["folder"] / "README.md").read_text()
    meta = _front_matter(text)
    assert meta["license"] == "gpl-3.0"  # GPL engine + GPL eSpeak voice beat CC0 voice and Apache text model
    assert meta["language"] == ["en"]
    assert meta["task_categories"] == ["automatic-speech-recognition", "text-to-speech"]  # voiced_replies
    assert meta["size_categories"] == ["n<1K"]
    assert "synthetic" in meta["tags"]
    assert meta["annotations_creators"] == ["machine-generated"]
    assert meta["language_creators"] == ["machine-generated"]
    assert meta["configs"][0]["data_files"] == [
        {"split": "train", "path": "data/train-*"},
        {"split": "validation", "path": "data/validation-*"},
        {"split": "test", "path": "data/test-*"},
    ]
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == {"train": 3, "validation": 2,
                                                                                     "test": 1}
    assert {"name": "audio", "dtype": {"audio": {"sampling_rate": 16000}}} in meta["dataset_info"]["features"]
    syn = meta["synthetic_data"]
    assert syn["contains_synthetic_data"] is True and syn["synthetic_share"] == 1.0 and syn["real_rows"] == 0
    comp = meta["compliance"]
    assert comp["training_use"] is True and comp["purpose"] == "testing the exporter"
    assert comp["retention"] and comp["consent"] and comp["region_notes"]
    # the body answers the questions in words
    for needle in ("Synthetic data disclosure", "## The scenario", "Output form", "Failure cost",
                   "## How it was made", "piper-joe-en-us", "CC0-1.0", "## Acoustics", "vehicle_cabin",
                   "Synthetic/real: 6/0", "## Quality checks", "## Compliance", "May be used for training",
                   "delete after the test"):
        assert needle in text, needle
    card = DatasetCard.load(corpus["folder"] / "README.md")
    assert card.data.license == "gpl-3.0"


def test_reexport_changes_shards_and_stays_atomic(corpus):
    c = corpus
    export_dataset(c["store"], c["scenario"], c["clips"], c["triples"], 3, SCENARIO_YAML, {"seed": 3}, shard_size=10)
    names = sorted(p.name for p in (c["folder"] / "data").iterdir())
    assert names == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet",
                     "validation-00000-of-00001.parquet"]
    assert sorted(p.name for p in c["store"].root.iterdir() if p.name.startswith("dataset")) == ["dataset"]
    with pytest.raises(UserError, match="shard size"):
        export_dataset(c["store"], c["scenario"], c["clips"], c["triples"], 3, SCENARIO_YAML, {}, shard_size=0)


def test_qa_summary_and_licence_in_card(tmp_path):
    from scenavox.publish.card import build_card
    from scenavox.publish.export import build_rows

    voices = [{"id": "xtts-clone", "accent": "en-US", "backend": "coqui", "licence": "CPML",
               "engine_licence": "MPL-2.0"}]
    store, sc, clips, triples = make_corpus(tmp_path / "c", n=2, voices=voices)
    rows = build_rows(store, sc, clips, triples, 0, with_audio=False)
    rows[0]["qa_wer"] = 0.1
    rows[1]["qa_wer"] = 0.3
    card = build_card(sc, {"train": rows}, qa={"round_trip_wer": 0.2})
    meta = _front_matter(str(card))
    assert meta["license"] == "other" and meta["license_name"] == "coqui-public-model-license"
    assert "round_trip_wer" in str(card) and "| qa_wer | 0.2 | 0.1 | 0.3 | 2 |" in str(card)


def test_card_says_what_a_voice_is_where_the_registry_describes_it(tmp_path):
    from scenavox.publish.card import build_card
    from scenavox.publish.export import build_rows

    voices = [{"id": "kokoro-hf-alpha", "accent": "en-IN", "backend": "kokoro", "licence": "Apache-2.0",
               "engine_licence": "MIT"}, {"id": "piper-joe", "accent": "en-US", "backend": "piper",
                                          "licence": "CC0-1.0", "engine_licence": "GPL-3.0-or-later"}]
    store, sc, clips, triples = make_corpus(tmp_path / "c", n=2, voices=voices)
    clips[0].provenance["description"] = "Hindi-trained voice reading English"
    rows = build_rows(store, sc, clips, triples, 0, with_audio=False)
    card = str(build_card(sc, {"train": rows}))
    assert "- `kokoro-hf-alpha`: Hindi-trained voice reading English" in card
    assert "`piper-joe`:" not in card


def test_card_names_the_reply_voice_and_what_it_is(tmp_path, repo_cwd):
    from types import SimpleNamespace

    from scenavox.publish.card import build_card
    from scenavox.publish.export import build_rows
    from scenavox.voice.registry import load_registry
    from scenavox.voice.replies import reply_provenance

    store, sc, clips, triples = make_corpus(tmp_path / "c", n=2)
    heart = next(v for v in load_registry("default") if v.id == "hibari-heart").model_dump(mode="json")
    for c in clips:
        c.provenance.update(reply_provenance(SimpleNamespace(reply={"voice": heart})))
    card = str(build_card(sc, {"train": build_rows(store, sc, clips, triples, 0, with_audio=False)}))
    assert ("The assistant's replies are spoken by `hibari-heart` (hibari, bundled:heart): hibari-tts voice "
            "distilled from Kokoro-82M's af_heart") in card
    assert "kokoro-af-heart-en-029 is the same teacher voice" in card
    assert "| voice | hibari-heart | Apache-2.0 |" in card and "| tts engine | hibari | Apache-2.0 AND MIT |" in card


def test_licence_ranking():
    assert normalize_licence("GPL-3.0-or-later")[:2] == ("gpl-3.0", 3)
    assert normalize_licence("") is None
    # SPDX conjunctions (a TTS engine and its phonemizer): the strictest part, not an unknown `other`
    assert normalize_licence("MIT AND GPL-3.0-or-later")[:2] == ("gpl-3.0", 3)
    assert normalize_licence("Apache-2.0 AND MIT")[:2] == ("apache-2.0", 1)
    assert normalize_licence("CC0-1.0 AND CC-BY-NC-4.0")[:2] == ("cc-by-nc-4.0", 5)
    srcs = [{"covers": "voice", "component": "a", "licence": lic} for lic in ("CC0-1.0", "Apache-2.0", "CC-BY-NC-4.0")]
    assert most_restrictive_licence(srcs) == ("cc-by-nc-4.0", None)
    assert most_restrictive_licence(srcs[:2]) == ("apache-2.0", None)
    assert most_restrictive_licence([]) == ("unknown", None)
    assert most_restrictive_licence(srcs + [{"covers": "voice", "component": "b", "licence": "my-own-terms"}]) == \
        ("other", "my-own-terms")
    assert licence_sources([{"voice_id": "v", "voice_licence": "MIT", "tts_backend": "kokoro",
                             "provenance": json.dumps({"clip": {"engine_licence": "Apache-2.0"}})}]) == [
        {"covers": "voice", "component": "v", "licence": "MIT"},
        {"covers": "tts engine", "component": "kokoro", "licence": "Apache-2.0"}]
    assert licence_sources([{"text_model": "SmolLM2-135M-Instruct-Q4_1", "provenance": "{}"}]) == [
        {"covers": "text model", "component": "SmolLM2-135M-Instruct-Q4_1", "licence": "Apache-2.0"}]
    assert size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K"


def test_merge_card_metadata_keeps_hub_only_fields():
    hub = {"license": "mit", "custom": {"a": 1}, "tags": ["x"], "license_name": "old"}
    ours = {"license": "gpl-3.0", "tags": ["synthetic"]}
    assert merge_card_metadata(hub, ours) == {"license": "gpl-3.0", "custom": {"a": 1}, "tags": ["synthetic"]}


def _card_qa_block(card_text: str) -> dict:
    qa = card_text.split("## Quality checks", 1)[1]
    return json.loads(qa.split("```json\n", 1)[1].split("\n```", 1)[0])


def test_card_leakage_is_measured_on_the_rows_it_describes(tmp_path):
    """A QA summary left by an earlier run (here: a fresh build's, with no export yet) must not put its
    leakage figure on the card of this export."""
    from scenavox.qa.corpus import split_leakage

    store, sc, clips, triples = make_corpus(tmp_path / "c", n=8)
    store.write_json("qa/summary.json", {"clips": 8, "split_leakage": None, "not_measured": ["split leakage"]})
    counts = export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {"seed": 3, "n": 8})
    block = _card_qa_block((store.root / "dataset" / "README.md").read_text())
    measured = split_leakage(store.root, sc.voices.held_out)  # read back from the parquet just written
    assert measured is not None and sum(counts.values()) == 8
    assert block["split_leakage"] == measured == counts.leakage
    assert "split leakage" not in block["not_measured"]
    # a stale claim of a leak from another export does not survive either
    store.write_json("qa/summary.json", {"split_leakage": {"leak": True, "held_out_voices_outside_test": ["x"]}})
    export_dataset(store, sc, clips, triples, 3, SCENARIO_YAML, {"seed": 3, "n": 8})
    assert _card_qa_block((store.root / "dataset" / "README.md").read_text())["split_leakage"] == measured
