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


def _journal_with_a_hand_edited_checkin(db: Path) -> None:
    """A session of two days ago whose check-in was edited by hand past the schema's CHECKs
    (the case ``checkin_store.load_checkin`` itself guards against): pain 11 of 10."""
    with Journal.open(db) as journal:
        when = (datetime.now(UTC) - timedelta(days=2)).replace(hour=7, minute=0)
        record(journal, walk_session(4.0, 130), when)
    edit = sqlite3.connect(db)
    try:
        edit.execute("PRAGMA ignore_check_constraints=ON")
        edit.execute("UPDATE sessions SET pain = 11")
        edit.commit()
    finally:
        edit.close()


@pytest.mark.xfail(
    strict=True,
    reason="red team 3-5: progression.next_dose builds body.CheckIn from journal rows whose "
    "__post_init__ raises a bare ValueError on an off-scale pain/RPE: 'run --plan progression' "
    "dies with a traceback (invariant 8) instead of one line or ignoring the value",
)
def test_an_off_scale_checkin_in_the_journal_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    _journal_with_a_hand_edited_checkin(db)
    proc = _treadcoach(
        "run", "--sim", "--headless", "--plan", "progression", "--speedup", "inf", "--json",
        "--db", str(db),
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr[-800:]
    if proc.returncode != 0:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.xfail(
    strict=True,
    reason="red team 3-7: Journal.past_sessions leaves out a session with no summary (the "
    "process died), also when its journalled Stop says dizzy: the progression then reads the "
    "session before it and grows the next one",
)
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
