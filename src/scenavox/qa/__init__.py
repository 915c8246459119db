"""Quality checks: round-trip recognition, entity stability, audio and text checks, report.

    from scenavox.qa import run_qa, qa_columns
    results, summary = run_qa(store, scenario, clips, triples)
"""

from .run import filter_clips, format_qa_summary, load_corpus, qa_columns, run_qa
from .stage import QAResult, QAStage, QATask, judge
from .thresholds import PRESETS, Thresholds, thresholds_for

__all__ = ["PRESETS", "QAResult", "QAStage", "QATask", "Thresholds", "filter_clips", "format_qa_summary",
           "judge", "load_corpus", "qa_columns", "run_qa", "thresholds_for"]
