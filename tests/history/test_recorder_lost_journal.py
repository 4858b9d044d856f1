"""A journal that stops reaching its file is a visible fault and its spool is kept (invariant 7).

Real ``JournalRecorder`` into a real SQLite file on a plain event loop; the tests wait for the
writer thread with ``flush()`` and the recorder's exit, never with clocks."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from history_streams import STARTED_AT, session_events

from treadcoach.coach.events import Event
from treadcoach.errors import JournalUnreadable
from treadcoach.history import Journal
from treadcoach.history.checkpoint import Checkpointer
from treadcoach.history.recorder import JournalRecorder, SessionInfo
from treadcoach.history.spool import spool_dir

INFO = SessionInfo("starter", "Sim", "SIM-1", True, 20.0, 72.0)


def _delete_journal(path: Path) -> None:
    for file in path.parent.glob(path.name + "*"):
        if file.is_file():  # the journal, its -wal and -shm; not the spool folder
            file.unlink()


def _record(
    path: Path, events: list[Event], *, delete_after: int
) -> tuple[JournalRecorder, list[str]]:
    faults: list[str] = []

    async def main() -> JournalRecorder:
        async with JournalRecorder(path, INFO, on_fault=faults.append) as recorder:
            for event in events[:delete_after]:
                recorder.record(event)
            await recorder.flush()
            _delete_journal(path)
            # the writer meets the deleted file before the summary is recorded, as it would
            # minutes before a real session's end (the flush lets its report reach the loop)
            rest = events[delete_after:]
            for event in rest[:-1]:
                recorder.record(event)
            await recorder.flush()
            for event in rest[-1:]:
                recorder.record(event)
            await recorder.flush()
        return recorder

    return asyncio.run(main()), faults


def test_a_journal_deleted_mid_session_is_one_fault_and_its_spool_keeps_the_session(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    events = session_events()
    recorder, faults = _record(path, events, delete_after=10)
    assert len(faults) == 1, faults
    assert "deleted" in faults[0]
    assert not recorder.saved
    assert len(list(spool_dir(path).glob("*"))) == 1, "the spool is kept for the next open"
    with Journal.open(path) as journal:  # a new journal at the path: the spool replays into it
        [record] = journal.sessions()
        assert journal.events(record.id) == events
    assert not list(spool_dir(path).glob("*"))


def test_a_journal_deleted_after_the_summary_is_not_saved_and_keeps_its_spool(
    tmp_path: Path,
) -> None:
    """Deleted once the writer has committed everything: found only at the recorder's exit.
    No event after the summary (the stream's last word); ``saved`` tells it."""
    path = tmp_path / "history.sqlite3"
    events = session_events()
    recorder, faults = _record(path, events, delete_after=len(events))
    assert faults == [], "the summary stays the stream's last word"
    assert recorder.failure is not None
    assert "deleted" in recorder.failure
    assert not recorder.saved
    with Journal.open(path) as journal:
        [record] = journal.sessions()
        assert journal.events(record.id) == events


def test_a_journal_written_after_its_file_was_deleted_refuses_the_write(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    [first, *rest] = session_events()
    with Journal.open(path) as journal:
        session = journal.begin_session(
            plan="starter",
            device="Sim",
            address="SIM-1",
            simulated=True,
            planned_backward_s=20.0,
            planned_duration_s=72.0,
            started_at=STARTED_AT,
        )
        journal.append(session, first)
        _delete_journal(path)
        with pytest.raises(JournalUnreadable, match="deleted"):
            journal.append(session, rest[0])


def test_a_failed_checkpoint_is_remembered_for_the_writer_to_report(tmp_path: Path) -> None:
    not_a_journal = tmp_path / "history.sqlite3"
    not_a_journal.write_bytes(b"this is not an SQLite database, and no checkpoint fixes it\n" * 100)
    checkpointer = Checkpointer(not_a_journal, interval_s=0.01)
    try:
        for _ in range(10_000):  # a condition, not a clock: wait until it has tried once
            if checkpointer.failure is not None:
                break
            time.sleep(0.01)
    finally:
        checkpointer.stop()
    assert checkpointer.failure is not None
    assert "checkpoint" in checkpointer.failure


def test_a_journal_whose_checkpoints_fail_refuses_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    [first, second, *_] = session_events()
    with Journal.open(path) as journal:
        session = journal.begin_session(
            plan="starter",
            device="Sim",
            address="SIM-1",
            simulated=True,
            planned_backward_s=20.0,
            planned_duration_s=72.0,
            started_at=STARTED_AT,
        )
        journal.append(session, first)
        checkpointer = journal._checkpointer  # started by the first write
        assert checkpointer is not None
        checkpointer.failure = "cannot checkpoint it (disk I/O error)"  # as _run records it
        with pytest.raises(JournalUnreadable, match="checkpoint"):
            journal.append(session, second)
