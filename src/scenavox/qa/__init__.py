"""Quality checks: round-trip recognition, entity stability, audio and text checks, report.

    from scenavox.qa import filter_clips, qa_columns, run_qa
    results, summary = run_qa(store, scenario, clips, triples, executor=LocalExecutor())  # in store.lock()
    kept, dropped = filter_clips(clips, results)                  # exactly the failing clips dropped
    row.update(qa_columns(result_by_id.get(clip.id)))             # qa_* columns for the dataset rows

The checks are registered classes (qa/checks/: what a check provides is in checks/base.py).
See docs/qa.md for the checks, the files written and the threshold presets.
"""

from .run import filter_clips, format_qa_summary, load_corpus, qa_columns, run_qa
from .checks import QACheck, register, unregister
from .stage import QAResult, QAStage, QATask, judge
from .thresholds import Thresholds, presets, thresholds_for

__all__ = ["QACheck", "QAResult", "QAStage", "QATask", "Thresholds", "filter_clips", "format_qa_summary", "judge",
           "load_corpus", "presets", "qa_columns", "register", "run_qa", "thresholds_for", "unregister"]
