"""Red team, the CLI as a new user runs it: real ``treadcoach`` subprocesses on a pty."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        COLUMNS="100",
        LINES="30",
    )
    return env


def _controlling_terminal() -> None:
    # in the child, after setsid: the pty on stdin becomes its controlling terminal, so
    # closing the master hangs it up like a closed terminal window
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.timeout(90)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty hang-up semantics: Linux")
@pytest.mark.xfail(
    strict=True,
    reason="red team: TUI: closing the terminal stops the belt but the process never exits",
)
def test_closing_the_terminal_under_the_tui_stops_the_belt_and_exits(tmp_path: Path) -> None:
    """Issue 14 blocker 2 (DESIGN invariant 2's "SIGHUP" way out, and the Bluetooth link a
    leftover process keeps).

    ``treadcoach run --sim --plan retro-finisher --speedup 10`` in the TUI on a pty that is its
    controlling terminal; once the screen is up the terminal is closed (master fd closed:
    SIGHUP + EIO). The journal records "stopped (sighup)", but the process is still alive 30 s
    later, burning about half a core, and needs SIGKILL. (The fix, HangupSafeDriver, is on
    branch tui-firstrun, not in this tree.)"""
    db = tmp_path / "history.sqlite"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "treadcoach",
            "run",
            "--sim",
            "--plan",
            "retro-finisher",
            "--speedup",
            "10",
            "--db",
            str(db),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,  # Textual draws on stderr too
        env=_env(tmp_path),
        cwd=tmp_path,
        start_new_session=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(slave)
    try:
        shown = b""
        deadline = time.monotonic() + 30
        while b"km/h" not in shown:  # the session screen is up and the belt is coached
            assert time.monotonic() < deadline, f"the TUI never showed a speed: {shown[-300:]!r}"
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                shown += os.read(master, 65536)
        os.close(master)  # the terminal window is closed
        master = -1
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        alive = proc.poll() is None
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    history = subprocess.run(
        [sys.executable, "-m", "treadcoach", "history", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=False,
    )
    with contextlib.suppress(ValueError, IndexError, KeyError):
        assert json.loads(history.stdout)[0]["stop_reason"] == "sighup"
    assert not alive, "still running 30 s after its terminal was closed"
