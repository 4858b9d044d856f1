"""Run the real ``treadcoach`` console script as a subprocess, the way a user does.

The safety tests in this folder check the user-visible contract from outside the process: the
JSON event stream (DESIGN.md "Event stream"), the exit status, the one-line message on stderr
and the journal that ``treadcoach history`` reads. Nothing here reaches into the process: what
the belt does is checked in-process by ``tests/coach/test_controller.py``.

Fixtures:

* ``cli`` -- a :class:`Cli` on a fresh tmp directory (data dir, config dir, plans dir);
* ``cli_factory`` -- ``cli_factory(path)`` makes one on a directory you choose (for module-scoped
  fixtures that run several subprocesses at once).

Every subprocess gets ``stdin=DEVNULL``, a tmp ``TREADCOACH_DATA_DIR``, no user config or plans,
and a timeout.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from treadcoach.history import Journal
from treadcoach.history.journal import SessionRecord

REPO = Path(__file__).resolve().parents[2]

#: no subprocess may outlive this, whatever happens (a hung session must fail the test, not CI)
SUBPROCESS_TIMEOUT_S = 60.0

EVENT_KINDS = frozenset({"connected", "segment", "cue", "telemetry", "stop", "fault", "summary"})
BACKWARD_KINDS = frozenset({"backward_walk", "retro_run"})
STANDSTILL_KMH = 0.2


# --- the event stream contract --------------------------------------------------------------------


def parse_stream(text: str) -> list[dict[str, Any]]:
    """Every stdout line as a JSON event, checked against DESIGN.md's event stream contract."""
    events: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stdout line {number} is not JSON ({exc}): {line!r}") from None
        check_event(event, where=f"stdout line {number}")
        events.append(event)
    _check_time_order(events)
    return events


def check_event(event: Any, *, where: str) -> None:
    """One event has what DESIGN.md promises for its kind (written from the contract, not the
    models, so a model change that breaks the contract fails here)."""
    assert isinstance(event, dict), f"{where}: not a JSON object: {event!r}"
    assert type(event.get("t")) is float, f"{where}: 't' must be a float: {event!r}"
    kind = event.get("event")
    assert kind in EVENT_KINDS, f"{where}: unknown event kind: {event!r}"
    required: dict[str, tuple[str, ...]] = {
        "segment": ("index", "kind", "target_kmh"),
        "telemetry": ("speed_kmh", "distance_m"),
        "stop": ("reason",),
        "fault": ("kind",),
        "summary": ("completed",),
    }
    for key in required.get(kind, ()):
        assert key in event, f"{where}: {kind} without {key!r}: {event!r}"
    if kind == "segment":
        assert ("duration_s" in event) or ("distance_m" in event), f"{where}: {event!r}"
    if kind == "summary":
        assert isinstance(event["completed"], bool), f"{where}: {event!r}"


def _check_time_order(events: Sequence[dict[str, Any]]) -> None:
    times = [e["t"] for e in events]
    back = [(a, b) for a, b in itertools.pairwise(times) if b < a]
    assert not back, f"'t' went backwards: {back[:5]}"


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        """stdout as events; fails unless every line honours the event stream contract."""
        return parse_stream(self.stdout)

    @cached_property
    def shown(self) -> list[dict[str, Any]]:
        """The whole event lines printed (a process killed mid-write may leave a torn one)."""
        return parse_stream(self.stdout[: self.stdout.rfind("\n") + 1])

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]

    def stop(self) -> dict[str, Any]:
        """The one ``stop`` event."""
        stops = self.of_kind("stop")
        assert len(stops) == 1, f"expected exactly one stop event, got {stops}\n{self.describe()}"
        return stops[0]

    def summary(self) -> dict[str, Any]:
        """The one ``summary`` event, which must be the last line."""
        events = self.events
        summaries = [e for e in events if e["event"] == "summary"]
        assert len(summaries) == 1, f"expected one summary, got {summaries}\n{self.describe()}"
        assert events[-1] == summaries[0], "the summary must be the stream's last event"
        return summaries[0]

    def assert_ends_at_standstill(self) -> None:
        """After the stop the stream shows the belt at standstill, or says it could not confirm
        that (``stop_unconfirmed``): never a frozen speed and no word."""
        events = self.events
        after_stop = events[events.index(self.stop()) :]
        if any(e["event"] == "fault" and e["kind"] == "stop_unconfirmed" for e in after_stop):
            return
        telemetry = [e for e in events if e["event"] == "telemetry"]
        assert telemetry, self.describe()
        last = telemetry[-1]
        assert last["speed_kmh"] <= STANDSTILL_KMH, (
            f"the stream ends with the belt at {last['speed_kmh']} km/h (t={last['t']}) and no "
            f"stop_unconfirmed fault\n{self.describe()}"
        )

    def describe(self) -> str:
        tail = "\n".join(self.stdout.splitlines()[-5:])
        return (
            f"$ treadcoach {' '.join(self.argv)}\nexit {self.returncode}\n"
            f"--- stderr ---\n{self.stderr}--- stdout (tail) ---\n{tail}"
        )

    def assert_one_line_message(self, *naming: str) -> str:
        """stderr is one line, no traceback, naming each of ``naming`` (invariant 7)."""
        assert "Traceback" not in self.stderr, self.describe()
        assert len(self.stderr_lines) == 1, (
            f"stderr must be exactly one line, got {len(self.stderr_lines)}:\n{self.describe()}"
        )
        line = self.stderr_lines[0]
        assert line.startswith("treadcoach"), self.describe()
        for word in naming:
            assert word in line, f"the message should name {word!r}:\n{self.describe()}"
        return line


@dataclass(frozen=True)
class JournalView:
    """What the journal holds, read through ``treadcoach.history.Journal``."""

    records: list[SessionRecord]
    events: dict[int, list[dict[str, Any]]]  # as the stream prints them (None fields left out)

    @property
    def only(self) -> SessionRecord:
        assert len(self.records) == 1, f"expected one journaled session, got {self.records}"
        return self.records[0]


def read_journal(path: Path) -> JournalView:
    with Journal.open(path, create=False) as journal:
        records = journal.sessions()
        events = {
            r.id: [e.model_dump(mode="json", exclude_none=True) for e in journal.events(r.id)]
            for r in records
        }
    return JournalView(records, events)


# --- running the console script ---------------------------------------------------------------------


class LiveRun:
    """A ``treadcoach`` subprocess whose stdout is read line by line as it prints.

    Reader threads drain stdout and stderr, so the child never blocks on a full pipe and every
    line it printed is kept (``finish`` returns all of them, consumed or not).
    """

    def __init__(self, argv: Sequence[str], popen: subprocess.Popen[str]) -> None:
        self.argv = tuple(argv)
        self.proc = popen
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        assert popen.stdout is not None
        assert popen.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump_stdout, args=(popen.stdout,), daemon=True),
            threading.Thread(target=self._pump_stderr, args=(popen.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.eof = False

    def _pump_stdout(self, stream: Any) -> None:
        for line in stream:
            self._stdout.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self, stream: Any) -> None:
        for line in stream:
            self._stderr.append(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def next_line(self, timeout: float) -> str | None:
        """The next stdout line; None at end of output; TimeoutError if none within ``timeout``."""
        if self.eof:
            return None
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output for {timeout} s") from None
        if line is None:
            self.eof = True
        return line

    def read_until(
        self, predicate: Callable[[dict[str, Any]], bool], *, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """Events read until one satisfies ``predicate`` (included); fails at a deadline or EOF."""
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout} s; saw {seen[-5:]}")
            line = self.next_line(left)
            if line is None:
                raise AssertionError(
                    f"output ended before a matching event:\n{''.join(self._stderr)}"
                )
            event = json.loads(line)
            check_event(event, where="live stdout")
            seen.append(event)
            if predicate(event):
                return seen

    def read_until_quiet(self, quiet_s: float, *, timeout: float = 20.0) -> list[str]:
        """Lines read until none came for ``quiet_s`` seconds (the child is blocked or done)."""
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            try:
                line = self.next_line(quiet_s)
            except TimeoutError:
                return lines
            if line is None:
                return lines
            lines.append(line)
        raise AssertionError(f"output never went quiet for {quiet_s} s within {timeout} s")

    def send(self, sig: signal.Signals) -> None:
        assert self.proc.poll() is None, "the session ended before the signal could be sent"
        os.kill(self.proc.pid, sig)

    def finish(self, timeout: float = 20.0) -> CliResult:
        """Wait for the process to exit (killing it after ``timeout``) and collect its output."""
        try:
            returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"treadcoach did not exit within {timeout} s") from None
        for thread in self._threads:
            thread.join(timeout=10)
        return CliResult(self.argv, returncode, "".join(self._stdout), "".join(self._stderr))

    def __enter__(self) -> LiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Cli:
    """The console script with an isolated environment rooted at ``root``."""

    root: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for name in ("TREADCOACH_CONFIG", "TREADCOACH_PLANS_DIR"):
            env.pop(name, None)
        env.update(
            TREADCOACH_DATA_DIR=str(self.data_dir),
            TREADCOACH_LOG=str(self.root / "treadcoach.log"),
            XDG_CONFIG_HOME=str(self.root / "config"),  # no user devices.toml or plans
            XDG_DATA_HOME=str(self.root / "xdg-data"),
        )
        self.env = env

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def default_journal(self) -> Path:
        return self.data_dir / "history.sqlite3"

    def journal(self, db: Path | None = None) -> JournalView:
        """The journal (``--db`` path, else the default one in the data dir), read in-process."""
        return read_journal(self.default_journal if db is None else db)

    def argv(self, args: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "treadcoach", *args]

    def run(self, *args: str, timeout: float = SUBPROCESS_TIMEOUT_S) -> CliResult:
        try:
            done = subprocess.run(
                self.argv(args),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=self.env,
                cwd=self.root,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"treadcoach {' '.join(args)} ran past {timeout} s") from exc
        return CliResult(tuple(args), done.returncode, done.stdout, done.stderr)

    def start(self, *args: str, **popen: Any) -> LiveRun:
        proc = subprocess.Popen(
            self.argv(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=self.root,
            **popen,
        )
        return LiveRun(args, proc)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture(scope="session")
def cli_factory() -> Callable[[Path], Cli]:
    return Cli
