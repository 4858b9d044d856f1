"""A process killed with SIGKILL mid-session loses nothing it had already appended (invariant 6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from treadcoach.cli import main
from treadcoach.coach.events import SegmentStarted, Telemetry
from treadcoach.history import Journal, summarize

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

REPO = Path(__file__).resolve().parents[2]

# Appends forever; prints each event's t only after append() has returned.
WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from pathlib import Path

    from treadcoach.coach.events import SegmentStarted, Telemetry
    from treadcoach.history import Journal

    journal = Journal.open(Path(sys.argv[1]))
    session_id = journal.begin_session(
        plan="starter", device="Sim", address="SIM-1", simulated=True,
        planned_backward_s=120.0, planned_duration_s=600.0,
        started_at=datetime.now(timezone.utc),
    )
    journal.append(session_id, SegmentStarted(
        t=0.0, index=0, kind="backward_walk", target_kmh=3.2, duration_s=120.0))
    print(f"session {session_id}", flush=True)
    i = 0
    while True:
        i += 1
        t = i / 10
        journal.append(session_id, Telemetry(t=t, speed_kmh=3.2, distance_m=round(i * 0.089, 3)))
        print(repr(t), flush=True)
    """
)


def test_sigkill_mid_session_keeps_every_event_already_appended(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        assert header.startswith("session "), proc.stderr.read() if proc.stderr else ""
        session_id = int(header.split()[1])
        for _ in range(300):  # let it run mid-session
            assert proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # read through the same buffered reader (communicate() would skip what it buffered)
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    printed = [float(line) for line in rest.splitlines() if line.strip()]
    # the lines read above plus whatever was still in the pipe at the kill
    expected_ts = [i / 10 for i in range(1, 301)] + printed

    with Journal.open(path) as journal:
        events = journal.events(session_id)
        [record] = journal.sessions()
    stored_ts = [e.t for e in events if isinstance(e, Telemetry)]
    assert isinstance(events[0], SegmentStarted)
    # every printed event is there, in order; at most the one in flight at the kill is extra
    assert stored_ts[: len(expected_ts)] == expected_ts
    assert len(stored_ts) - len(expected_ts) <= 1
    assert record.status == "interrupted"
    assert record.backward_s == pytest.approx(summarize(events).backward_s)
    assert record.backward_s >= expected_ts[-1]

    # and `treadcoach history` reads the killed journal (issue 7)
    assert main(["history", "--db", str(path)]) == 0
    assert "interrupted" in capsys.readouterr().out
    assert main(["history", "show", str(session_id), "--json", "--db", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)["events"]
    assert [e["t"] for e in shown if e["event"] == "telemetry"] == stored_ts
