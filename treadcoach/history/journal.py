"""The session journal: an SQLite file appended as events happen (DESIGN.md invariant 7).

Every ``append`` is its own committed transaction. A session does not call it on its event loop:
``recorder.py`` runs the appends on a writer thread and keeps a crash spool (``spool.py``) so
that whatever the process showed before it died is recovered into this file by the next
``Journal.open``. Durability choice: WAL with ``synchronous=NORMAL``. A commit has been written
into the WAL file (the kernel's page cache) before ``append`` returns, so a crash or SIGKILL of
the process loses nothing committed; only an OS crash or power loss before the next checkpoint
could drop the last few transactions. That is acceptable here because the treadmill loses power
with the house too, and it keeps an append near 0.1 ms, where ``synchronous=FULL`` pays an fsync
per event (~0.35 ms median, several ms p99 here; more on slow disks).
Checkpoints (the fsyncs WAL does need) run on a background thread, see ``checkpoint.py``.
Numbers: ``treadcoach bench journal``.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from treadcoach.coach.events import Event, SegmentStarted, Stop, Summary, parse_event
from treadcoach.coach.kinds import SegmentKind
from treadcoach.errors import (
    CheckInError,
    HistoryError,
    JournalTooNew,
    JournalUnreadable,
    SessionNotFound,
)
from treadcoach.history.checkin import (
    PAIN_MAX,
    PAIN_MIN,
    RPE_MAX,
    RPE_MIN,
    CheckIn,
    parse_pain,
    parse_rpe,
)
from treadcoach.history.checkpoint import Checkpointer
from treadcoach.history.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from treadcoach.history.spool import SessionHeader, SpoolContents, claimed_spools
from treadcoach.history.tally import Tally, step, summarize

#: safety.reasons.StopReason.DIZZY's value as the journal stores it: this layer reads the
#: journal's strings (it may not import safety), and this is the one place that spells it
DIZZY_STOP = "dizzy"

__all__ = [
    "BUSY_TIMEOUT_S",
    "DATA_DIR_ENV",
    "DIZZY_STOP",
    "JOURNAL_FILENAME",
    "Journal",
    "Outline",
    "SessionRecord",
    "default_journal_path",
]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "TREADCOACH_DATA_DIR"
JOURNAL_FILENAME = "history.sqlite3"
# ~3 WAL pages per append: a checkpoint every 100 commits keeps the WAL near 1-2 MB
CHECKPOINT_EVERY_COMMITS = 100
# How long a write waits for another connection's lock before it fails (SQLite's busy timeout).
# Past it, a session's journal is a visible fault ("journal"), never a silent loss.
BUSY_TIMEOUT_S = 5.0


def default_journal_path() -> Path:
    """``$TREADCOACH_DATA_DIR/history.sqlite3``, else the platform's user data dir."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser() / JOURNAL_FILENAME
    import platformdirs

    return Path(platformdirs.user_data_dir("treadcoach")) / JOURNAL_FILENAME


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One journaled session. Field names match ``coach.progression.PastSession`` where shared."""

    id: int
    started_at: datetime
    plan: str
    device: str
    address: str
    simulated: bool
    planned_backward_s: float
    planned_duration_s: float
    duration_s: float
    distance_m: float
    backward_s: float
    backward_distance_m: float
    completed: bool
    stop_reason: str | None
    finished: bool  # False: the process died mid-session (listed as "interrupted")
    event_count: int
    paused_s: float = 0.0  # time paused; duration_s still counts it (wall time)
    # The journal fault its user was told about ("NOT SAVED"); set when the session's crash
    # spool later replayed it whole. Listed, but progression does not count it (see ``counted``).
    not_saved: str | None = None
    # The after-session check-in (``history.checkin``): None when skipped or never asked --
    # or when what is stored is off its scale (a hand-edited file): then ``bad_rpe``/``bad_pain``
    # hold the stored value as text, and nothing reads it as an answer.
    rpe: int | None = None  # Borg 6-20
    pain: int | None = None  # 0-10
    bad_rpe: str | None = None
    bad_pain: str | None = None
    # A ``stop`` event of this session says ``dizzy`` (any of them: a dizzy press during another
    # stop adds one, while the summary keeps the first reason). Read by ``past_sessions`` only.
    dizzy: bool = False

    @property
    def checkin_unreadable(self) -> bool:
        """A check-in was stored but is off its scale (``coach.progression.PastSession``'s)."""
        return self.bad_rpe is not None or self.bad_pain is not None

    @property
    def checkin_problems(self) -> tuple[str, ...]:
        """What is wrong with the stored check-in, one phrase per field (empty: nothing)."""
        problems = []
        if self.bad_rpe is not None:
            problems.append(f"RPE {self.bad_rpe} is out of range ({RPE_MIN}-{RPE_MAX})")
        if self.bad_pain is not None:
            problems.append(f"pain {self.bad_pain} is out of range ({PAIN_MIN}-{PAIN_MAX})")
        return tuple(problems)

    @property
    def counted(self) -> bool:
        """Whether progression counts it: finished, and never reported to its user as NOT SAVED."""
        return self.finished and self.not_saved is None

    @property
    def status(self) -> str:
        """``completed``, ``stopped (reason)`` or ``interrupted``; ``, not counted`` if NOT SAVED."""
        return self._outcome + (", not counted" if self.finished and not self.counted else "")

    @property
    def _outcome(self) -> str:
        if not self.finished:
            return "interrupted"
        if self.completed:
            return "completed"
        return f"stopped ({self.stop_reason})" if self.stop_reason else "stopped"


_SESSION_COLUMNS = (
    "id, started_at, plan, device, address, simulated, planned_backward_s, planned_duration_s, "
    "duration_s, distance_m, backward_s, backward_distance_m, completed, stop_reason, finished, "
    "event_count, paused_s, not_saved, rpe, pain"
)


def _answer(value: Any, parse: Any) -> tuple[int | None, str | None]:
    """A stored check-in answer: (the answer, None), or (None, the stored value) when it is
    off its scale or not a whole number -- the schema's CHECKs stop our writers, not a hand
    edit (``PRAGMA ignore_check_constraints``) or another tool."""
    if value is None:
        return None, None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        if isinstance(value, str | bytes):
            raise CheckInError("text where a number should be")
        answer: int | None = parse(value)
    except CheckInError:
        return None, repr(value) if isinstance(value, str | bytes) else str(value)
    return answer, None


def _record(row: tuple[Any, ...], *, dizzy: bool = False) -> SessionRecord:
    (sid, started_at, plan, device, address, simulated, planned_back, planned_dur) = row[:8]
    (duration, distance, back_s, back_m, completed, reason, finished, count, paused) = row[8:17]
    not_saved = row[17]
    rpe, bad_rpe = _answer(row[18], parse_rpe)
    pain, bad_pain = _answer(row[19], parse_pain)
    return SessionRecord(
        id=int(sid),
        started_at=datetime.fromisoformat(str(started_at)),
        plan=str(plan),
        device=str(device),
        address=str(address),
        simulated=bool(simulated),
        planned_backward_s=float(planned_back),
        planned_duration_s=float(planned_dur),
        duration_s=float(duration),
        distance_m=float(distance),
        backward_s=float(back_s),
        backward_distance_m=float(back_m),
        completed=bool(completed),
        stop_reason=None if reason is None else str(reason),
        finished=bool(finished),
        event_count=int(count),
        paused_s=float(paused),
        not_saved=None if not_saved is None else str(not_saved),
        rpe=rpe,
        pain=pain,
        bad_rpe=bad_rpe,
        bad_pain=bad_pain,
        dizzy=dizzy,
    )


def _problem(exc: sqlite3.Error, action: str) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return f"is corrupt or not an SQLite database ({text}); move it aside to start a new one."
    return f"cannot {action} ({text})."


@dataclass(frozen=True, slots=True)
class Outline:
    """``Journal.outline``: the marks that could be read, and one phrase per row that could not."""

    marks: list[SegmentStarted | Stop | Summary]
    problems: tuple[str, ...] = ()


class _BadField(ValueError):
    """A journalled field that is not what the recorder writes (``str()``: which and why)."""


def _number(name: str, value: Any, *, optional: bool = False) -> float:
    if value is None and optional:
        return math.nan
    # bool is an int to Python; JSON true is no number to us
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _BadField(f"{name} is {value!r}, not a number")
    return float(value)


def _mark(
    kind: str,
    t: Any,
    index: Any,
    seg_kind: Any,
    target: Any,
    incline: Any,
    reason: Any,
    completed: Any,
) -> SegmentStarted | Stop | Summary:
    at = _number("t", t)
    if kind == "segment":
        try:
            segment_kind = SegmentKind(seg_kind)
        except ValueError:
            raise _BadField(f"kind {seg_kind!r} is not a segment kind") from None
        number = _number("index", index)
        if not number.is_integer():
            raise _BadField(f"index is {index!r}, not a whole number")
        incline_pct = _number("incline_pct", incline, optional=True)
        return SegmentStarted.model_construct(
            t=at,
            index=int(number),
            kind=segment_kind,
            target_kmh=_number("target_kmh", target),
            incline_pct=None if math.isnan(incline_pct) else incline_pct,
        )
    if kind == "stop":
        if not isinstance(reason, str):
            raise _BadField(f"reason is {reason!r}, not a stop reason")
        return Stop.model_construct(t=at, reason=reason)  # the enum's string
    return Summary.model_construct(t=at, completed=bool(completed))


class Journal:
    """An open journal file. ``with Journal.open(path) as journal: ...``.

    Safe to call from one thread at a time or from several (a lock serialises them), so the
    session may append from a worker thread if it wants the event loop free of disk writes.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._lock = threading.Lock()
        self._tallies: dict[int, Tally] = {}  # sessions appended to through this object
        self._checkpointer: Checkpointer | None = None  # started by the first write
        self._commits_since_nudge = 0
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened

    # --- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = True) -> Journal:
        """Open (and with ``create``, create) the journal; migrate an older schema.

        Raises ``JournalUnreadable`` (missing with ``create=False``, corrupt, not ours, I/O)
        or ``JournalTooNew`` (written by a newer treadcoach).
        """
        path = default_journal_path() if path is None else Path(path)
        if not create and not path.is_file():
            raise JournalUnreadable(str(path), "no such file.")
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                str(path), isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise JournalUnreadable(str(path), f"cannot open it ({exc}).") from exc
        journal = cls(path, db)
        try:
            journal._prepare()
            journal._identity = journal._stat_identity()
        except BaseException:
            db.close()
            raise
        journal._recover_spools()
        return journal

    def check_writable(self) -> None:
        """Raise ``JournalUnreadable`` unless a session could be written now.

        A real write, rolled back: SQLite opens a file it may not write read-only without a word
        and ``BEGIN IMMEDIATE`` still succeeds there; only changing a page tells.
        """
        with self._lock, self._guard("write to it"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO sessions (started_at, started_at_utc, plan, device, address,"
                    " simulated, planned_backward_s, planned_duration_s)"
                    " VALUES ('', 0, '', '', '', 0, 0, 0)"
                )
            finally:
                self._db.execute("ROLLBACK")

    def _stat_identity(self) -> tuple[int, int]:
        try:
            status = os.stat(self.path)
        except OSError as exc:
            raise JournalUnreadable(
                str(self.path), f"was deleted or moved while in use ({exc.strerror or exc})."
            ) from exc
        return status.st_dev, status.st_ino

    def verify(self) -> None:
        """Raise ``JournalUnreadable`` if what this object writes no longer reaches ``path``.

        SQLite keeps writing into a file deleted (or replaced) under it, and every commit
        "succeeds" into an inode nobody will ever open again: the file at ``path`` must still be
        the one opened. A failed background checkpoint is a fault too (``checkpoint.py``).
        Called before every write and by the session recorder once its last event is written.
        """
        if self._identity is not None and self._stat_identity() != self._identity:
            raise JournalUnreadable(
                str(self.path), "was deleted or replaced by another file while in use."
            )
        failure = self._checkpointer.failure if self._checkpointer is not None else None
        if failure is not None:
            raise JournalUnreadable(str(self.path), f"{failure}.")

    def _recover_spools(self) -> None:
        """Replay what a killed or failed session spooled but never committed (spool.py).

        Never fails the open: a spool that cannot be replayed now stays for the next one.
        """
        try:
            with claimed_spools(self.path) as spools:
                for path, contents in spools:
                    if contents.header is None:
                        path.unlink(missing_ok=True)
                        continue
                    try:
                        self._replay(contents.token, contents)
                    except HistoryError as exc:
                        log.warning("journal spool %s not replayed yet: %s", path, exc)
                        continue
                    path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("journal %s: cannot look for spools: %s", self.path, exc)

    def _replay(self, token: str, contents: SpoolContents) -> None:
        header = contents.header
        assert header is not None
        with self._lock, self._guard("read a session"):
            row = self._db.execute(
                "SELECT id, event_count FROM sessions WHERE spool = ?", (token,)
            ).fetchone()
        if row is None:
            session_id = self.begin_spooled_session(header, token)
            stored = 0
        else:
            session_id, stored = int(row[0]), int(row[1])
        missing = contents.events[stored:]
        for event in missing:
            if isinstance(event, Summary):
                self.finish_session(session_id, event)
            else:
                self.append(session_id, event)
        if contents.not_saved is not None:
            # its user was told NOT SAVED: keep it, but out of progression (``past_sessions``)
            with self._transaction("mark a session not saved") as db:
                db.execute(
                    "UPDATE sessions SET not_saved = ? WHERE id = ?",
                    (contents.not_saved, session_id),
                )
        if missing:
            log.info(
                "journal %s: recovered %d event(s) of session %d from its spool",
                self.path,
                len(missing),
                session_id,
            )

    def _prepare(self) -> None:
        with self._guard("open it"):
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("journal %s: WAL not available, using %s", self.path, mode)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # checkpoints run on a background thread (checkpoint.py), never inside an append
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            if self._check_ownership() == SCHEMA_VERSION:
                return
            self._db.execute("BEGIN IMMEDIATE")  # one opener migrates; others wait, then see it
            try:
                version = self._check_ownership()
                for index in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[index]:
                        self._db.execute(statement)
                if version < SCHEMA_VERSION:
                    self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    log.info("journal %s: schema %d -> %d", self.path, version, SCHEMA_VERSION)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _check_ownership(self) -> int:
        app_id = int(self._db.execute("PRAGMA application_id").fetchone()[0])
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if app_id not in (0, APPLICATION_ID):
            raise JournalUnreadable(
                str(self.path), "is an SQLite database but not a treadcoach journal."
            )
        if app_id == 0:
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise JournalUnreadable(
                    str(self.path), "is an SQLite database but not a treadcoach journal."
                )
        if version > SCHEMA_VERSION:
            raise JournalTooNew(str(self.path), version, SCHEMA_VERSION)
        return version

    def close(self) -> None:
        """Close the file (the last connection to close folds the WAL back in)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn sqlite3 errors into a JournalUnreadable that names the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise JournalUnreadable(str(self.path), _problem(exc, action)) from exc

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard(action):
            self.verify()  # one stat: never commit into a deleted file (``verify``)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._after_commit()

    def _after_commit(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(self.path)
        self._commits_since_nudge += 1
        if self._commits_since_nudge >= CHECKPOINT_EVERY_COMMITS:
            self._commits_since_nudge = 0
            self._checkpointer.nudge()

    # --- writing ------------------------------------------------------------------------------

    def begin_session(
        self,
        *,
        plan: str,
        device: str,
        address: str,
        simulated: bool,
        planned_backward_s: float,
        planned_duration_s: float,
        started_at: datetime,
        spool: str | None = None,
    ) -> int:
        """Record a new session (committed at once) and return its id.

        ``spool`` names the crash spool the session is recorded with (``spool.py``).
        """
        with self._transaction("start a session") as db:
            cursor = db.execute(
                "INSERT INTO sessions (started_at, started_at_utc, plan, device, address,"
                " simulated, planned_backward_s, planned_duration_s, spool)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    started_at.isoformat(),
                    started_at.timestamp(),
                    plan,
                    device,
                    address,
                    int(simulated),
                    float(planned_backward_s),
                    float(planned_duration_s),
                    spool,
                ),
            )
            session_id = cursor.lastrowid
        assert session_id is not None  # an INSERT into a rowid table always sets it
        self._tallies[session_id] = Tally()
        return session_id

    def begin_spooled_session(self, header: SessionHeader, spool: str | None) -> int:
        """``begin_session`` from a spool's header (the recorder's and the replay's way in)."""
        return self.begin_session(
            plan=header.plan,
            device=header.device,
            address=header.address,
            simulated=header.simulated,
            planned_backward_s=header.planned_backward_s,
            planned_duration_s=header.planned_duration_s,
            started_at=datetime.fromisoformat(header.started_at),
            spool=spool,
        )

    def append(self, session_id: int, event: Event) -> None:
        """Store one event and the session's updated tally, committed before returning.

        A ``summary`` event also marks the session finished, so a listener may simply append
        every event of the stream; ``finish_session`` is for when the summary is not appended.
        """
        body = event.model_dump_json()
        try:
            with self._transaction("append an event") as db:
                self._append_locked(db, session_id, event, body)
        except BaseException:
            self._tallies.pop(session_id, None)  # re-derive from what was committed next time
            raise

    def finish_session(self, session_id: int, summary: Summary) -> None:
        """Mark the session finished; store ``summary`` as its last event unless already there."""
        try:
            with self._transaction("finish a session") as db:
                seen = db.execute(
                    "SELECT 1 FROM events WHERE session_id = ? AND kind = 'summary' LIMIT 1",
                    (session_id,),
                ).fetchone()
                if seen is None:
                    self._append_locked(db, session_id, summary, summary.model_dump_json())
                tally = self._tally_locked(db, session_id)
                db.execute(
                    "UPDATE sessions SET finished = 1, completed = ?, stop_reason = ? WHERE id = ?",
                    (int(summary.completed), tally.stop_reason, session_id),
                )
        except BaseException:
            self._tallies.pop(session_id, None)
            raise

    def _tally_locked(self, db: sqlite3.Connection, session_id: int) -> Tally:
        tally = self._tallies.get(session_id)
        if tally is None:
            # a session begun by another Journal object (or after a failed append): re-derive
            tally = summarize(self._events_locked(db, session_id))
            self._tallies[session_id] = tally
        return tally

    def _append_locked(
        self, db: sqlite3.Connection, session_id: int, event: Event, body: str
    ) -> None:
        tally = step(self._tally_locked(db, session_id), event)
        db.execute(
            "INSERT INTO events (session_id, t, kind, body) VALUES (?, ?, ?, ?)",
            (session_id, event.t, event.event, body),
        )
        db.execute(
            "UPDATE sessions SET event_count = event_count + 1, duration_s = ?, distance_m = ?,"
            " backward_s = ?, backward_distance_m = ?, stop_reason = ?, completed = ?,"
            " paused_s = ?, finished = max(finished, ?) WHERE id = ?",
            (
                tally.duration_s,
                tally.distance_m,
                tally.backward_s,
                tally.backward_distance_m,
                tally.stop_reason,
                int(tally.completed),
                tally.paused_s,
                int(isinstance(event, Summary)),  # the stream's last word: the session ended
                session_id,
            ),
        )
        self._tallies[session_id] = tally

    def set_checkin(self, session_id: int, checkin: CheckIn) -> None:
        """Store the session's check-in (replacing one stored before; skipped answers: NULL)."""
        with self._transaction("store a check-in") as db:
            cursor = db.execute(
                "UPDATE sessions SET rpe = ?, pain = ? WHERE id = ?",
                (checkin.rpe, checkin.pain, session_id),
            )
            if cursor.rowcount == 0:
                raise SessionNotFound(str(self.path), session_id)

    # --- reading ------------------------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[SessionRecord]:
        """Sessions, newest first (by start time)."""
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY started_at_utc DESC, id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, limit),)
        with self._lock, self._guard("list sessions"):
            rows = self._db.execute(sql, params).fetchall()
        return [_record(row) for row in rows]

    def past_sessions(self, dizzy_since: datetime | None = None) -> list[SessionRecord]:
        """Finished sessions, oldest first: the input of progression (fields as ``PastSession``).

        A session the journal does not hold whole -- the process died, or the journal failed
        mid-session and nothing could replay it yet -- is left out: its outcome is unknown, so
        it must not grow the next session (issue 12 h). So is a session its user was told was
        NOT SAVED, even once its spool replayed it whole (``SessionRecord.not_saved``).

        Except a dizzy stop: a session started from ``dizzy_since`` on (None: any) with a
        ``stop`` event of reason ``dizzy`` is listed however it ended, with ``dizzy`` set -- the
        walker stopped dizzy, and whatever happened to the process or the file after that, the
        next session must not grow from the one before it. Such a session can only make the
        next one more careful (``history.body_input``: never completed, a step back). The
        lookup reads the stop events of those sessions only (older ones cannot be the last
        word: past ``restart_days`` the programme restarts anyway).
        """
        since = -math.inf if dizzy_since is None else dizzy_since.timestamp()
        dizzy = (
            "CASE WHEN started_at_utc >= ? THEN EXISTS (SELECT 1 FROM events"
            " WHERE events.session_id = sessions.id AND events.kind = 'stop'"
            " AND json_extract(events.body, '$.reason') = ?) ELSE 0 END"
        )
        with self._lock, self._guard("list sessions"):
            rows = self._db.execute(
                f"SELECT {_SESSION_COLUMNS}, dizzy FROM (SELECT *, {dizzy} AS dizzy"
                " FROM sessions) WHERE (finished = 1 AND not_saved IS NULL) OR dizzy"
                " ORDER BY started_at_utc, id",
                (since, DIZZY_STOP),
            ).fetchall()
        return [_record(row[:-1], dizzy=bool(row[-1])) for row in rows]

    def session(self, session_id: int) -> SessionRecord:
        """One session; ``SessionNotFound`` if there is no such id."""
        with self._lock, self._guard("read a session"):
            row = self._db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise SessionNotFound(str(self.path), session_id)
        return _record(row)

    def events(self, session_id: int) -> list[Event]:
        """The session's events in the order they were appended."""
        with self._lock, self._guard("read events"):
            return self._events_locked(self._db, session_id)

    def marks(self, session_id: int) -> list[SegmentStarted | Stop | Summary]:
        """The session's ``segment``, ``stop`` and ``summary`` events, in order: its outline
        (``outline``'s marks; a row that is not what the recorder writes is left out)."""
        return self.outline(session_id).marks

    def outline(self, session_id: int) -> Outline:
        """The session's ``segment``, ``stop`` and ``summary`` events, in order, and what was
        wrong with any of them.

        For the progression (``history.body_input``), which must not parse every telemetry row
        of weeks of sessions: the rows are picked by their ``kind`` column and only the fields
        read are extracted (``json_extract``). Each field is checked as it is built (a
        hand-edited row can hold anything JSON can: a kind no plan has, text for a number); a
        row that fails is left out and named in ``problems``, never raised.
        """
        with self._lock, self._guard("read events"):
            self._known_locked(session_id)
            rows = self._db.execute(
                "SELECT id, kind, t, json_extract(body, '$.index'), json_extract(body, '$.kind'),"
                " json_extract(body, '$.target_kmh'), json_extract(body, '$.incline_pct'),"
                " json_extract(body, '$.reason'), json_extract(body, '$.completed')"
                " FROM events WHERE session_id = ? AND kind IN ('segment', 'stop', 'summary')"
                " ORDER BY id",
                (session_id,),
            ).fetchall()
        out: list[SegmentStarted | Stop | Summary] = []
        problems: list[str] = []
        for row_id, kind, *fields in rows:
            try:
                out.append(_mark(kind, *fields))
            except _BadField as bad:
                problems.append(f"event {row_id} ({kind}): {bad}")
        return Outline(out, tuple(problems))

    def pulse_sums(
        self, session_id: int, windows: Sequence[tuple[float, float, float]], at_speed_kmh: float
    ) -> list[tuple[int, int]]:
        """Per (from t, to t, target km/h) window: (sum of bpm, readings) of the telemetry in
        ``from <= t < to`` that carried a pulse (> 0) with the belt within ``at_speed_kmh`` of
        the target. Only the window's rows are read (``t`` is a column, the JSON is not parsed
        outside it)."""
        sums: list[tuple[int, int]] = []
        with self._lock, self._guard("read events"):
            self._known_locked(session_id)
            for start, end, target in windows:
                total, count = self._db.execute(
                    "SELECT coalesce(sum(bpm), 0), count(bpm) FROM (SELECT"
                    " json_extract(body, '$.heart_rate_bpm') AS bpm,"
                    " json_extract(body, '$.speed_kmh') AS kmh FROM events"
                    " WHERE session_id = ? AND kind = 'telemetry' AND t >= ? AND t < ?)"
                    " WHERE bpm > 0 AND abs(kmh - ?) <= ?",
                    (session_id, start, end, target, at_speed_kmh),
                ).fetchone()
                sums.append((int(total), int(count)))
        return sums

    def _known_locked(self, session_id: int) -> None:
        if (
            self._db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
            is None
        ):
            raise SessionNotFound(str(self.path), session_id)

    def _events_locked(self, db: sqlite3.Connection, session_id: int) -> list[Event]:
        if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFound(str(self.path), session_id)
        rows = db.execute(
            "SELECT id, body FROM events WHERE session_id = ? ORDER BY id", (session_id,)
        ).fetchall()
        events: list[Event] = []
        for row_id, body in rows:
            try:
                events.append(parse_event(body))
            except ValidationError as exc:
                raise JournalUnreadable(
                    str(self.path),
                    f"event {row_id} of session {session_id} is not a valid event "
                    f"({exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}).",
                ) from exc
        return events
