"""The crash spool: one append-only JSON-lines file per session beside the journal.

The journal's SQLite writes run on a thread (``recorder.py``), so an event can be on the screen
before its transaction commits. To keep "a crash loses nothing already shown" (DESIGN.md
invariant 7), the recorder first appends the event's JSON line to this file with one
``os.write`` on an ``O_APPEND`` descriptor: the bytes are in the kernel's page cache when the
call returns, so they survive SIGKILL of the process, and the call never waits on SQLite's locks
or checkpoints (a locked or slow database does not touch it). The next ``Journal.open`` replays
whatever the database lacks and deletes the spool (``Journal._recover_spools``).

Layout: ``<journal>.spool/<token>.jsonl``. Line 1 is the header (the session's row), every
further line one event exactly as the stream has it, or the marker ``{"spool": 1, "not_saved":
"..."}``: the session's user was told it was NOT SAVED (the journal failed under it), so the
replay keeps it out of progression. A live spool is held under an exclusive
``flock``: a second process opening the journal while the session runs leaves it alone (the lock
dies with the process, so a killed session's spool is free at once). A torn last line (killed
mid-write) is ignored: it was never shown, the line is written before the event is passed on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import ValidationError

from treadcoach.coach.events import Event, parse_event

__all__ = [
    "SPOOL_SUFFIX",
    "SessionHeader",
    "SessionInfo",
    "Spool",
    "SpoolContents",
    "claimed_spools",
    "spool_dir",
]

log = logging.getLogger(__name__)

SPOOL_SUFFIX = ".jsonl"
_FORMAT = 1
_MARKER = '{"spool": '


def spool_dir(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".spool")


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session's row as the session knows it before it starts."""

    plan: str
    device: str
    address: str
    simulated: bool
    planned_backward_s: float
    planned_duration_s: float


@dataclass(frozen=True, slots=True)
class SessionHeader(SessionInfo):
    """The row with its start time (ISO 8601 with its offset): line 1 of a spool."""

    started_at: str = ""


@dataclass(frozen=True, slots=True)
class SpoolContents:
    token: str
    header: SessionHeader | None  # None: the session never had an event
    events: list[Event]
    not_saved: str | None = None  # the journal fault the session reported (the marker line)


class Spool:
    """The live spool of one session: created (and locked) by ``create``, appended line by line."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.token = path.stem
        self._fd: int | None = fd

    @classmethod
    def create(cls, journal_path: Path) -> Spool:
        """A new, locked, empty spool; ``OSError`` if the folder or file cannot be written."""
        folder = spool_dir(journal_path)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}{SPOOL_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        return cls(path, fd)

    def write_header(self, header: SessionHeader) -> None:
        self._write(json.dumps({"spool": _FORMAT, "session": asdict(header)}))

    def write_event(self, event: Event) -> None:
        self._write(event.model_dump_json())

    def write_not_saved(self, detail: str) -> None:
        """Mark the session as told NOT SAVED (the replay stores it, uncounted)."""
        self._write(json.dumps({"spool": _FORMAT, "not_saved": detail}))

    def _write(self, line: str) -> None:
        if self._fd is None:
            raise OSError("the spool is closed")
        data = (line + "\n").encode()
        # One write of a few hundred bytes to an O_APPEND file: the kernel appends it whole.
        written = os.write(self._fd, data)
        if written != len(data):
            raise OSError(f"short write to {self.path} ({written} of {len(data)} bytes)")

    def close(self, *, delete: bool) -> None:
        """Release the lock; with ``delete`` remove the file first (the journal holds it all)."""
        if self._fd is None:
            return
        if delete:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _read(path: Path) -> SpoolContents:
    header: SessionHeader | None = None
    events: list[Event] = []
    not_saved: str | None = None
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    complete = lines[:-1]  # the part after the last newline is empty or torn
    for number, line in enumerate(complete):
        if number == 0:
            data = json.loads(line)
            if not isinstance(data, dict) or data.get("spool") != _FORMAT:
                raise ValueError(f"{path}: not a treadcoach spool (format {data!r:.40})")
            header = SessionHeader(**data["session"])
            continue
        if line.startswith(_MARKER):  # events start with {"t": never with {"spool"
            marker = json.loads(line)
            not_saved = str(marker.get("not_saved", "")) or not_saved
            continue
        try:
            events.append(parse_event(line))
        except ValidationError as exc:
            raise ValueError(f"{path}: line {number + 1} is not an event ({exc})") from exc
    return SpoolContents(path.stem, header, events, not_saved)


@contextlib.contextmanager
def claimed_spools(journal_path: Path) -> Iterator[Iterator[tuple[Path, SpoolContents]]]:
    """Spools no live session holds, each read while locked; the caller deletes what it used.

    A spool that cannot be parsed is left where it is and named in the log.
    """
    folder = spool_dir(journal_path)
    fds: list[int] = []

    def each() -> Iterator[tuple[Path, SpoolContents]]:
        for path in sorted(folder.glob(f"*{SPOOL_SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # another opener recovered it meanwhile
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a session is writing it right now
            if not path.exists():
                continue  # recovered and deleted between our open and our lock
            try:
                contents = _read(path)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("journal spool %s cannot be read, left in place: %s", path, exc)
                continue
            yield path, contents

    try:
        yield each()
    finally:
        for fd in fds:
            os.close(fd)
