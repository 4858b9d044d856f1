"""SIGKILL mid-session: the journal is readable and holds every event already shown (issue 7).

DESIGN.md invariant 6: "The session journal is appended as events happen: a crash loses nothing
already shown." Checked on the real console script: ``treadcoach run --sim --headless --json
--speedup 20 --db PATH`` is killed with SIGKILL while the belt runs, then ``treadcoach history``
must read the journal, list the session as interrupted, and hold every event line the process
printed before it died.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cli, LiveRun

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

RUN = ("run", "--sim", "--plan", "gentle-intro", "--headless", "--json", "--speedup", "20")


def _belt_moving(event: dict[str, Any]) -> bool:
    return bool(event["event"] == "telemetry" and event["speed_kmh"] > 0.5)


def _start(cli: Cli) -> tuple[LiveRun, Path]:
    db = cli.root / "tmp.sqlite"
    return cli.start(*RUN, "--db", str(db)), db


def _missing_from_journal(
    shown: list[dict[str, Any]], stored: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Shown events the journal does not hold, in stream order (the journal may hold one more:
    the event being shown when the kill came)."""
    assert len(stored) <= len(shown) + 1, "the journal holds events that were never emitted"
    return [event for i, event in enumerate(shown) if i >= len(stored) or stored[i] != event]


@pytest.mark.timeout(60)
def test_sigkill_mid_session_leaves_a_journal_that_history_reads(cli: Cli) -> None:
    live, db = _start(cli)
    with live:
        live.read_until(_belt_moving)
        live.read_until(lambda e: e["event"] == "telemetry" and e["t"] >= 3.0)
        os.kill(live.pid, signal.SIGKILL)
        result = live.finish(timeout=10)
    assert result.returncode == -signal.SIGKILL
    shown = result.shown
    assert not [e for e in shown if e["event"] in ("stop", "summary")], "killed mid-session"

    listed = cli.run("history", "--db", str(db))
    assert listed.returncode == 0, listed.describe()
    assert listed.stderr == "", listed.describe()
    assert "interrupted" in listed.stdout

    as_json = cli.run("history", "--db", str(db), "--json")
    assert as_json.returncode == 0, as_json.describe()
    [session] = json.loads(as_json.stdout)
    assert session["status"] == "interrupted"
    assert session["finished"] is False
    assert session["completed"] is False
    assert session["plan"] == "gentle-intro"

    show = cli.run("history", "show", str(session["id"]), "--db", str(db), "--json")
    assert show.returncode == 0, show.describe()
    assert show.stderr == "", show.describe()
    stored = cli.journal(db).events[session["id"]]
    assert len(json.loads(show.stdout)["events"]) == len(stored)

    missing = _missing_from_journal(shown, stored)
    assert not missing, f"shown before the kill but not in the journal: {missing}"


@pytest.mark.timeout(60)
def test_nothing_shown_is_missing_from_the_journal_even_when_the_disk_is_stuck(cli: Cli) -> None:
    """Invariant 7 made deterministic.

    A stuck disk is played by this test holding the journal's write lock. The session must go
    on showing events (the journal is written off the event loop, issue 12 h), and the child is
    killed while its journal writer is still stuck: every event it printed must be in the
    journal once it is opened again (the crash spool is replayed), none may be lost.
    """
    live, db = _start(cli)
    with live:
        live.read_until(_belt_moving)
        blocker = sqlite3.connect(str(db), timeout=10.0, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # from now on every journal write waits
            telemetry_while_locked = 0

            def enough(event: dict[str, Any]) -> bool:
                nonlocal telemetry_while_locked
                telemetry_while_locked += event["event"] == "telemetry"
                return telemetry_while_locked >= 10

            live.read_until(enough, timeout=10)  # the loop is not waiting on the disk
            assert live.proc.poll() is None, "the session should still be running"
            os.kill(live.pid, signal.SIGKILL)
            result = live.finish(timeout=10)
        finally:
            if blocker.in_transaction:
                blocker.execute("ROLLBACK")
            blocker.close()
    assert result.returncode == -signal.SIGKILL

    shown = result.shown
    [record] = cli.journal(db).records
    assert record.status == "interrupted"
    missing = _missing_from_journal(shown, cli.journal(db).events[record.id])
    assert not missing, f"printed before the kill but never journaled: {missing}"
