"""treadcoach.history: the session journal (SQLite, appended as events happen) and FIT export.

``export_fit`` lives in ``treadcoach.history.fit`` (imported on demand: fit-tool is heavy).
"""

from __future__ import annotations

from treadcoach.history.journal import (
    DATA_DIR_ENV,
    JOURNAL_FILENAME,
    Journal,
    SessionRecord,
    default_journal_path,
)
from treadcoach.history.tally import SegmentDone, Tally, segments_done, step, summarize

__all__ = [
    "DATA_DIR_ENV",
    "JOURNAL_FILENAME",
    "Journal",
    "SegmentDone",
    "SessionRecord",
    "Tally",
    "default_journal_path",
    "segments_done",
    "step",
    "summarize",
]
