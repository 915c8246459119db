"""The report's synthetic-vs-real section on real human speech: Piper clips beside packaged real
recordings (MFA test clips), through the real QA stage (Whisper base, VAD, DNSMOS) and the report."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from scenavox.audio import read_mono, resample
from scenavox.executors import LocalExecutor
from scenavox.qa import run_qa
from scenavox.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
REAL = Path(os.environ.get("SCENAVOX_REAL_SPEECH") or ROOT / "data" / "real_speech") / "mfa"


def test_synthetic_vs_real_report_on_real_speech(tmp_path):
    if not (REAL / "metadata.csv").is_file():
        pytest.skip(f"{REAL} not fetched: run `make real-speech` (CI runs it before the tests)")
    from tests.qa.conftest import add_clip, scenario, speak
    from scenavox.voice.backends.piper import PiperBackend

    piper = PiperBackend(threads=1)
    store = Store(tmp_path)
    clips, triples = [], {}
    for i, text in enumerate(["Set the temperature to 21 degrees please", "Call Sarah on her mobile",
                              "Call David now"]):
        intent, slots = ("set_temperature", {"temperature": "21"}) if i == 0 else \
            ("call_contact", {"contact": ["Sarah", "David"][i - 1]})
        c, t = add_clip(store, text, speak(piper, text), intent, slots, index=i)
        clips.append(c)
        triples[t.id] = t
    rows = [r for r in csv.DictReader((REAL / "metadata.csv").open(encoding="utf-8"))
            if r["speaker_id"] in ("librispeech-61", "mfa-ipa-us", "mfa-ipa-uk")][:4]
    assert rows
    for k, r in enumerate(rows):
        x, sr = read_mono(REAL / r["file_name"])
        c, t = add_clip(store, r["transcription"], resample(x, sr, 16000), "call_contact", {}, index=10 + k,
                        voice_id=f"real:{r['speaker_id']}", accent=r["accent"], provenance={"source": "real"})
        clips.append(c)
        triples[t.id] = t
    results, summary = run_qa(store, scenario(), clips, triples, executor=LocalExecutor(), extras=False,
                              threads=2, progress=False)
    by = summary["by_source"]
    assert set(by) == {"synthetic", "real"} and by["real"]["clips"] == len(rows)
    real = [r for r in results if r.source == "real"]
    assert all(r.dnsmos_ovrl and 1.0 < r.dnsmos_ovrl < 5.0 for r in real)
    assert all(r.words_per_s and 1.0 < r.words_per_s < 6.0 for r in real)  # human speaking rates
    assert np.mean([r.wer for r in real]) < 0.35  # Whisper base hears real read speech
    page = (store.report_dir / "index.html").read_text()
    for plot in ("Synthetic vs real: WER", "Synthetic vs real: DNSMOS", "Synthetic vs real: speaking rate"):
        assert plot in page
    assert "Synthetic vs real" in page
