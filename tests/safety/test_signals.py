"""Signals on a real ``treadcoach run --sim --headless`` subprocess (issue 7, DESIGN.md invariant 2).

The session runs at ``--speedup 20`` (a scaled real clock, so the signal lands while the belt
moves), and the signal is sent once the stream shows the belt running. Whatever the signal, the
session must end through the one stop path: a ``stop`` event naming it, a summary that is not
completed, a non-zero exit with one line on stderr, and the stop reason in the journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cli, CliResult, LiveRun

RUN = ("run", "--sim", "--plan", "gentle-intro", "--headless", "--json", "--speedup", "20")


def _belt_moving(event: dict[str, Any]) -> bool:
    return bool(event["event"] == "telemetry" and event["speed_kmh"] > 0.5)


def _start(cli: Cli) -> tuple[LiveRun, Path]:
    db = cli.root / "tmp.sqlite"
    return cli.start(*RUN, "--db", str(db)), db


def _assert_stopped_by(result: CliResult, reason: str, *, seen: list[dict[str, Any]]) -> None:
    events = result.events
    assert events[: len(seen)] == seen, "the stream changed what it had already shown"
    stop = result.stop()
    assert stop["reason"] == reason, result.describe()
    assert stop["t"] >= seen[-1]["t"]
    summary = result.summary()
    assert summary["completed"] is False
    assert summary["stop_reason"] == reason


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("sig", "reason"),
    [(signal.SIGINT, "sigint"), (signal.SIGTERM, "sigterm"), (signal.SIGHUP, "sighup")],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_mid_session_stops_the_belt_and_says_why(
    cli: Cli, sig: signal.Signals, reason: str
) -> None:
    live, db = _start(cli)
    with live:
        seen = live.read_until(_belt_moving)
        live.send(sig)
        result = live.finish(timeout=10)  # "exits within a few seconds"

    _assert_stopped_by(result, reason, seen=seen)
    result.assert_ends_at_standstill()
    assert result.returncode == 1, result.describe()
    result.assert_one_line_message(reason)

    journal = cli.journal(db)
    record = journal.only
    assert record.stop_reason == reason
    assert record.status == f"stopped ({reason})"
    assert journal.events[record.id] == result.events


@pytest.mark.timeout(60)
def test_ctrl_c_pressed_again_and_again_still_stops_once_for_sigint(cli: Cli) -> None:
    # A frightened user hammers Ctrl-C: the first one stops the session, the rest must not
    # turn the exit into a traceback or change the recorded reason.
    live, db = _start(cli)
    with live:
        seen = live.read_until(_belt_moving)
        deadline = time.monotonic() + 10
        while live.proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(live.pid, signal.SIGINT)
            time.sleep(0.005)
        result = live.finish(timeout=10)

    _assert_stopped_by(result, "sigint", seen=seen)
    assert result.returncode != 0, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    assert cli.journal(db).only.stop_reason == "sigint"


def _make_controlling_terminal() -> None:
    # runs in the child after setsid (start_new_session): its stdin, the pty, becomes its
    # controlling terminal, so closing the pty's master hangs it up like a closed window
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty hang-up semantics: Linux")
def test_closing_the_terminal_stops_the_session_as_sighup(cli: Cli) -> None:
    db = cli.root / "tmp.sqlite"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cli.argv([*RUN, "--db", str(db)]),
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
        cwd=cli.root,
        start_new_session=True,
        preexec_fn=_make_controlling_terminal,
    )
    os.close(slave)
    try:
        shown = b""
        deadline = time.monotonic() + 20
        while not any(
            _belt_moving(json.loads(line)) for line in shown.splitlines()[:-1] if line.strip()
        ):
            assert time.monotonic() < deadline, f"the belt never moved: {shown[-500:]!r}"
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                shown += os.read(master, 65536)
        os.close(master)  # the terminal window is closed
        master = -1
        _, stderr = proc.communicate(timeout=10)
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    record = cli.journal(db).only
    assert record.stop_reason == "sighup"
    assert record.status == "stopped (sighup)"
    assert proc.returncode == 1, stderr
    # nobody reads the terminal any more, but stderr may go to a log: still one line, no traceback
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "sighup" in lines[0]
