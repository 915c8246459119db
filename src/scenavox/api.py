"""The Python API for scripts and notebooks: `build` a corpus and look at the result.

    import scenavox as sv
    run = sv.build(sv.load_scenario("car"), n=20)
    run.to_pandas(); run.audio(0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collections import Counter

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

    def reply_audio(self, i: int = 0) -> Any:
        """An inline audio player for clip i's voiced reply (output_form voiced_replies or both)."""
        from IPython.display import Audio

        rel = self.clips[i].reply_audio_path
        if not rel:
            raise ValueError(f"clip {i} has no voiced reply: the scenario's output_form does not voice replies")
        return Audio(data=(self.out / rel).read_bytes())

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>{s['scenario']}</b>: {s['utterances']} utterances, {s['audio_minutes']} min of audio, "
                f"splits {s['splits']}, set aside {s['set_aside']} &rarr; <code>{self.dataset}</code>")


# The exit code of `scenavox corpus` when it delivers fewer utterances than asked (without --allow-short).
EXIT_SHORT = 3


class ShortCorpus(Exception):
    """build() delivered fewer utterances than asked and allow_short was not given. The corpus is written
    as far as it got (run.json, the dataset); `result` holds it, str() is the one-line explanation."""

    def __init__(self, result: RunResult, line: str):
        super().__init__(line)
        self.result = result


# what to change, by the most frequent reason (first match wins)
_ADVICE = (
    (("entity recall", "wer"), "the recognizer loses words or slot values: lower failure_cost or set qa.max_wer / "
                               "qa.min_entity_recall, keep qa.recognition_on: clean, or say identifiers digit by digit "
                               "(spoken: digits)"),
    (("lacks slot value", "said digit", "said as one", "said in groups"),
     "the text model leaves out slot values: add an example per intent, or point text.model at a stronger model"),
    (("qa:",), "clips fail QA: see qa/failed.jsonl and loosen the qa: thresholds that drop them"),
    (("text:",), "the text model's answers are set aside: see quarantine.jsonl; add examples or use a stronger model"),
)


def shortfall(summary: dict[str, Any]) -> str | None:
    """One line when the run delivered fewer utterances than asked: how many, the top reasons, what to
    change; None when it delivered them all."""
    got, asked = summary.get("utterances", 0), summary.get("requested", 0)
    if got >= asked:
        return None
    reasons: Counter[str] = Counter(summary.get("set_aside_reasons") or {})
    for k, v in ((summary.get("qa") or {}).get("dropped_reasons") or {}).items():
        reasons[f"qa: {k}"] += v
    top = reasons.most_common(3)
    why = "; ".join(f"{k} ({v})" for k, v in top) or "no reason recorded"
    advice = next((a for keys, a in _ADVICE if top and any(k in top[0][0] for k in keys)),
                  "raise size.n's budget by fixing the top reason")
    return (f"short corpus: {got} of {asked} utterances ({got / max(asked, 1):.0%}); top reasons: {why}; "
            f"to change: {advice}; or pass --allow-short (allow_short=True) to accept it")


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
    allow_short: bool = False,
) -> RunResult:
    """Build (or resume) the corpus: n utterances that passed every stage, in `out`
    (default outputs/<scenario name>); writes run.json, the summary `scenavox corpus` prints.

    Items that are set aside are replaced by further planned items (top-up passes), so --n 200
    gives 200 utterances when the backends allow it, at the scenario's accent weights. When they do not,
    build raises ShortCorpus (the corpus is written; the exception holds it) unless allow_short is given.
    """
    from .pipeline import run_pipeline

    facts, store = run_pipeline(scenario, n=n, seed=seed, out=out, workers=workers, text_backend=text_backend,
                                progress=progress, executor=executor)
    summary = run_summary(facts)
    store.write_json("run.json", summary)
    result = RunResult(out=store.root, dataset=facts.dataset, summary=summary, clips=facts.clips,
                       triples=facts.triples)
    line = shortfall(summary)
    if line and not allow_short:
        raise ShortCorpus(result, line)
    return result


def evaluate(
    scenario: Scenario,
    *,
    out: Path | str | None = None,
    baselines: bool = False,
    seed: int | None = None,
    threads: int = 2,
    progress: bool = True,
    max_train: int | None = None,
    folds: int = 1,
) -> dict[str, Any]:
    """Train a probe intent classifier (frozen Whisper-base encoder, mean-pooled, + logistic
    regression) on the corpus's synthetic train rows and test it on held-out voices, and on the
    real rows by source. With `baselines`, the same probe also trains on (b) the train texts in
    one clean generic voice and (c) the scenario's voices without acoustics. Writes <out>/eval/
    (results.json, results.txt, confusion.png) and the report's probe section; returns the results.
    folds > 1: speaker k-fold instead (every speaker held out once, intervals over speakers; for a
    scenario without voices.held_out): about k times the test clips from the same corpus.
    """
    from .eval import evaluate as run_eval
    from .pipeline import default_out

    return run_eval(scenario, Path(out) if out is not None else default_out(scenario), baselines=baselines,
                    seed=seed, threads=threads, progress=progress, max_train=max_train, folds=folds)
