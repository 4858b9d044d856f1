"""The journal never blocks the loop and never fails silently (issue 12 h, DESIGN invariant 7).

A real Session (controller, link over bleak, simulator) on the virtual loop, recording into a
real SQLite file. The journal's writer is a thread running in real time, so these tests never
compare clocks: they arrange the disk so that the only way to pass is for the loop to go on
while the writer is stuck (the Stop reaches the simulator while another connection still holds
the journal's write lock, and only that Stop lets the lock go).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from treadcoach import clock
from treadcoach.coach.events import Event, Summary
from treadcoach.coach.library import find_plan
from treadcoach.config import load_settings
from treadcoach.errors import HistoryError
from treadcoach.history import Journal
from treadcoach.history.tally import pause_change
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions

REPO = Path(__file__).resolve().parents[2]
PLAN = "backward-walk-starter"
#: tests that wait for the journal's writer thread run on scaled time: virtual time jumps to the
#: next timer whenever the loop only waits for that thread, running the session ahead of it
WRITER_SPEEDUP = 25.0
STOP = b"\x08\x01"


def _session(tmp_path: Path, journal: Path) -> Session:
    config = tmp_path / "devices.toml"
    config.write_text("")
    return Session(
        SessionOptions(plan=find_plan(PLAN), sim=True, journal_path=journal, handle_signals=False),
        load_settings(config),
    )


def _build_and_run(tmp_path: Path, journal: Path) -> None:
    """Build the session and run it: a journal is refused at the first of the two it can be."""
    clock.run(_session(tmp_path, journal).run(), speedup=math.inf)


def _stored(journal: Path) -> int:
    """Events committed so far, read beside the writer (WAL readers never wait for a writer)."""
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        db.close()


@pytest.mark.timeout(120)
def test_a_locked_journal_does_not_hold_back_the_stop_write(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    session = _session(tmp_path, journal)
    shown: list[Event] = []
    session.add_listener(shown.append)
    at_stop: dict[str, Any] = {}

    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(40)  # the belt is up and walking
        treadmill = session.treadmill
        assert treadmill is not None
        assert treadmill.belt_speed_kmh > 0
        # (its own wait only covers the writer's commit in progress at this instant)
        blocker = sqlite3.connect(str(journal), isolation_level=None, timeout=5)
        blocker.execute("BEGIN IMMEDIATE")  # from now on every journal write waits
        locked_at = len(shown)
        write = treadmill.write

        def spy(link: Any, uuid: str, data: bytes) -> None:
            if bytes(data[:2]) == STOP and not at_stop:
                # Stop reaches the treadmill with the lock still held: the loop got here
                # while the journal's writer was stuck behind the lock.
                at_stop["stored"] = _stored(journal)
                at_stop["locked_at"] = locked_at
                at_stop["shown"] = len(shown)
                blocker.execute("ROLLBACK")  # the disk comes back
            write(link, uuid, data)

        treadmill.write = spy  # type: ignore[method-assign]
        # a few telemetry records queue up behind the lock first (the Stop itself is written
        # before the stop event is shown, so without these nothing would be waiting)
        await asyncio.sleep(2)
        session.request_stop(StopReason.KEY)
        await run
        blocker.close()

    clock.run(scenario(), speedup=math.inf)

    assert at_stop, "Stop never reached the simulator"
    assert at_stop["stored"] < at_stop["shown"], "nothing was waiting: the lock did not bite"
    assert at_stop["stored"] <= at_stop["locked_at"]
    assert not [e for e in shown if e.event == "fault" and e.kind == "journal"]
    with Journal.open(journal) as opened:
        [record] = opened.sessions()
        assert opened.events(record.id) == shown, "the writer caught up once the lock went"
    assert record.finished
    assert session.saved
    from treadcoach.history.spool import spool_dir

    assert not list(spool_dir(journal).glob("*")), "a saved session leaves no spool"


# The child runs a session on the virtual loop and fills the "disk" halfway through: the file
# size limit (RLIMIT_FSIZE) makes every write past the first byte of any file fail with EFBIG,
# as a full disk does, for SQLite's WAL and the crash spool alike.
DISK_FULL_CHILD = textwrap.dedent(
    """
    import asyncio, json, math, resource, signal, sys
    from pathlib import Path

    from treadcoach import clock
    from treadcoach.coach.library import find_plan
    from treadcoach.config import load_settings
    from treadcoach.session import Session, SessionOptions

    journal, config = Path(sys.argv[1]), Path(sys.argv[2])
    SPEEDUP = float(sys.argv[4])
    session = Session(
        SessionOptions(plan=find_plan(sys.argv[3]), sim=True, journal_path=journal,
                       handle_signals=False),
        load_settings(config),
    )
    events = []
    session.add_listener(lambda e: events.append(e.model_dump(mode="json")))

    async def scenario():
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(40)
        await session.recorder.flush()  # the journal holds the session so far: now fill the disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        await asyncio.sleep(20)
        session.request_stop(session_reason)
        summary = await run
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return summary

    from treadcoach.safety.reasons import StopReason
    session_reason = StopReason.KEY
    # Scaled, not virtual: the loop waits on the writer thread (flush), and virtual time would
    # jump the whole session ahead meanwhile.
    clock.run(scenario(), speedup=SPEEDUP)
    print(json.dumps({"saved": session.saved, "events": events}))
    """
)


@pytest.mark.timeout(120)
def test_a_full_disk_mid_session_is_a_journal_fault_and_the_session_is_not_saved(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "history.sqlite3"
    config = tmp_path / "devices.toml"
    config.write_text("")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            DISK_FULL_CHILD,
            str(journal),
            str(config),
            PLAN,
            str(WRITER_SPEEDUP),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=100,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    faults = [e for e in result["events"] if e["event"] == "fault" and e["kind"] == "journal"]
    assert len(faults) == 1, "one fault, said once"
    assert "stopped saving" in faults[0]["detail"]
    assert result["saved"] is False
    stops = [e for e in result["events"] if e["event"] == "stop"]
    assert [s["reason"] for s in stops] == ["key"], "the belt stopped as asked"

    # what the journal holds is a clean prefix, and the progression does not count it
    with Journal.open(journal) as opened:
        [record] = opened.sessions()
        assert not record.finished
        assert opened.past_sessions() == []
        stored = opened.events(record.id)
    shown = [e for e in result["events"]]
    assert [e.model_dump(mode="json") for e in stored] == shown[: len(stored)]
    assert len(stored) < len(shown)


def test_a_journal_that_cannot_be_created_refuses_the_session_with_one_line(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the journal's folder should be\n")
    # Refused when the session is built (issue 14 item 7: before a screen opens), so no
    # simulator, link or belt exists yet; a journal that only fails when the session runs
    # must still be refused before the belt moves.
    with pytest.raises(HistoryError) as caught:
        _build_and_run(tmp_path, blocker / "history.sqlite3")
    assert "\n" not in str(caught.value)
    assert str(blocker) in str(caught.value)


@pytest.mark.timeout(60)
def test_a_journal_locked_at_the_start_refuses_the_session_before_the_belt_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import treadcoach.history.journal as journal_module

    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.2)
    journal = tmp_path / "history.sqlite3"
    Journal.open(journal).close()
    blocker = sqlite3.connect(str(journal), isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        session = _session(tmp_path, journal)
        shown: list[Event] = []
        session.add_listener(shown.append)
        with pytest.raises(HistoryError) as caught:
            clock.run(session.run(), speedup=math.inf)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "\n" not in str(caught.value)
    assert "locked" in str(caught.value)
    assert shown == [], "refused before the session started"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_journal_refuses_the_session_with_one_line(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    Journal.open(journal).close()
    journal.chmod(0o444)
    with pytest.raises(HistoryError) as caught:
        _build_and_run(tmp_path, journal)
    assert "\n" not in str(caught.value)
    assert "readonly" in str(caught.value) or "read-only" in str(caught.value)


@pytest.mark.timeout(60)
def test_a_real_pause_is_journaled_as_a_pause(tmp_path: Path) -> None:
    """The controller's pause and resume, through a real session, reach the journal as a pause
    (the contract ``tally.pause_change`` reads), and paused time is not backward time."""
    journal = tmp_path / "history.sqlite3"
    session = _session(tmp_path, journal)

    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(400)  # into the backward walk
        session.request_pause(StopReason.KEY)
        await asyncio.sleep(105)
        session.request_resume(StopReason.KEY)
        await asyncio.sleep(30)
        session.request_stop(StopReason.KEY)
        await run

    clock.run(scenario(), speedup=math.inf)
    with Journal.open(journal) as opened:
        [record] = opened.sessions()
        events = opened.events(record.id)
    backward = next(e for e in events if e.event == "segment" and e.kind == "backward_walk")
    paused, resumed = (e for e in events if pause_change(e) is not None)
    stop = next(e for e in events if e.event == "stop")
    assert (pause_change(paused), pause_change(resumed)) == ("pause", "resume")
    assert record.paused_s == pytest.approx(105)
    assert record.backward_s == pytest.approx((paused.t - backward.t) + (stop.t - resumed.t))


@pytest.mark.timeout(60)
def test_the_summary_and_the_journal_agree_on_backward_time(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    session = _session(tmp_path, journal)

    async def scenario() -> Summary:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(400)  # into the backward walk
        session.request_stop(StopReason.SIGINT)
        return await run

    summary = clock.run(scenario(), speedup=math.inf)
    with Journal.open(journal) as opened:
        [record] = opened.sessions()
    assert summary.backward_s == pytest.approx(record.backward_s, abs=0.05)


@pytest.mark.timeout(60)
def test_a_journal_that_fails_while_the_session_ends_keeps_the_summary_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked past the busy timeout from just before the stop: the writer fails while (or
    after) the session ends. The summary stays the stream's last event, ``saved`` says it."""
    import treadcoach.history.journal as journal_module

    monkeypatch.setattr(journal_module, "BUSY_TIMEOUT_S", 0.2)
    journal = tmp_path / "history.sqlite3"
    session = _session(tmp_path, journal)
    shown: list[Event] = []
    session.add_listener(shown.append)
    blocker = sqlite3.connect(str(journal), isolation_level=None, timeout=5)

    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(40)
        blocker.execute("BEGIN IMMEDIATE")
        session.request_stop(StopReason.KEY)
        await run

    try:
        clock.run(scenario(), speedup=math.inf)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert shown[-1].event == "summary"
    assert len([e for e in shown if e.event == "fault" and e.kind == "journal"]) <= 1
    assert not session.saved
    with Journal.open(journal) as opened:  # the spool is replayed now that the lock is gone
        [record] = opened.sessions()
        assert opened.events(record.id) == shown
        # the user was told NOT SAVED: listed, but progression does not count it
        assert opened.past_sessions() == []
    assert record.finished
    assert not record.counted


def _mount_tmpfs(where: Path) -> bool:
    """A small tmpfs at ``where`` (needs root and mount rights; else the test is skipped)."""
    if os.geteuid() != 0:
        return False
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.timeout(60)
def test_a_real_disk_filling_up_mid_session_is_a_journal_fault(tmp_path: Path) -> None:
    """ENOSPC from a real (tmpfs) file system, where the other disk-full test uses a file
    size limit. (A file system cannot be remounted read-only while the journal is open for
    writing, so "read-only mid-session" is the kernel's doing, not something a test can do.)"""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk):
        pytest.skip("needs a tmpfs mount (root with mount rights)")
    try:
        journal = disk / "history.sqlite3"
        session = _session(tmp_path, journal)
        shown: list[Event] = []
        session.add_listener(shown.append)

        async def scenario() -> None:
            run = asyncio.get_running_loop().create_task(session.run())
            await asyncio.sleep(40)
            assert session.recorder is not None
            await session.recorder.flush()
            # fill the disk to the last byte (big chunks first, then ever smaller ones)
            with (disk / "filler").open("wb", buffering=0) as filler:
                for chunk in (65536, 4096, 512, 1):
                    with contextlib.suppress(OSError):
                        while True:
                            filler.write(b"\0" * chunk)
            # The writer thread runs on the wall clock: wait for it, not for sim seconds.
            for _ in range(100):
                await asyncio.sleep(1)
                await session.recorder.flush()
                if session.recorder.failure is not None:
                    break
            await asyncio.sleep(0.1)  # the writer's report reaches the loop
            session.request_stop(StopReason.KEY)
            await run

        clock.run(scenario(), speedup=WRITER_SPEEDUP)  # waits on the writer: see below
        faults = [e for e in shown if e.event == "fault" and e.kind == "journal"]
        assert len(faults) == 1
        assert "stopped saving" in faults[0].detail
        assert not session.saved
        assert [e.event for e in shown].count("stop") == 1
        with Journal.open(journal, create=False) as opened:
            [record] = opened.sessions()
        assert not record.finished
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
