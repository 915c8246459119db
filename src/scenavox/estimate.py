"""`scenavox corpus --dry-run`: how long a build will take, before it starts.

The estimate scales measured per-item rates to the requested size:
- from the run.json of an earlier build of the same scenario (its folder, or any folder under
  outputs/ built from a scenario of that name), when there is one: its stages' busy seconds per
  item, items tried per utterance kept (text set aside, QA drops) and QA seconds per clip;
- else from a probe: a tiny build (a few utterances, real models) in a temporary folder, read
  as per-item medians so that each model's cold start does not count as a typical item.

The wall-time model follows how the pipeline runs: text and voice overlap on the worker cores
(the slower stage sets the pace, and together they cannot beat their CPU total over the cores);
QA measures each clip as it is placed, on a thread of this process, so its CPU shares the cores with
them (a build from before that recorded QA's wall after each pass: it is added instead); models load
once per run. It reads the stages' CPU seconds where the build recorded them: their busy (wall)
seconds include the waits for a core, since three workers share two cores, and summing those counted
the waits as work (a 200-item car build took 1306 s; its own busy seconds estimated 1718 s, the CPU
seconds of a 60-item build 1276 s).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scenario import Scenario

# Each text worker's first item is a cold start, and with 4 items those were half of them: car's estimate was
# 1.28x its measured 200-item build from 4, 1.11x from 6 (about 10 s more probing)
PROBE_N = 6
LOAD_S = 20.0  # model loading, worker start and export on this kind of machine (measured: 15-30 s)


@dataclass(frozen=True)
class Rates:
    source: str  # where they were measured, in words
    text_s: float  # busy seconds per text item tried
    voice_s: float  # per clip voiced
    acoustics_s: float  # per clip placed
    qa_s: float  # per clip checked (0 when QA was off)
    tries_per_utterance: float  # text items tried per utterance kept
    clips_per_utterance: float  # clips voiced per utterance kept
    audio_s_per_utterance: float
    # CPU seconds per item (None for a run.json from before they were recorded: the busy seconds stand in)
    text_cpu_s: float | None = None
    voice_cpu_s: float | None = None
    acoustics_cpu_s: float | None = None
    # QA's CPU seconds per clip checked, where it ran beside the pass (run.json stages.qa.ahead); None: after it
    qa_cpu_s: float | None = None


def rates_from_summary(summary: dict[str, Any], source: str, typical: bool = False) -> Rates | None:
    """Per-item rates of a finished build (None when it made nothing new to measure).

    typical: per-item medians instead of means, for a probe build, whose few items would
    otherwise carry each model's cold start (the first Kokoro clip of a worker costs 10x the next)."""
    st = summary.get("stages") or {}
    kept = summary.get("utterances") or 0
    text, voice = st.get("text") or {}, st.get("voice") or {}
    if not kept or not text.get("done") or not voice.get("done"):
        return None  # everything reused, or nothing kept: no rate to read

    def per(stage: dict[str, Any], total: str = "busy_s", median: str = "median_item_s") -> float | None:
        """Seconds per item (busy, or CPU with total="cpu_s"); None where the build did not record them."""
        if typical and stage.get(median) is not None:
            return float(stage[median])
        if total not in stage:
            return None
        done = (stage.get("done") or 0) + (stage.get("quarantined") or 0)
        return float(stage[total] or 0.0) / done if done else 0.0

    def per_cpu(stage: dict[str, Any]) -> float | None:
        return per(stage, "cpu_s", "median_item_cpu_s")

    qa = summary.get("qa") or {}
    checked = qa.get("checked") or 0
    qa_stage = st.get("qa") or {}
    tried = (summary.get("planned") or {}).get("tried") or kept
    return Rates(
        source=source, text_s=per(text) or 0.0, voice_s=per(voice) or 0.0,
        acoustics_s=per(st.get("acoustics") or {}) or 0.0,
        qa_s=float(qa_stage.get("busy_s") or 0.0) / checked if checked else 0.0,
        tries_per_utterance=tried / kept,
        clips_per_utterance=((voice.get("done") or 0) + (voice.get("quarantined") or 0)) / kept,
        audio_s_per_utterance=60.0 * float(summary.get("audio_minutes") or 0.0) / kept,
        text_cpu_s=per_cpu(text), voice_cpu_s=per_cpu(voice), acoustics_cpu_s=per_cpu(st.get("acoustics") or {}),
        qa_cpu_s=float(qa_stage.get("cpu_s") or 0.0) / checked if checked and qa_stage.get("ahead") else None,
    )


def earlier_rates(scenario: Scenario, folders: list[Path]) -> Rates | None:
    """Rates from the newest run.json of this scenario (and text backend) among folders and their children."""
    found = []
    for folder in folders:
        for path in [folder / "run.json", *folder.glob("*/run.json")]:
            try:
                summary = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            cfg = summary.get("run_config") or {}
            if summary.get("scenario") == scenario.name and cfg.get("text_backend") == scenario.text.backend:
                found.append((path.stat().st_mtime, path, summary))
    for _, path, summary in sorted(found, key=lambda f: f[0], reverse=True):
        rates = rates_from_summary(summary, f"measured in the earlier build {path.parent}")
        if rates is not None:
            return rates
    return None


def probe_rates(scenario: Scenario, workers: int | None) -> Rates:
    """Build PROBE_N utterances in a temporary folder and read their rates."""
    from .api import build

    with tempfile.TemporaryDirectory(prefix="scenavox-probe-") as tmp:
        result = build(scenario, n=PROBE_N, out=Path(tmp) / scenario.name, workers=workers, progress=False,
                       allow_short=True)  # a probe measures rates; a short one still does
    rates = rates_from_summary(result.summary, f"measured on a {PROBE_N}-utterance probe build (per-item "
                                               "medians; a first build's retries and top-ups may add more)",
                               typical=True)
    if rates is None:
        from .errors import UserError

        raise UserError(f"the {PROBE_N}-utterance probe build kept nothing, so there is no rate to scale; run a "
                        "small build (--n 10) and read its quarantine.jsonl")
    return rates


def estimate(scenario: Scenario, n: int, rates: Rates, workers: int | None) -> dict[str, Any]:
    """Seconds per stage and the expected wall time for n utterances."""
    from .pipeline import plan_workers
    from .text.backends import is_remote

    remote = is_remote(scenario.text.backend)
    t_workers, _, v_workers, _ = plan_workers(workers, text_remote=remote)
    cores = max(1, workers if workers is not None else os.cpu_count() or 1)
    # a remote text stage waits on its server: its busy seconds are its pace, and they use no core here
    cpu_rates = (rates.text_cpu_s, rates.voice_cpu_s, rates.acoustics_cpu_s)
    cpu = not remote and None not in cpu_rates
    text_s, voice_s, acoustics_s = (float(r or 0.0) for r in cpu_rates) if cpu else (
        rates.text_s, rates.voice_s, rates.acoustics_s)
    text = n * rates.tries_per_utterance * text_s
    voice = n * rates.clips_per_utterance * voice_s
    acoustics = n * rates.clips_per_utterance * acoustics_s
    beside = cpu and rates.qa_cpu_s is not None
    if beside:  # QA beside the pass: its CPU shares the cores, and the last clip or two are measured after it
        qa = n * rates.clips_per_utterance * float(rates.qa_cpu_s or 0.0)
        qa_after = 2 * float(rates.qa_cpu_s or 0.0)
    else:  # measured by a build whose QA ran alone, after each pass: its wall seconds
        qa = qa_after = n * rates.clips_per_utterance * rates.qa_s
    text_wall = text / max(1, t_workers) if t_workers else text / max(1, scenario.text.concurrency)
    streamed = max((text + voice + acoustics + (qa if beside else 0.0)) / cores, text_wall, voice / max(1, v_workers))
    return {"n": n, "source": rates.source, "seconds": "CPU" if cpu else "busy", "wall_s": LOAD_S + streamed + qa_after,
            "qa_beside": beside, "stage_s": {"text": text, "voice": voice, "acoustics": acoustics, "qa": qa},
            "audio_minutes": n * rates.audio_s_per_utterance / 60.0, "tries_per_utterance": rates.tries_per_utterance}


def format_estimate(e: dict[str, Any]) -> str:
    stage_s = e["stage_s"]
    minutes = e["wall_s"] / 60.0
    return "\n".join([
        f"dry run: {e['n']} utterances, about {e['audio_minutes']:.1f} min of audio, in about {minutes:.0f} min "
        f"({e['wall_s']:.0f} s) on this machine; nothing was written",
        f"  {e['seconds']} seconds per stage: " + ", ".join(f"{k} {v:.0f}" for k, v in stage_s.items() if k != "qa")
        + f"; qa {stage_s['qa']:.0f} " + ("(CPU, beside the other stages)" if e.get("qa_beside") else "(wall)"),
        f"  {e['tries_per_utterance']:.2f} text items tried per utterance kept",
        f"  rates {e['source']}",
    ])
