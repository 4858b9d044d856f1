"""Round-3 red team: the check-in in the journal and the progression that reads it (issue 16),
through the real CLI on the simulator against a real SQLite journal."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from test_body_input import record, walk_session

from treadcoach.coach.events import Summary
from treadcoach.coach.progression import suggest_next
from treadcoach.history import Journal
from treadcoach.history.body_input import past_sessions
from treadcoach.safety.reasons import StopReason


def _treadcoach(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", *args],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip


#: hand edits past what the journal's own writers allow: a check-in past the schema's CHECKs
#: (the case ``checkin_store.load_checkin`` itself guards against), and events whose JSON is
#: valid but not what the recorder wrote (``Journal.marks`` builds them without validation)
HAND_EDITS = {
    "pain_11_of_10": "UPDATE sessions SET pain = 11",
    "segment_kind_unknown": "UPDATE events SET body = json_set(body, '$.kind', 'moonwalk')"
    " WHERE kind = 'segment'",
    "segment_target_text": "UPDATE events SET body = json_set(body, '$.target_kmh', 'fast')"
    " WHERE kind = 'segment'",
}


def _hand_edited_journal(db: Path, edit: str) -> None:
    """A session of two days ago, then edited by hand with ``edit``."""
    with Journal.open(db) as journal:
        when = (datetime.now(UTC) - timedelta(days=2)).replace(hour=7, minute=0)
        record(journal, walk_session(4.0, 130), when)
    editor = sqlite3.connect(db)
    try:
        editor.execute("PRAGMA ignore_check_constraints=ON")
        editor.execute(edit)
        editor.commit()
    finally:
        editor.close()


@pytest.mark.parametrize("edit", list(HAND_EDITS))
def test_a_hand_edited_journal_is_one_line_not_a_traceback(tmp_path: Path, edit: str) -> None:
    db = tmp_path / "history.sqlite3"
    _hand_edited_journal(db, HAND_EDITS[edit])
    proc = _treadcoach(
        "run", "--sim", "--headless", "--plan", "progression", "--speedup", "inf", "--json",
        "--db", str(db),
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr[-800:]
    if proc.returncode != 0:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_dizzy_stop_journalled_before_the_process_died_still_steps_back(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    dizzy = walk_session(4.0, 130, stop=StopReason.DIZZY)
    assert isinstance(dizzy[-1], Summary)
    with Journal.open(tmp_path / "history.sqlite3") as journal:
        record(journal, walk_session(4.0, 130), now - timedelta(days=3))  # completed, 2:30
        # yesterday: the walker stopped dizzy; the Stop event is in the journal (appended as it
        # happened), then the process died (power cut, SIGKILL) before the summary
        record(journal, dizzy[:-1], now - timedelta(days=1))
        suggestion = suggest_next(past_sessions(journal, date.today()), date.today())
    assert suggestion.backward_s <= 150, suggestion.reason  # never a step up after dizzy
