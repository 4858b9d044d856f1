"""Red team, the journal off the loop: a journal that dies under a running session.

Real ``JournalRecorder`` into a real SQLite file (and its spool) on the real event loop; the
writer is a thread, so the tests wait with ``flush()``, never with clocks."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from history_streams import session_events

from treadcoach.history import Journal
from treadcoach.history.recorder import JournalRecorder, SessionInfo

INFO = SessionInfo("starter", "Sim", "SIM-1", True, 20.0, 72.0)


def _delete_journal(folder: Path) -> None:
    for file in folder.glob("history.sqlite*"):
        if file.is_file():
            file.unlink()


def test_a_journal_deleted_mid_session_is_a_visible_fault_not_a_silent_loss(
    tmp_path: Path,
) -> None:
    """Invariant 7: "a journal that cannot be written is a visible fault, never a silent loss".

    Ten events in, the journal file and its -wal/-shm are deleted (a clean-up script, the user
    removing ~/.local/share/treadcoach). SQLite keeps writing into the unlinked inode, so every
    commit "succeeds": ``on_fault`` is never called, ``saved`` stays True, the crash spool is
    deleted on exit because the recorder believes the database holds everything -- and the
    journal at that path has no session at all. Only the log says "checkpoint failed"."""
    path = tmp_path / "history.sqlite"
    faults: list[str] = []
    events = session_events()

    async def main() -> JournalRecorder:
        async with JournalRecorder(path, INFO, on_fault=faults.append) as recorder:
            for event in events[:10]:
                recorder.record(event)
            await recorder.flush()
            _delete_journal(tmp_path)
            for event in events[10:]:
                recorder.record(event)
                await asyncio.sleep(0)
            await recorder.flush()
        return recorder

    recorder = asyncio.run(main())
    journal = Journal.open(path)
    try:
        kept = len(journal.sessions())
    finally:
        journal.close()
    # either the session survived somewhere the next open finds it, or the user was told
    assert kept == 1 or (faults and not recorder.saved), (kept, faults, recorder.saved)


@pytest.mark.timeout(60)
def test_a_journal_locked_once_keeps_the_rest_of_the_session_in_its_spool(tmp_path: Path) -> None:
    """Invariant 7: "a crash loses nothing already shown"; recorder.py: "the spool, if it still
    works, has the rest for the next open to replay".

    Another process holds the journal's write lock past ``BUSY_TIMEOUT_S`` (5 s) for one event,
    then lets go. The writer reports the fault (good: NOT SAVED) and stops writing the database
    -- but ``record`` also stops writing the crash spool as soon as ``_failure`` is set
    (``if spool is not None and self._failure is None``), although the spool never failed. The
    spool is kept with 11 events, the next open replays them, and the other 144 events shown
    (the backward walk, the stop, the summary) are gone for good: the journal keeps an
    unfinished 11-event session."""
    path = tmp_path / "history.sqlite"
    faults: list[str] = []
    events = session_events()

    async def main() -> None:
        reported = asyncio.Event()

        def on_fault(detail: str) -> None:
            faults.append(detail)
            reported.set()

        async with JournalRecorder(path, INFO, on_fault=on_fault) as recorder:
            for event in events[:10]:
                recorder.record(event)
            await recorder.flush()
            blocker = _lock(path)
            recorder.record(events[10])
            await reported.wait()  # the writer gave up after the busy timeout
            blocker.execute("ROLLBACK")
            blocker.close()
            for event in events[11:]:
                recorder.record(event)
            await recorder.flush()

    asyncio.run(main())
    assert faults, "the lock did not bite"
    with Journal.open(path) as journal:  # replays whatever the spool kept
        [record] = journal.sessions()
        stored = journal.events(record.id)
    assert stored == events, f"{len(stored)} of {len(events)} shown events kept"


def _lock(path: Path) -> sqlite3.Connection:
    blocker = sqlite3.connect(str(path), isolation_level=None, timeout=5)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker
