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


def _treadcoach(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(120)
def test_plans_show_and_the_run_stream_agree_on_every_step_speed(tmp_path: Path) -> None:
    """Issue 14 item 5 ("plans show must show every step as it will run") against the event
    stream contract (``segment`` has ``target_kmh``).

    With ``[limits] max_kmh = 4.55, backward_max_kmh = 3.33, turnaround_kmh = 0.5``,
    ``plans show retro-finisher --device sim`` says 4.50 / 0.80 / 3.30 for the first three
    steps (the simulator's 0.1 km/h grid and 0.8 km/h minimum) -- and that is what the belt
    runs. ``run --sim --headless --json`` announces the same steps as 4.55 / 0.5 / 3.33: a
    consumer of the stream (MQTT, a log, the FIT laps) is told speeds that are never
    commanded, one of them below what the belt can do."""
    config = tmp_path / "limits.toml"
    config.write_text("[limits]\nmax_kmh = 4.55\nbackward_max_kmh = 3.33\nturnaround_kmh = 0.5\n")
    show = _treadcoach(
        tmp_path, "plans", "show", "retro-finisher", "--device", "sim", "--config", str(config)
    )
    assert show.returncode == 0, show.stderr
    shown: list[float] = []
    for line in show.stdout.splitlines():
        cells = line.split()
        if len(cells) > 3 and cells[0].isdigit():
            shown.append(float(cells[2].rstrip("*")))
    run = _treadcoach(
        tmp_path,
        *("run", "--sim", "--headless", "--json", "--plan", "retro-finisher"),
        *("--speedup", "inf", "--no-history", "--config", str(config)),
    )
    announced = [
        json.loads(line)["target_kmh"]
        for line in run.stdout.splitlines()
        if line.startswith("{") and json.loads(line)["event"] == "segment"
    ]
    assert shown, show.stdout
    assert announced == shown, list(zip(shown, announced, strict=False))[:4]
