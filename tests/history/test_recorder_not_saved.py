"""A session its user was told was NOT SAVED stays out of progression, even once replayed.

After a failed journal write the crash spool keeps the whole session and the next open replays
it. The user was told NOT SAVED (the journal fault, or ``saved`` after the summary), so the
replayed session is listed but not counted: what the history suggests next agrees with what the
user was told. Real recorder, real SQLite; waits are ``flush()`` and the recorder's exit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from history_streams import session_events

from treadcoach.coach.events import Event
from treadcoach.history import Journal
from treadcoach.history.recorder import JournalRecorder, SessionInfo
from treadcoach.history.report import session_json, session_lines

INFO = SessionInfo("starter", "Sim", "SIM-1", True, 20.0, 72.0)


def _record_locked_from(
    path: Path, events: list[Event], locked_from: int
) -> tuple[JournalRecorder, list[str]]:
    """Record ``events``; another connection holds the write lock from ``locked_from`` on."""
    faults: list[str] = []
    blocker = sqlite3.connect(str(path), isolation_level=None, timeout=5)

    async def main() -> JournalRecorder:
        async with JournalRecorder(path, INFO, on_fault=faults.append) as recorder:
            for event in events[:locked_from]:
                recorder.record(event)
            await recorder.flush()
            blocker.execute("BEGIN IMMEDIATE")
            for event in events[locked_from:-1]:
                recorder.record(event)
            await recorder.flush()  # the writer gave up: its report reaches the loop first
            recorder.record(events[-1])
        return recorder

    try:
        return asyncio.run(main()), faults
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()


@pytest.fixture(autouse=True)
def _short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import treadcoach.history.journal as journal_module

    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.1)


def test_a_session_that_failed_after_its_summary_is_replayed_but_not_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    Journal.open(path).close()
    events = session_events()
    recorder, faults = _record_locked_from(path, events, len(events) - 1)
    assert faults == [], "the summary stays the stream's last word"
    assert not recorder.saved, "the user is told NOT SAVED"
    with Journal.open(path) as journal:  # the lock is gone: the spool replays
        [record] = journal.sessions()
        assert journal.events(record.id) == events
        assert journal.past_sessions() == [], "progression agrees: not saved, not counted"
    assert record.finished
    assert not record.counted
    assert record.not_saved is not None
    assert "stopped saving" in record.not_saved
    assert record.status == "completed, not counted"
    assert any("reported NOT SAVED" in line for line in session_lines(record, events))
    assert session_json(record)["counted"] is False


def test_a_session_with_a_journal_fault_mid_session_is_replayed_whole_but_not_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    Journal.open(path).close()
    events = session_events()
    recorder, faults = _record_locked_from(path, events, 10)
    assert len(faults) == 1
    assert not recorder.saved
    with Journal.open(path) as journal:
        [record] = journal.sessions()
        assert journal.events(record.id) == events
        assert journal.past_sessions() == []
    assert record.not_saved == faults[0]


def test_a_saved_session_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    events = session_events()

    async def main() -> JournalRecorder:
        async with JournalRecorder(path, INFO, on_fault=pytest.fail) as recorder:
            for event in events:
                recorder.record(event)
        return recorder

    assert asyncio.run(main()).saved
    with Journal.open(path) as journal:
        [record] = journal.past_sessions()
    assert record.counted
    assert record.status == "completed"


def test_sessions_of_a_schema_2_journal_stay_counted_after_the_migration(tmp_path: Path) -> None:
    from treadcoach.history.schema import APPLICATION_ID, MIGRATIONS

    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(str(path), isolation_level=None)
    for migration in MIGRATIONS[:2]:
        for statement in migration:
            db.execute(statement)
    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
    db.execute("PRAGMA user_version=2")
    db.execute(
        "INSERT INTO sessions (started_at, started_at_utc, plan, device, address, simulated,"
        " planned_backward_s, planned_duration_s, completed, finished)"
        " VALUES ('2025-03-01T07:30:00+00:00', 1740814200, 'starter', 'Sim', 'SIM-1', 1,"
        " 20, 72, 1, 1)"
    )
    db.close()
    with Journal.open(path) as journal:
        [record] = journal.past_sessions()
    assert record.not_saved is None
    assert record.status == "completed"
