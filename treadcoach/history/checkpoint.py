"""WAL checkpoints on a background thread, so an append never waits for an fsync.

Every commit adds a few pages to the WAL; SQLite's automatic checkpoint (copy the WAL back into
the database, fsync both) then runs inside whichever commit crosses 1000 pages, which made one
append in ~300 take 12-20 ms instead of ~0.1 ms. That append runs on the session's event loop,
next to the stop path. So the journal's writer connection turns autocheckpoint off and this
thread runs PASSIVE checkpoints on its own connection: PASSIVE never blocks the writer, and the
WAL is reused from the start once a checkpoint has caught up. At a session's pace (telemetry at
~10 Hz) checkpoints catch up between appends and the WAL stays ~1 MB; a burst faster than the
checkpoints (the benchmark) lets it grow until the journal closes and SQLite folds it back.
The fsync this keeps off the loop is cheap on an SSD but can take 10-100 ms on an SD card, the
disk of a Raspberry Pi standing next to a treadmill.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

__all__ = ["Checkpointer"]

log = logging.getLogger(__name__)

# Another connection busy at that instant: the next checkpoint catches up, nothing is lost.
_TRANSIENT = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class Checkpointer:
    """A thread that checkpoints ``path`` when nudged, and every ``interval_s`` anyway."""

    def __init__(self, path: Path, *, interval_s: float = 5.0) -> None:
        self._path = path
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        # The first checkpoint error (one line), for the journal's writer to report: a PASSIVE
        # checkpoint never waits on a lock, so an error here is the disk or the file itself
        # (full, read-only, deleted), and the WAL it could not fold back can only grow.
        self.failure: str | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"journal-checkpoint:{path.name}", daemon=True
        )
        self._thread.start()

    def nudge(self) -> None:
        """Ask for a checkpoint soon (cheap, never blocks)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            # mode=rw: a journal deleted under the session must not be re-created empty here
            db = sqlite3.connect(
                f"file:{quote(str(self._path))}?mode=rw",
                uri=True,
                isolation_level=None,
                timeout=1.0,
            )
        except sqlite3.Error as exc:
            log.warning("journal %s: checkpoint thread cannot open it: %s", self._path, exc)
            self._fail(f"cannot open it to checkpoint ({exc})")
            return
        try:
            while not self._stopping:
                self._wake.wait(self._interval_s)
                self._wake.clear()
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    # the writer reports it (Journal checks ``failure`` before each write)
                    log.warning("journal %s: checkpoint failed: %s", self._path, exc)
                    if getattr(exc, "sqlite_errorcode", None) not in _TRANSIENT:
                        self._fail(f"cannot checkpoint it ({exc})")
        finally:
            db.close()

    def _fail(self, problem: str) -> None:
        if self.failure is None:
            self.failure = problem
