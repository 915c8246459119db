"""The Python API for scripts and notebooks: `build` a corpus and look at the result.

    import scenavox as sv
    run = sv.build(sv.load_scenario("car"), n=20)
    run.to_pandas(); run.audio(0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Clip, Triple
from .scenario import Scenario
from .summary import run_summary


@dataclass
class RunResult:
    out: Path
    dataset: Path | None
    summary: dict[str, Any]
    clips: list[Clip] = field(default_factory=list)
    triples: list[Triple] = field(default_factory=list)

    def to_pandas(self) -> Any:
        """One row per clip: text, command, reply, voice, accent, prosody, duration."""
        import pandas as pd

        by_id = {t.id: t for t in self.triples}
        return pd.DataFrame([
            {"id": c.id, "text": c.text, "intent": by_id[c.triple_id].command.intent,
             "slots": by_id[c.triple_id].command.slots, "reply": by_id[c.triple_id].reply,
             "voice": c.voice_id, "accent": c.accent, "duration_s": c.duration_s, **c.prosody}
            for c in self.clips
        ])

    def audio(self, i: int = 0) -> Any:
        """An inline audio player for clip i (IPython)."""
        from IPython.display import Audio

        return Audio(data=(self.out / self.clips[i].audio_path).read_bytes())

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>{s['scenario']}</b>: {s['utterances']} utterances, {s['audio_minutes']} min of audio, "
                f"splits {s['splits']}, set aside {s['set_aside']} &rarr; <code>{self.dataset}</code>")


def build(
    scenario: Scenario,
    *,
    n: int | None = None,
    seed: int | None = None,
    out: Path | str | None = None,
    workers: int | None = None,
    text_backend: str | None = None,
    progress: bool = True,
    executor: Any = None,
) -> RunResult:
    """Build (or resume) the corpus: n utterances that passed every stage, in `out`
    (default outputs/<scenario name>); writes run.json, the summary `scenavox corpus` prints.

    Items that are set aside are replaced by further planned items (top-up passes), so --n 200
    gives 200 utterances when the backends allow it, at the scenario's accent weights.
    """
    from .pipeline import run_pipeline

    facts, store = run_pipeline(scenario, n=n, seed=seed, out=out, workers=workers, text_backend=text_backend,
                                progress=progress, executor=executor)
    summary = run_summary(facts)
    store.write_json("run.json", summary)
    return RunResult(out=store.root, dataset=facts.dataset, summary=summary, clips=facts.clips,
                     triples=facts.triples)


def evaluate(
    scenario: Scenario,
    *,
    out: Path | str | None = None,
    baselines: bool = False,
    seed: int | None = None,
    threads: int = 2,
    progress: bool = True,
    max_train: int | None = None,
) -> dict[str, Any]:
    """Train a probe intent classifier (frozen Whisper-base encoder, mean-pooled, + logistic
    regression) on the corpus's synthetic train rows and test it on held-out voices, and on the
    real rows by source. With `baselines`, the same probe also trains on (b) the train texts in
    one clean generic voice and (c) the scenario's voices without acoustics. Writes <out>/eval/
    (results.json, results.txt, confusion.png) and the report's probe section; returns the results.
    """
    from .eval import evaluate as run_eval
    from .pipeline import default_out

    return run_eval(scenario, Path(out) if out is not None else default_out(scenario), baselines=baselines,
                    seed=seed, threads=threads, progress=progress, max_train=max_train)
