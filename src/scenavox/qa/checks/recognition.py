"""Round-trip recognition: the recognizer's transcript against the text (WER, CER) and the
command's slot values still heard in it (entity recall), on the clean and/or the noisy copy."""

from __future__ import annotations

from typing import Any, Literal

from .. import metrics
from .base import ClipSignals, QACheck


class Recognition(QACheck):
    name = "recognition"
    label = "round-trip recognition (WER, entity recall)"
    thresholds = {
        "max_wer": {"low": 0.4, "medium": 0.25, "high": 0.1},
        # a misheard dose is dangerous: every entity right from medium on
        "min_entity_recall": {"low": 0.5, "medium": 1.0, "high": 1.0},
    }
    # Which transcript the gates read. "clean" (the speech before acoustics): the noise is added on
    # purpose and does not change the label, so gating on the noisy copy would drop exactly the hard,
    # scenario-typical clips whenever the small recognizer struggles. "noisy" or "both" where the
    # words must survive the scenario's noise too. Clips without a clean copy always use the noisy one.
    settings = {"recognition_on": (Literal["clean", "noisy", "both"], "clean")}
    fields = ("wer", "cer", "entities", "entity_recall", "clean_wer", "clean_entity_recall")
    columns = {"qa_transcript": "transcript", "qa_wer": "wer", "qa_cer": "cer", "qa_clean_wer": "clean_wer",
               "qa_entity_recall": "entity_recall", "qa_clean_entity_recall": "clean_entity_recall"}
    column_types = {"qa_transcript": "string"}

    def measure(self, s: ClipSignals) -> dict[str, Any]:
        text, heard, clean, slots = s.clip.text, s.transcript, s.clean_transcript, s.triple.command.slots
        # heard is None where the QA stage did not transcribe the noisy copy (its seeded sample)
        ents = {} if heard is None else metrics.entity_stability(text, heard, slots)
        return {
            "wer": None if heard is None else round(metrics.wer(text, heard), 4),
            "cer": None if heard is None else round(metrics.cer(text, heard), 4),
            "entities": ents, "entity_recall": metrics.recall(ents),
            "clean_wer": None if clean is None else round(metrics.wer(text, clean), 4),
            "clean_entity_recall": None if clean is None else metrics.recall(
                metrics.entity_stability(text, clean, slots)),
        }

    def rescore(self, r: Any) -> None:
        """Text measures from the stored transcripts: keeps stored results in step with the current
        normalization without running the recognizer again."""
        if r.transcript is not None:
            r.wer = round(metrics.wer(r.reference, r.transcript), 4)
            r.cer = round(metrics.cer(r.reference, r.transcript), 4)
            r.entities = metrics.entity_stability(r.reference, r.transcript, r.slots)
            r.entity_recall = metrics.recall(r.entities)
        if r.clean_transcript is not None:
            r.clean_wer = round(metrics.wer(r.reference, r.clean_transcript), 4)
            r.clean_entity_recall = metrics.recall(metrics.entity_stability(r.reference, r.clean_transcript, r.slots))

    def gate(self, r: Any, t: Any) -> list[str]:
        views = []
        if t.recognition_on in ("clean", "both") and r.clean_transcript is not None:
            views.append(("clean ", r.clean_wer, metrics.entity_stability(r.reference, r.clean_transcript, r.slots)))
        if t.recognition_on in ("noisy", "both") or r.clean_transcript is None:
            views.append(("", r.wer, r.entities))
        reasons = []
        for label, wer, ents in views:
            rec = metrics.recall(ents)
            if wer is not None and wer > t.max_wer:
                reasons.append(f"{label}wer {wer:.2f} > {t.max_wer:g}")
            if rec is not None and rec < t.min_entity_recall:
                lost = ", ".join(k for k, ok in ents.items() if not ok)
                reasons.append(f"{label}entity recall {rec:.2f} < {t.min_entity_recall:g} (lost: {lost})")
        return reasons

    def report(self, results: list[Any], summary: dict[str, Any]) -> list[tuple[str, Any]]:
        return [("WER mean (all / clean)", f"{summary['wer'].get('mean', '-')} / {summary['clean_wer'].get('mean', '-')}"),
                ("entity recall", summary["entity_recall"]["overall"])]
