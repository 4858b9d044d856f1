"""Round-3 red team: the check-in in the journal and the progression that reads it (issue 16),
through the real CLI on the simulator against a real SQLite journal."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_body_input import record, walk_session

from treadcoach.history import Journal


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
