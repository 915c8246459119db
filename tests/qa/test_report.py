"""report/index.html and report/report.json: the sections and plots the report promises, self-contained."""

import base64
import io
import json
import re

import pytest

from scenavox.executors import LocalExecutor
from scenavox.qa import QAStage, run_qa, thresholds_for
from scenavox.qa.corpus import summarize, text_checks
from scenavox.qa.report import write_report
from scenavox.qa.stage import QAResult, judge
from scenavox.records import Clip, Command, Triple
from scenavox.store import Store

from .conftest import add_clip, scenario, speak

SECTIONS = ["Summary", "Plots", "Entity stability by slot", "By voice", "By accent", "By intent", "By noise",
            "Synthetic vs real", "Text", "Thresholds", "Failing clips", "Not measured yet"]
ALWAYS = {"Durations", "Speaking rate", "WER", "DNSMOS", "WER by voice", "WER by accent", "Entity recall by voice",
          "Entity recall by accent", "WER by noise", "Entity recall by noise", "Accent balance", "Intent balance",
          "Voice balance"}
WITH_REAL = {"Synthetic vs real: WER", "Synthetic vs real: DNSMOS", "Synthetic vs real: speaking rate"}
WITH_SNR = {"SNR target vs measured"}
WITH_CLEAN = {"DNSMOS: clean vs noisy clips"}


def figures(page: str) -> dict[str, bytes]:
    """Caption -> PNG bytes of every figure; each must be an embedded PNG matplotlib can read back."""
    import matplotlib.image

    out = {}
    for caption, data in re.findall(r"<figcaption>(.*?)</figcaption><img alt='[^']*' "
                                    r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", page):
        png = base64.b64decode(data)
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), caption
        h, w = matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2]
        assert h > 50 and w > 50, caption
        out[caption] = png
    return out


def check_page(root, plots_expected: set[str]) -> str:
    page = (root / "report" / "index.html").read_text(encoding="utf-8")
    data = json.loads((root / "report" / "report.json").read_text(encoding="utf-8"))
    assert set(data["plots"]) == plots_expected == set(figures(page))
    assert page.count("data:image/png;base64,") == len(plots_expected)
    heads = re.findall(r"<h2>(.*?)</h2>", page)
    want = iter(SECTIONS)  # every promised section, in this order
    pending = next(want)
    for h in heads:
        if h.startswith(pending):
            pending = next(want, None)
    assert pending is None, (pending, heads)
    assert "<script" not in page and "src='http" not in page and "href='http" not in page  # self-contained
    return page


def result(i: int, *, voice: str, accent: str, intent: str, slots: dict[str, str], heard: str, wer: float,
           entities: dict[str, bool], source: str = "synthetic", noise: str = "clean", target: float | None = None,
           mixed: float | None = None) -> QAResult:
    return QAResult(id=f"c{i}", triple_id=f"t{i}", key=f"k{i}", recognizer="faster-whisper:base", voice_id=voice,
                    accent=accent, language="en", intent=intent, source=source, noise=noise,
                    reference=f"utterance {i}", transcript=heard, slots=slots, wer=wer, cer=wer / 2,
                    entities=entities, entity_recall=sum(entities.values()) / len(entities) if entities else None,
                    duration_s=1.5 + 0.25 * i, words=4, words_per_s=2.5 + 0.1 * i, leading_silence_s=0.1,
                    trailing_silence_s=0.1, longest_pause_s=0.2, speech_ratio=0.8, peak_dbfs=-3.0, rms_dbfs=-22.0,
                    clipped_fraction=0.0, snr_db=mixed, target_snr_db=target, mixed_snr_db=mixed,
                    f0_median_hz=120.0, f0_spread_st=2.0, jitter_proxy=0.01, dnsmos_ovrl=3.0 + 0.05 * i,
                    dnsmos_sig=3.4, dnsmos_bak=3.8, dnsmos_p808=3.5)


def test_every_promised_plot_and_section_from_a_mixed_result_set(tmp_path):
    """Synthetic and real clips, noisy and clean, one failing: every plot the report knows is drawn."""
    sc = scenario()
    sc.description = "Car <commands> & friends"
    th = thresholds_for(sc)
    rows = [
        result(0, voice="piper-joe-us", accent="en-US", intent="set_temperature", slots={"temperature": "21"},
               heard="set the temperature to 21", wer=0.0, entities={"temperature": True}),
        result(1, voice="espeak-en-gb", accent="en-GB", intent="call_contact", slots={"contact": "Sarah"},
               heard="call sarah", wer=0.1, entities={"contact": True}, noise="cabin", target=12.0, mixed=11.6),
        result(2, voice="real:spk1", accent="en-GB", intent="call_contact", slots={"contact": "David"},
               heard="call david now", wer=0.05, entities={"contact": True}, source="real", noise="cabin",
               target=8.0, mixed=8.3),
        result(3, voice="piper-joe-us", accent="en-US", intent="set_temperature", slots={"temperature": "21"},
               heard="<script>alert(1)</script> 25", wer=0.6, entities={"temperature": False}),
    ]
    rows[1].clean_dnsmos_ovrl, rows[1].clean_dnsmos_sig = 3.3, 3.6  # the noisy clip's clean copy
    results = [judge(r, th) for r in rows]
    assert [r.passed for r in results] == [True, True, True, False]
    triples = {f"t{i}": Triple(id=f"t{i}", index=i, command=Command(intent=r.intent, slots=r.slots),
                               utterance=r.reference, reply=f"reply {i}") for i, r in enumerate(rows)}
    clips = [Clip(id=r.id, triple_id=r.triple_id, audio_path=f"audio/{r.id}.flac", text=r.reference,
                  sample_rate=16000, duration_s=r.duration_s, voice_id=r.voice_id, accent=r.accent, language="en",
                  prosody={}) for r in rows]
    summary = summarize(sc, results, clips, triples, th, "faster-whisper:base",
                        text_checks(sc, list(triples.values())), [])
    store = Store(tmp_path)
    paths = write_report(store, sc, results, summary)
    assert paths == {"html": str(tmp_path / "report" / "index.html"), "json": str(tmp_path / "report" / "report.json")}
    page = check_page(tmp_path, ALWAYS | WITH_REAL | WITH_SNR | WITH_CLEAN)
    quality = page.split("<h2>Speech quality: clean vs noisy (DNSMOS)</h2>")[1].split("<h2>")[0]
    assert "<td>espeak-en-gb</td><td>1</td><td>3.3</td><td>3.6</td><td>3.05</td>" in quality
    assert "Car &lt;commands&gt; &amp; friends" in page and "<commands>" not in page
    assert "Failing clips (1)" in page and "&lt;script&gt;alert(1)&lt;/script&gt; 25" in page
    assert "entity recall" in page.split("Failing clips (1)")[1]
    for slot in ("temperature", "contact"):
        assert f"<td>{slot}</td>" in page.split("Entity stability by slot")[1].split("<h2>")[0]
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [c["id"] for c in data["clips"]] == ["c0", "c1", "c2", "c3"] and data["summary"]["failed"] == 1


@pytest.mark.slow
def test_report_from_a_tiny_real_result_set(tmp_path, piper, transcriber):
    """Piper speech through Whisper: one clip as said, one whose audio says another number."""
    store = Store(tmp_path)
    said = "Set the temperature to 21 degrees please"
    good = add_clip(store, said, speak(piper, said), "set_temperature", {"temperature": "21"}, index=0)
    wrong = add_clip(store, said, speak(piper, "Set the temperature to 25 degrees please"), "set_temperature",
                     {"temperature": "21"}, accent="en-GB", voice_id="piper-joe-gb", index=1)
    stage = QAStage(thresholds_for(scenario()), transcriber=transcriber, threads=2)
    results, summary = run_qa(store, scenario(), [good[0], wrong[0]], {good[1].id: good[1], wrong[1].id: wrong[1]},
                              stage=stage, executor=LocalExecutor(), extras=False)
    assert [r.passed for r in sorted(results, key=lambda r: r.id != good[0].id)] == [True, False]
    page = check_page(tmp_path, ALWAYS)  # synthetic only, no noise added: no real-vs-synthetic or SNR plots
    assert "Failing clips (1)" in page and "synthetic-vs-real gap (no real clips)" in page
    failing = page.split("Failing clips (1)")[1]
    assert wrong[0].id in failing and "entity recall" in failing and good[0].id not in failing
    assert "<td>temperature</td><td>0.5</td><td>2</td>" in page  # entity stability: 1 of 2 kept
