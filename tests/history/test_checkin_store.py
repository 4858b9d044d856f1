"""The check-in in the journal (history.checkin_store), against real SQLite files.

Covers: save and load round trip, replacing, skipping, unknown sessions and missing journals as
one-line HistoryErrors, the 3 -> 4 migration of a journal written by the previous treadcoach,
and a journal from a newer treadcoach still refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from history_streams import JournalFiller, session_events

from treadcoach.errors import HistoryError, JournalTooNew, JournalUnreadable, SessionNotFound
from treadcoach.history import Journal
from treadcoach.history import journal as journal_module
from treadcoach.history.checkin import CheckIn
from treadcoach.history.checkin_store import load_checkin, save_checkin
from treadcoach.history.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

# The schema version this change introduces (sessions.rpe, sessions.pain).
CHECKIN_VERSION = 4


def _one_session(journal_path: Path, record_session: JournalFiller) -> int:
    with Journal.open(journal_path) as journal:
        return record_session(journal, session_events(hz=1.0))


def test_a_saved_checkin_loads_back_and_shows_on_the_session_record(
    journal_path: Path, record_session: JournalFiller
) -> None:
    session_id = _one_session(journal_path, record_session)
    assert load_checkin(journal_path, session_id) is None  # never asked
    save_checkin(journal_path, session_id, CheckIn(rpe=14, pain=2))
    assert load_checkin(journal_path, session_id) == CheckIn(rpe=14, pain=2)
    with Journal.open(journal_path) as journal:
        record = journal.session(session_id)
        [past] = journal.past_sessions()
    assert (record.rpe, record.pain) == (14, 2)
    assert (past.rpe, past.pain) == (14, 2)


def test_a_second_checkin_replaces_the_first_and_a_skipped_answer_is_none(
    journal_path: Path, record_session: JournalFiller
) -> None:
    session_id = _one_session(journal_path, record_session)
    save_checkin(journal_path, session_id, CheckIn(rpe=17, pain=6))
    save_checkin(journal_path, session_id, CheckIn(rpe=None, pain=1))
    assert load_checkin(journal_path, session_id) == CheckIn(rpe=None, pain=1)
    save_checkin(journal_path, session_id, CheckIn())
    assert load_checkin(journal_path, session_id) is None


def test_a_checkin_touches_only_its_own_session(
    journal_path: Path, record_session: JournalFiller
) -> None:
    first = _one_session(journal_path, record_session)
    second = _one_session(journal_path, record_session)
    save_checkin(journal_path, second, CheckIn(rpe=12))
    assert load_checkin(journal_path, first) is None
    assert load_checkin(journal_path, second) == CheckIn(rpe=12)


def test_a_checkin_for_an_unknown_session_is_session_not_found(
    journal_path: Path, record_session: JournalFiller
) -> None:
    session_id = _one_session(journal_path, record_session)
    with pytest.raises(SessionNotFound) as caught:
        save_checkin(journal_path, session_id + 1, CheckIn(rpe=12))
    assert "\n" not in str(caught.value)
    with pytest.raises(SessionNotFound):
        load_checkin(journal_path, session_id + 1)


def test_a_checkin_never_creates_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "history.sqlite3"
    with pytest.raises(JournalUnreadable, match="no such file"):
        save_checkin(path, 1, CheckIn(rpe=12))
    assert not path.exists()


def test_a_journal_locked_by_another_program_is_a_one_line_history_error(
    journal_path: Path, record_session: JournalFiller, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = _one_session(journal_path, record_session)
    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.05)  # not 5 s of waiting in a test
    other = sqlite3.connect(journal_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with pytest.raises(HistoryError) as caught:
            save_checkin(journal_path, session_id, CheckIn(rpe=12))
    finally:
        other.close()
    assert str(journal_path) in str(caught.value)
    assert "locked" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert load_checkin(journal_path, session_id) is None  # nothing half-written


def test_the_schema_rejects_a_checkin_off_its_scale(
    journal_path: Path, record_session: JournalFiller
) -> None:
    session_id = _one_session(journal_path, record_session)
    db = sqlite3.connect(journal_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE sessions SET rpe = 21 WHERE id = ?", (session_id,))
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE sessions SET pain = -1 WHERE id = ?", (session_id,))
    finally:
        db.close()


# --- migration ---------------------------------------------------------------------------------


def _previous_version_journal(path: Path) -> None:
    """A journal exactly as the treadcoach before the check-in wrote it (schema 3), one session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        for migration in MIGRATIONS[: CHECKIN_VERSION - 1]:
            for statement in migration:
                db.execute(statement)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute(f"PRAGMA user_version={CHECKIN_VERSION - 1}")
        db.execute(
            "INSERT INTO sessions (started_at, started_at_utc, plan, device, address, simulated,"
            " planned_backward_s, planned_duration_s, backward_s, completed, finished,"
            " stop_reason) VALUES (?, ?, 'starter', 'Sim', 'SIM-1', 1, 120, 600, 120, 1, 1,"
            " 'plan_end')",
            (datetime(2026, 11, 1, 8, tzinfo=UTC).isoformat(), 1793520000.0),
        )
    finally:
        db.close()


def test_the_checkin_is_schema_version_4() -> None:
    assert SCHEMA_VERSION == CHECKIN_VERSION


def test_a_journal_of_the_previous_version_opens_migrates_and_takes_a_checkin(
    journal_path: Path,
) -> None:
    _previous_version_journal(journal_path)
    with Journal.open(journal_path) as journal:
        [record] = journal.sessions()
    assert (record.plan, record.completed, record.rpe, record.pain) == (
        "starter",
        True,
        None,
        None,
    )
    db = sqlite3.connect(journal_path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == CHECKIN_VERSION
        columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    finally:
        db.close()
    assert {"rpe", "pain"} <= columns
    save_checkin(journal_path, record.id, CheckIn(rpe=13, pain=0))
    assert load_checkin(journal_path, record.id) == CheckIn(rpe=13, pain=0)


def test_a_journal_newer_than_the_checkin_schema_is_still_refused(journal_path: Path) -> None:
    _previous_version_journal(journal_path)
    Journal.open(journal_path).close()
    db = sqlite3.connect(journal_path)
    db.execute(f"PRAGMA user_version={CHECKIN_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(JournalTooNew) as caught:
        save_checkin(journal_path, 1, CheckIn(rpe=12))
    assert caught.value.found_version == CHECKIN_VERSION + 1
