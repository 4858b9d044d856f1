"""``treadcoach bench stop-latency`` measures every path it reports (never timed here)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from treadcoach.bench import stop_latency
from treadcoach.bench.hog import cpu_hog
from treadcoach.bench.stop_latency import _bench
from treadcoach.priority import PriorityGrant

pytestmark = pytest.mark.timeout(120)

LATENCY_KEYS = {"n", "p50_ms", "p99_ms", "max_ms", "missed"}


async def test_stop_latency_measures_direct_tui_key_and_mqtt_stops_each_beside_the_hog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claimed: list[int | None] = []

    def claim(*, pid: int | None = None) -> PriorityGrant:
        # (not for real: the test process would stay realtime for the rest of the run)
        claimed.append(pid)
        return PriorityGrant("short-slice", threads=1, detail="not permitted")

    monkeypatch.setattr(stop_latency, "claim_stop_priority", claim)
    result = await _bench(4, hog=True, slots=3, hogs=1)
    # as `treadcoach run` does, and its broker too (it shares the cores with the hog)
    assert claimed[0] is None
    assert len(claimed) == 2
    assert isinstance(claimed[1], int)
    assert (result["priority"], result["broker"]) == ("short-slice", "short-slice")
    for section in (result, result["hog"]):
        assert set(section) >= LATENCY_KEYS | {"tui_key", "mqtt", "timer_lag"}
        assert (section["n"], section["missed"]) == (4, 0)
        for path in ("tui_key", "mqtt"):
            assert set(section[path]) >= LATENCY_KEYS
            assert section[path]["missed"] == 0
            assert section[path]["n"] >= 4
        assert 0 < section["p50_ms"] <= section["p99_ms"] <= section["max_ms"]
    assert result["hog"]["processes"] == 1
    assert result["hog"]["hog_cpu_s"] > 0  # the hog really ran


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) is gone for our purpose
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split()[2] != "Z"


def _wait_gone(pids: list[int], within_s: float = 30.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while (alive := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()]


def test_the_hog_runs_one_process_per_core_and_leaves_none_behind() -> None:
    with cpu_hog() as report:
        assert len(report.pids) == report.processes == len(os.sched_getaffinity(0))
        assert set(report.pids) <= set(_children(os.getpid()))
        assert all(_alive(pid) for pid in report.pids)
    assert _wait_gone(report.pids) == []
    assert report.cpu_s > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_hogs_exit_when_the_benchmark_is_killed() -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from treadcoach.bench.hog import cpu_hog
        with cpu_hog(2) as hog:
            print(" ".join(map(str, hog.pids)), flush=True)
            time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        hogs = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(hogs) == 2
        assert set(hogs) <= set(_children(parent.pid))
        parent.kill()  # SIGKILL: no finally, no cleanup in the parent
        parent.wait()
        assert _wait_gone(hogs) == []
    finally:
        parent.kill()
        parent.wait()


def test_fewer_than_two_slots_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from treadcoach.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "stop-latency", "--slots", "1"])
    assert exc.value.code == 2
    assert "--slots: must be a whole number, 2 or more, not '1'" in capsys.readouterr().err
