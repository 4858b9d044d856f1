"""What a new user does first, for real: `treadcoach run --sim` in a terminal (a pty), then closes it.

These run the console script as a subprocess on a pseudo-terminal, on the real clock (a pty is a
real device: no virtual time), and read what it drew and what the journal recorded. Deadlines
here are failure bounds for a process that hangs, not speed assertions.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from treadcoach.history import Journal

ROOT = Path(__file__).resolve().parents[1]
# How long a hung process may take before the test calls it hung.
HANG_S = 60.0
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Terminal:
    """``treadcoach ARGS`` on a fresh pty (its controlling terminal), with the master kept here."""

    def __init__(
        self,
        args: list[str],
        data_dir: Path,
        *,
        size: tuple[int, int] = (100, 30),
        extra_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        if not data_dir.parent.is_file():
            data_dir.mkdir(parents=True, exist_ok=True)
        path = [str(extra_path)] if extra_path else []
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([*path, str(ROOT)]),
            TREADCOACH_DATA_DIR=str(data_dir),
            TREADCOACH_LOG=str(data_dir.parent / f"{data_dir.name}.log"),
            TERM="xterm-256color",
            COLUMNS=str(size[0]),
            LINES=str(size[1]),
            **(env or {}),
        )
        self.master, slave = os.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "treadcoach", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            start_new_session=True,
            # the pty becomes the child's controlling terminal, as a terminal window's shell has
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.output = b""
        self.master_open = True

    @property
    def text(self) -> str:
        """What was drawn so far, escape sequences removed."""
        return _ANSI.sub(b"", self.output).decode("utf-8", errors="replace")

    def pump(self, timeout: float = 0.1) -> None:
        if not self.master_open:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:  # the child closed its side
                time.sleep(timeout)

    def wait_for(self, pattern: str) -> None:
        deadline = time.monotonic() + HANG_S
        while re.search(pattern, self.text) is None:
            if self.proc.poll() is not None:
                self.pump(0)
                if re.search(pattern, self.text):
                    return
                pytest.fail(
                    f"exited {self.proc.returncode} before showing {pattern!r}:\n{self.tail}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"never showed {pattern!r}:\n{self.tail}")
            self.pump()

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close_master(self) -> None:
        os.close(self.master)
        self.master_open = False

    def wait_exit(self) -> int:
        """The exit status; fails if the process is still there after HANG_S."""
        deadline = time.monotonic() + HANG_S
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                cpu = subprocess.run(
                    ["ps", "-o", "pcpu=,stat=", "-p", str(self.proc.pid)],
                    capture_output=True,
                    text=True,
                ).stdout.strip()
                self.kill()
                pytest.fail(f"still running {HANG_S:.0f} s later (cpu, state: {cpu}):\n{self.tail}")
            self.pump()
        self.pump(0)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.kill()
        if self.master_open:
            self.close_master()

    @property
    def tail(self) -> str:
        return self.text[-1500:]

    def sessions(self) -> list[tuple[str, bool, str | None]]:
        """(plan, finished, stop_reason) of each journaled session."""
        with Journal.open(self.data_dir / "history.sqlite3", create=False) as journal:
            return [(r.plan, r.finished, r.stop_reason) for r in journal.sessions()]


@pytest.fixture
def terminals(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened: list[Terminal] = []

    def open_terminal(
        *args: str,
        size: tuple[int, int] = (100, 30),
        extra_path: Path | None = None,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Terminal:
        term = Terminal(
            list(args),
            data_dir or tmp_path / f"data{len(opened)}",
            size=size,
            extra_path=extra_path,
            env=env,
        )
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


STARTER = ("run", "--sim", "--plan", "backward-walk-starter", "--speedup", "20")
# the session has ended: its summary, or the check-in screen the app opens over it
ENDED = r"planned|How hard did it feel"


@pytest.mark.parametrize(
    "how", ["sighup", "master closed", "sigterm", "sigint"], ids=lambda h: h.replace(" ", "-")
)
def test_closing_the_terminal_mid_session_stops_the_belt_and_exits(terminals, how: str) -> None:  # type: ignore[no-untyped-def]
    term = terminals(*STARTER)
    term.wait_for(r"BELT")
    term.wait_for(r"WARM-UP")
    if how == "master closed":
        term.close_master()  # what a terminal window closing does: the kernel hangs up the pty
    else:
        os.kill(term.proc.pid, getattr(signal, how.upper()))
    status = term.wait_exit()
    assert status != 0  # the plan did not complete
    expected = "sighup" if how == "master closed" else how
    assert term.sessions() == [("backward-walk-starter", True, expected)]


def test_closing_the_terminal_on_the_summary_screen_exits(terminals) -> None:  # type: ignore[no-untyped-def]
    term = terminals(*STARTER)
    term.wait_for(r"WARM-UP")
    term.press(b" ")
    term.wait_for(ENDED)
    term.close_master()
    term.wait_exit()
    assert term.sessions() == [("backward-walk-starter", True, "key")]


def test_sigterm_on_the_summary_screen_exits(terminals) -> None:  # type: ignore[no-untyped-def]
    term = terminals(*STARTER)
    term.wait_for(r"WARM-UP")
    term.press(b" ")
    term.wait_for(ENDED)
    os.kill(term.proc.pid, signal.SIGTERM)
    term.wait_exit()
    assert term.sessions() == [("backward-walk-starter", True, "key")]


def test_run_sim_without_a_plan_opens_the_setup_screen_and_a_keyboard_pick_starts(
    terminals,
) -> None:  # type: ignore[no-untyped-def]
    """The README's first command, on an empty history: pick a plan and go."""
    term = terminals("run", "--sim", "--speedup", "20")
    term.wait_for(r"choose a treadmill and a plan")
    term.press(b"\r")  # the simulator, highlighted: focus moves to the plans
    time.sleep(0.5)
    term.press(b"\x1b[B")  # down: the first built-in plan after the suggested step
    time.sleep(0.2)
    term.press(b"\r")
    term.wait_for(r"WARM-UP")
    term.press(b"q")
    status = term.wait_exit()
    assert "Traceback" not in term.text
    assert "DuplicateID" not in term.text
    assert status == 1  # stopped before the end
    assert term.sessions() == [("backward-walk-starter", True, "quit")]


def test_a_crash_of_the_app_exits_non_zero_with_one_line(terminals, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Any exception the app did not expect: the belt is stopped, the status is non-zero, and
    stderr carries one line (the traceback goes to the log)."""
    boom = tmp_path / "sitecustomize.py"
    boom.write_text(
        "import treadcoach.tui.screens.session as s\n"
        "def show(self, view, *, muted):\n"
        "    raise RuntimeError('boom from a test')\n"
        "s.SessionScreen.show = show\n"
    )
    term = terminals(*STARTER, extra_path=tmp_path)
    status = term.wait_exit()
    assert status != 0
    lines = [line for line in term.text.splitlines() if "treadcoach:" in line]
    assert len(lines) == 1, term.tail
    assert "the screen crashed (RuntimeError: boom from a test)" in lines[0]
    assert "Traceback" not in term.text
    log = (term.data_dir.parent / f"{term.data_dir.name}.log").read_text()
    assert "boom from a test" in log
    assert "Traceback" in log
    # the stop went out and was journaled (the app cannot wait for the run-down: Textual leaves)
    assert [(plan, reason) for plan, _, reason in term.sessions()] == [
        ("backward-walk-starter", "error")
    ]


ALT_SCREEN = b"\x1b[?1049h"  # what Textual sends when it opens the screen


def _problem_lines(term: Terminal) -> list[str]:
    return [line.strip() for line in term.text.splitlines() if "treadcoach:" in line]


def test_an_unusable_data_dir_is_one_line_and_exit_2_before_the_screen_opens(  # type: ignore[no-untyped-def]
    terminals, tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    term = terminals(*STARTER, data_dir=not_a_dir / "data")
    assert term.wait_exit() == 2
    assert ALT_SCREEN not in term.output
    [line] = _problem_lines(term)
    assert "history journal" in line
    assert "Not a directory" in line


def test_a_treadmill_without_bluetooth_is_one_line_and_exit_2(terminals) -> None:  # type: ignore[no-untyped-def]
    term = terminals(
        "run",
        "--device",
        "FOO",
        "--plan",
        "gentle-intro",
        env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/system_bus_socket"},
    )
    assert term.wait_exit() == 2
    assert ALT_SCREEN not in term.output
    [line] = _problem_lines(term)
    assert "Bluetooth is not available" in line


def test_a_second_session_on_the_same_data_dir_says_who_holds_it(terminals) -> None:  # type: ignore[no-untyped-def]
    first = terminals("run", "--sim", "--plan", "backward-walk-starter")
    first.wait_for(r"WARM-UP")
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "treadcoach",
            "run",
            "--sim",
            "--headless",
            "--plan",
            "gentle-intro",
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT), TREADCOACH_DATA_DIR=str(first.data_dir)),
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert second.returncode == 2
    [line] = second.stderr.splitlines()
    assert line.startswith("treadcoach: another treadcoach session is using the history in ")
    assert f"pid {first.proc.pid}, started " in line
    assert "(plan backward-walk-starter)" in line
    first.press(b" ")
    first.wait_for(ENDED)
    first.press(b"\x11")  # ctrl+q: quits from the summary and from the check-in alike
    first.wait_exit()
    assert first.sessions() == [("backward-walk-starter", True, "key")]


def test_closing_the_mqtt_bridge_at_the_end_is_not_a_fault(tmp_path: Path) -> None:
    """Every MQTT session ended with 'fault mqtt_down: MQTT bridge stopped' after its summary."""
    from treadcoach.mqtt.localbroker import LocalMosquitto

    plan = tmp_path / "short.toml"
    plan.write_text(
        'name = "short"\ntitle = "Short"\nunits = "kmh"\n\n'
        '[[segments]]\nkind = "warmup"\nduration = 4\nspeed = 2.0\n'
    )
    broker = LocalMosquitto()
    broker.start()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "treadcoach",
                "run",
                "--sim",
                "--headless",
                "--json",  # real time: the broker is a real socket
                "--plan",
                str(plan),
                "--mqtt",
                f"mqtt://127.0.0.1:{broker.port}",
            ],
            env=dict(os.environ, PYTHONPATH=str(ROOT), TREADCOACH_DATA_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=HANG_S,
        )
    finally:
        broker.close()
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert events[-1]["event"] == "summary"
    assert [e for e in events if e["event"] == "fault"] == []
    assert any(e["event"] == "segment" for e in events)


def test_a_second_session_on_the_same_treadmill_says_who_holds_it(tmp_path: Path) -> None:
    """Two data dirs, one treadmill: the lock lives in the user's runtime dir, by device."""
    from treadcoach.session import SessionLock

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    lock = SessionLock(runtime / "treadcoach" / "treadmill-FOO.lock", "the treadmill FOO", "")
    lock.acquire({"pid": 4242, "started_at": "2026-12-01T08:00:00+00:00", "plan": "gentle-intro"})
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "treadcoach", "run", "--headless", "--device", "FOO"),
                *("--plan", "gentle-intro", "--no-history"),
            ],
            env=dict(os.environ, PYTHONPATH=str(ROOT), XDG_RUNTIME_DIR=str(runtime)),
            capture_output=True,
            text=True,
            timeout=HANG_S,
        )
    finally:
        lock.release()
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "treadcoach: another treadcoach session is using the treadmill FOO: pid 4242, started "
        "2026-12-01 08:00:00 (plan gentle-intro). A treadmill takes commands from one session: "
        "end that one first."
    ]


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM"])
def test_a_signal_on_the_setup_screen_exits(terminals, sig: str) -> None:  # type: ignore[no-untyped-def]
    term = terminals("run", "--sim")
    term.wait_for(r"choose a treadmill and a plan")
    os.kill(term.proc.pid, getattr(signal, sig))
    term.wait_exit()
    assert "Traceback" not in term.text


HEADLESS = ("run", "--sim", "--headless", "--plan", "gentle-intro", "--speedup", "inf")


def test_a_headless_session_on_a_terminal_asks_the_check_in_and_enter_skips_it(terminals) -> None:  # type: ignore[no-untyped-def]
    term = terminals(*HEADLESS)
    term.wait_for(r"RPE 6 \(no effort\) to 20")
    term.press(b"\r")
    term.wait_for(r"Any pain\? 0 \(none\) to 10")
    term.press(b"\r")
    assert term.wait_exit() == 0
    assert "Check-in saved" not in term.text
    assert "Traceback" not in term.text
    assert term.sessions() == [("gentle-intro", True, "plan_end")]


def test_a_json_session_asks_nothing(terminals) -> None:  # type: ignore[no-untyped-def]
    term = terminals(*HEADLESS, "--json")
    assert term.wait_exit() == 0  # it would wait for an answer forever
    assert "RPE" not in term.text


def test_a_check_in_answer_off_the_scale_is_asked_again_then_saved(terminals) -> None:  # type: ignore[no-untyped-def]
    from treadcoach.history import checkin_store
    from treadcoach.history.checkin import CheckIn

    term = terminals(*HEADLESS)
    term.wait_for(r"RPE 6 \(no effort\) to 20")
    term.press(b"25\r")
    term.wait_for(r"RPE must be a whole number from 6 to 20, not 25")
    term.press(b"14\r")
    term.wait_for(r"Any pain\?")
    term.press(b"3\r")
    assert term.wait_exit() == 0
    assert "Check-in saved with session 1." in term.text
    assert checkin_store.load_checkin(term.data_dir / "history.sqlite3", 1) == CheckIn(
        rpe=14, pain=3
    )


def test_the_tui_check_in_after_a_session_is_saved_with_it(terminals) -> None:  # type: ignore[no-untyped-def]
    from treadcoach.history import checkin_store
    from treadcoach.history.checkin import CheckIn

    term = terminals(*STARTER, "--hr", "sim")
    term.wait_for(r"WARM-UP")
    term.press(b" ")
    term.wait_for(r"How hard did it feel")
    term.press(b"12\r")
    # the pain field opens when the RPE answer has been taken: a person does not type the next
    # answer within the same millisecond (keys typed before it opens go to the closed RPE field)
    typing = time.monotonic() + 1.0
    while time.monotonic() < typing:
        term.pump(0.1)
    term.press(b"1\r")
    journal = term.data_dir / "history.sqlite3"
    deadline = time.monotonic() + HANG_S
    while checkin_store.load_checkin(journal, 1) is None:  # saved once both are answered
        if time.monotonic() > deadline:
            pytest.fail(f"the check-in was never saved:\n{term.tail}")
        term.pump()
    term.press(b"\x11")  # ctrl+q
    assert term.wait_exit() == 1  # stopped before the end
    assert checkin_store.load_checkin(journal, 1) == CheckIn(rpe=12, pain=1)


def test_a_headless_session_ended_by_a_signal_asks_nothing(terminals) -> None:  # type: ignore[no-untyped-def]
    term = terminals("run", "--sim", "--headless", "--plan", "gentle-intro", "--speedup", "20")
    term.wait_for(r"segment 1/")
    os.kill(term.proc.pid, signal.SIGTERM)
    assert term.wait_exit() == 1  # it would wait for an answer nobody is there to give
    assert "RPE" not in term.text
    assert term.sessions() == [("gentle-intro", True, "sigterm")]
