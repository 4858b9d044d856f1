"""The session recorder: the journal written off the event loop, never failing silently.

DESIGN.md invariant 7: "The session journal is appended as events happen, off the event loop:
a crash loses nothing already shown, the stop path never waits on the disk, and a journal that
cannot be written is a visible fault, never a silent loss."

How each clause holds:

* **Off the loop.** ``record`` (called by the controller before any renderer, see
  ``SessionController.add_recorder``) puts the event on a queue; one writer thread commits each
  event in its own transaction (WAL, as ``journal.py`` explains). A journal locked by another
  process, a slow SD card or a checkpoint stalls that thread, not the loop, so Stop goes out on
  time whatever the disk does.
* **Nothing shown is lost.** Before queueing, ``record`` appends the event's line to the crash
  spool (``spool.py``): one ``os.write`` into the page cache, which SIGKILL cannot undo. The next
  ``Journal.open`` replays what the database lacks. On a clean exit the writer drains the queue
  and the spool is deleted.
* **Visible faults.** A journal that cannot be opened or written at the start raises
  ``HistoryError`` from ``__aenter__``: the session is refused before the belt moves. A write
  that fails mid-session (locked past ``BUSY_TIMEOUT_S``, corrupt, disk full, read-only) calls
  ``on_fault`` once, on the loop, with one line; the writer then stops writing (the database
  holds a clean prefix, never a session with holes) and ``saved`` is False. A journal file
  deleted or replaced under the session (SQLite would go on committing into the unlinked
  inode) or failing its background checkpoints is such a failure too: ``Journal.verify`` runs
  before every write and once more after the last. A failure found
  only after the summary was recorded (the writer drains behind the loop) is not an event --
  the summary stays the stream's last word -- and ``saved`` alone tells it.
* **What the user was told is what the history says.** After a failed write the spool goes on
  taking every event (only a failing spool write ends it), so the next open may replay the
  whole session. Its user was told NOT SAVED, so the report marks the spool first
  (``Spool.write_not_saved``): the replayed session is listed ("..., not counted") but
  progression leaves it out (``Journal.past_sessions``), exactly as if it had never been
  saved. A session whose database prefix is all there is (the spool failed too) is unfinished,
  and is left out as well.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import cast

from treadcoach.coach.events import Connected, Event, Summary
from treadcoach.errors import HistoryError, JournalUnreadable
from treadcoach.history.journal import Journal, default_journal_path
from treadcoach.history.spool import SessionHeader, SessionInfo, Spool

__all__ = ["JournalRecorder", "SessionInfo"]

log = logging.getLogger(__name__)


_CLOSE = object()  # the queue's end marker


class JournalRecorder:
    """``async with JournalRecorder(path, info, on_fault=...) as recorder:`` for one session.

    Pass ``recorder.record`` to ``SessionController.add_recorder``. The session row begins with
    the first event (the connection), so a session that never reached the treadmill leaves no
    entry behind.
    """

    def __init__(
        self,
        path: Path | None,
        info: SessionInfo,
        *,
        on_fault: Callable[[str], None],
    ) -> None:
        self.path = default_journal_path() if path is None else Path(path)
        self.info = info
        self._on_fault = on_fault
        self._journal: Journal | None = None
        self._spool: Spool | None = None
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recorded = 0  # events handed to the writer (loop thread only)
        self._committed = 0  # events the writer committed (writer thread only, read after join)
        self._header: SessionHeader | None = None  # set by the first event (loop thread)
        self._closing = False
        self._summary_seen = False  # the stream's last word was said (loop thread)
        self._failure: str | None = None  # the first problem, one line
        self._reported = False
        self._fault_lock = threading.Lock()
        self.session_id: int | None = None

    # --- what the session reads --------------------------------------------------------------

    @property
    def failure(self) -> str | None:
        """The first write problem (one line), or None while everything was written."""
        return self._failure

    @property
    def saved(self) -> bool:
        """True while (and, after exit, if) the journal holds every recorded event."""
        if self._failure is not None:
            return False
        if self._thread is not None and self._thread.is_alive():
            return True  # so far nothing failed; the writer may still be catching up
        return self._committed == self._recorded

    # --- opening and closing -----------------------------------------------------------------

    async def __aenter__(self) -> JournalRecorder:
        self._loop = asyncio.get_running_loop()
        # Opened on the loop, before anything moves: a locked journal may hold this up to
        # BUSY_TIMEOUT_S and then refuses the session (HistoryError). Nothing is running yet
        # that it could delay, and a thread here would let a virtual clock run ahead of the
        # session's start.
        self._journal, self._spool = self._open()
        self._thread = threading.Thread(
            target=self._write_forever, name=f"journal-writer:{self.path.name}", daemon=True
        )
        self._thread.start()
        return self

    def _open(self) -> tuple[Journal, Spool]:
        journal = Journal.open(self.path)
        try:
            journal.check_writable()
            try:
                spool = Spool.create(self.path)
            except OSError as exc:
                raise JournalUnreadable(
                    str(self.path), f"cannot write its crash spool beside it ({exc})."
                ) from exc
        except BaseException:
            journal.close()
            raise
        return journal, spool

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drain the writer (off the loop), then close; report a failure not yet reported."""
        self._closing = True
        self._queue.put(_CLOSE)
        thread = self._thread
        if thread is not None:
            drained = asyncio.ensure_future(asyncio.to_thread(thread.join))
            try:
                await asyncio.shield(drained)
            except asyncio.CancelledError:
                thread.join()  # cancelled while draining: finish the drain, then go on
                raise
            finally:
                self._close()
        else:
            self._close()

    def _close(self) -> None:
        if self._failure is not None and not self._reported:
            # the loop had no turn to report it before the exit; first, so the spool is marked
            self._report(self._failure)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._spool is not None:
            # Keep the spool when the database lacks something: the next open replays it.
            self._spool.close(delete=self.saved)
            self._spool = None

    async def flush(self) -> None:
        """Wait (without blocking the loop) until the writer has dealt with every event so far."""
        if self._thread is None or self._closing:
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._queue.put(done)
        await asyncio.wrap_future(done)

    # --- the loop side -----------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Spool ``event`` and hand it to the writer. Called on the loop; never waits on SQLite."""
        if self._thread is None or self._closing:
            return
        header = self._header
        first = header is None
        if header is None:
            header = self._header = self._make_header(event)
        spool = self._spool
        # The spool is written whatever became of the database: after a failed write it is the
        # only copy of what is shown from then on (the next open replays it). Only a spool
        # write that fails ends the spool.
        if spool is not None:
            try:
                if first:
                    spool.write_header(header)
                spool.write_event(event)
            except OSError as exc:
                # A spool that missed a line cannot be replayed: drop it, and stop writing
                # the database too, so that it keeps a clean (unfinished) prefix.
                spool.close(delete=True)
                self._spool = None
                self._fail_from_loop(
                    f"the history journal stopped saving this session: cannot write to "
                    f"{spool.path.parent} ({exc.strerror or exc})"
                )
        self._recorded += 1
        if isinstance(event, Summary):
            self._summary_seen = True
        self._queue.put(event)

    def _make_header(self, first: Event) -> SessionHeader:
        fields = asdict(self.info)
        if isinstance(first, Connected):  # the treadmill's own name and address win
            fields.update(device=first.device, address=first.address)
        return SessionHeader(**fields, started_at=datetime.now().astimezone().isoformat())

    def _fail_from_loop(self, detail: str) -> None:
        with self._fault_lock:
            first = self._failure is None
            if first:
                self._failure = detail
        if first and self._loop is not None:
            # Not re-entrantly: ``record`` runs inside the controller's emit of another event.
            self._loop.call_soon(self._report, detail)

    def _report(self, detail: str) -> None:
        if self._reported:
            return
        self._reported = True
        log.error("journal %s: %s", self.path, detail)
        self._mark_spool_not_saved(detail)
        if self._summary_seen:
            # The summary is the stream's last event (DESIGN.md): a failure found after it
            # is told by ``saved`` (NOT SAVED, exit 3), not by an event after the summary.
            return
        try:
            self._on_fault(detail)
        except Exception:
            log.exception("reporting the journal fault failed")

    def _mark_spool_not_saved(self, detail: str) -> None:
        # The user is told NOT SAVED (the fault, or ``saved`` after the summary). The spool may
        # still hold the whole session and the next open replay it: the mark keeps that replay
        # out of progression, so the history agrees with what the user was told.
        spool = self._spool
        if spool is None or self._header is None:
            return  # no spool left (it failed), or nothing in it yet to replay
        try:
            spool.write_not_saved(detail)
        except OSError as exc:
            # unmarked, its replay would be counted: a spool that cannot say it is dropped
            log.error("journal spool %s: cannot mark it not saved, dropped: %s", spool.path, exc)
            spool.close(delete=True)
            self._spool = None

    # --- the writer thread -------------------------------------------------------------------

    def _write_forever(self) -> None:
        journal = self._journal
        assert journal is not None
        while True:
            item = self._queue.get()
            if item is _CLOSE:
                self._verify_last_write(journal)
                return
            if isinstance(item, concurrent.futures.Future):
                item.set_result(None)  # flush(): everything queued before it is done
                continue
            event = cast(Event, item)
            if self._failure is not None:
                continue  # after the first failure nothing more is written (see the module doc)
            try:
                if self.session_id is None:
                    header = self._header  # set on the loop before the first event was queued
                    assert header is not None
                    token = self._spool.token if self._spool is not None else None
                    self.session_id = journal.begin_spooled_session(header, token)
                if isinstance(event, Summary):
                    journal.finish_session(self.session_id, event)
                else:
                    journal.append(self.session_id, event)
                self._committed += 1
            except HistoryError as exc:
                problem = exc.problem if isinstance(exc, JournalUnreadable) else str(exc)
                self._fail_from_writer(problem)
            except Exception as exc:  # a bug here must still be a visible fault, not a dead thread
                log.exception("journal writer failed")
                self._fail_from_writer(f"{type(exc).__name__}: {exc}")

    def _verify_last_write(self, journal: Journal) -> None:
        # Each write checks the file first (``Journal.verify``); a journal deleted or failing to
        # checkpoint after the last one would go unnoticed, and its spool be deleted with it.
        if self._failure is not None or self.session_id is None:
            return
        try:
            journal.verify()
        except HistoryError as exc:
            self._fail_from_writer(exc.problem if isinstance(exc, JournalUnreadable) else str(exc))

    def _fail_from_writer(self, problem: str) -> None:
        # The first failure stops the writing: the database keeps a clean prefix of the session
        # (the spool, if it still works, has the rest for the next open to replay).
        detail = f"the history journal stopped saving this session: {problem}"
        with self._fault_lock:
            first = self._failure is None
            if first:
                self._failure = detail
        if first and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: _close reports it
                self._loop.call_soon_threadsafe(self._report, detail)
