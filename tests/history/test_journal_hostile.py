"""A hand-edited journal (red team 3-5): rows past what the recorder writes are never a
traceback -- the progression skips what it cannot read with one warning line naming the session
and the field, and ``history show`` never prints an off-scale value as an answer."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from test_body_input import DAY0, record, walk_session

from treadcoach.cli import main
from treadcoach.coach.progression import suggest_next
from treadcoach.history import Journal
from treadcoach.history.body_input import past_sessions

TODAY = DAY0.date() + timedelta(days=3)


def _edit(db: Path, statement: str) -> None:
    editor = sqlite3.connect(db)
    try:
        editor.execute("PRAGMA ignore_check_constraints=ON")  # as a hand edit may
        editor.execute(statement)
        editor.commit()
    finally:
        editor.close()


@pytest.fixture
def two_sessions(journal_path: Path) -> Path:
    """Two completed 2:30 walks; the second is the one edited."""
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        record(journal, walk_session(4.0, 130), DAY0 + timedelta(days=2))
    return journal_path


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("column", "value", "phrase"),
    [
        ("pain", "11", "pain 11 is out of range (0-10)"),
        ("pain", "-1", "pain -1 is out of range (0-10)"),
        ("rpe", "21", "RPE 21 is out of range (6-20)"),
        ("rpe", "'hard'", "RPE 'hard' is out of range (6-20)"),
        ("pain", "4.5", "pain 4.5 is out of range (0-10)"),
    ],
)
def test_an_off_scale_checkin_is_not_an_answer_and_the_progression_holds_on_it(
    two_sessions: Path, caplog: pytest.LogCaptureFixture, column: str, value: str, phrase: str
) -> None:
    _edit(two_sessions, f"UPDATE sessions SET {column} = {value} WHERE id = 2")
    with Journal.open(two_sessions) as journal:
        stored = journal.session(2)
        past = past_sessions(journal, TODAY)
    assert (stored.rpe, stored.pain) == (None, None)
    assert stored.checkin_problems == (phrase,)
    assert past[-1].checkin_unreadable
    [warning] = _warnings(caplog)  # one line, naming the session and the field
    assert "session 2" in warning
    assert phrase in warning
    suggestion = suggest_next(past, TODAY)
    assert suggestion.backward_s == 150  # hold: no growth from a session it cannot read
    assert "could not be read" in suggestion.reason


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        ("json_set(body, '$.kind', 'moonwalk')", "kind 'moonwalk' is not a segment kind"),
        ("json_set(body, '$.target_kmh', 'fast')", "target_kmh is 'fast', not a number"),
        ("json_set(body, '$.index', 1.5)", "index is 1.5, not a whole number"),
        ("json_remove(body, '$.target_kmh')", "target_kmh is None, not a number"),
        ("json_set(body, '$.incline_pct', 'steep')", "incline_pct is 'steep', not a number"),
    ],
)
def test_an_unreadable_segment_row_leaves_the_dose_and_heart_rate_unread(
    two_sessions: Path, caplog: pytest.LogCaptureFixture, edit: str, phrase: str
) -> None:
    _edit(
        two_sessions,
        f"UPDATE events SET body = {edit} WHERE kind = 'segment' AND session_id = 2"
        " AND json_extract(body, '$.index') = 1",
    )
    with Journal.open(two_sessions) as journal:
        outline = journal.outline(2)
        past = past_sessions(journal, TODAY)
    assert len(outline.problems) == 1
    assert phrase in outline.problems[0]
    assert [m.event for m in outline.marks] == ["segment", "segment", "stop", "summary"]
    assert (past[-1].walk_kmh, past[-1].hr_at_speed) == (None, ())
    assert past[0].walk_kmh == 4.0  # the other session is read as ever
    [warning] = _warnings(caplog)
    assert "session 2" in warning
    assert phrase in warning
    # its volume (from the session's own row) still counts: completed, so a step up
    assert suggest_next(past, TODAY).backward_s == 180


def test_a_stop_row_without_a_reason_is_named_not_raised(
    two_sessions: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _edit(
        two_sessions,
        "UPDATE events SET body = json_set(body, '$.reason', 7), t = 'later'"
        " WHERE kind = 'stop' AND session_id = 2",
    )
    with Journal.open(two_sessions) as journal:
        outline = journal.outline(2)
        past_sessions(journal, TODAY)
    assert outline.problems == (
        f"event {_stop_id(two_sessions)} (stop): t is 'later', not a number",
    )
    assert len(_warnings(caplog)) == 1


def _stop_id(db: Path) -> int:
    reader = sqlite3.connect(db)
    try:
        [(row_id,)] = reader.execute(
            "SELECT id FROM events WHERE kind = 'stop' AND session_id = 2"
        ).fetchall()
    finally:
        reader.close()
    return int(row_id)


def test_history_show_says_a_stored_value_is_out_of_range_never_pain_11_of_10(
    two_sessions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(two_sessions, "UPDATE sessions SET pain = 11, rpe = 13 WHERE id = 2")
    assert main(["history", "show", "2", "--db", str(two_sessions)]) == 0
    out = capsys.readouterr().out
    assert "11/10" not in out
    assert "Check-in: RPE 13/20 · stored pain 11 is out of range (0-10), not used" in out
    assert main(["history", "--db", str(two_sessions)]) == 0
    listing = capsys.readouterr().out
    assert "11?" in listing
    assert main(["history", "show", "2", "--json", "--db", str(two_sessions)]) == 0
    shown = capsys.readouterr().out
    assert '"pain": null' in shown or '"pain":null' in shown
    assert "pain 11 is out of range (0-10)" in shown
