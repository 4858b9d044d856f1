"""A process that is ours asks the kernel to run its stop path promptly on a busy machine
(``treadcoach.priority``): realtime where permitted, else a short time slice, else it says why.
Whatever it gets, what it starts afterwards (speech, a broker, a benchmark's hog) is ordinary."""

from __future__ import annotations

import errno
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from own_process import at_connect, run_probe

from treadcoach import session as session_module
from treadcoach.priority import (
    SHORT_SLICE_NS,
    STOP_RT_PRIORITY,
    PriorityGrant,
    SchedulerCalls,
    claim_stop_priority,
)


class _Kernel:
    """Records which threads got what; refuses what it is told to."""

    def __init__(self, *, realtime: OSError | None = None, slice_: OSError | None = None):
        self.realtime: list[int] = []
        self.sliced: list[int] = []
        self.cores = 2
        self._refuse_realtime = realtime
        self._refuse_slice = slice_

    def calls(self, tids: list[int], *, linux: bool = True) -> SchedulerCalls:
        return SchedulerCalls(
            thread_ids=lambda: tids,
            set_realtime=self._set_realtime,
            set_short_slice=self._set_slice,
            linux=linux,
            usable_cores=lambda: self.cores,
        )

    def _set_realtime(self, tid: int) -> None:
        if self._refuse_realtime is not None:
            raise self._refuse_realtime
        self.realtime.append(tid)

    def _set_slice(self, tid: int) -> None:
        if tid == 13:
            raise ProcessLookupError(errno.ESRCH, "gone")
        if self._refuse_slice is not None:
            raise self._refuse_slice
        self.sliced.append(tid)


def test_every_thread_gets_realtime_where_the_kernel_permits_it() -> None:
    kernel = _Kernel()
    grant = claim_stop_priority(kernel.calls([100, 101]))
    assert grant == PriorityGrant("realtime", threads=2)
    assert kernel.realtime == [100, 101]
    assert kernel.sliced == []
    assert grant.describe() == f"stop priority: realtime (SCHED_RR {STOP_RT_PRIORITY})"


def test_refused_realtime_falls_back_to_a_short_slice_and_says_how_to_grant_it() -> None:
    kernel = _Kernel(realtime=PermissionError(errno.EPERM, "Operation not permitted"))
    grant = claim_stop_priority(kernel.calls([100, 13, 101]))
    assert grant.level == "short-slice"
    assert kernel.sliced == [100, 101]  # the thread that ended meanwhile is skipped
    assert grant.threads == 2
    assert "realtime: not permitted" in grant.describe()
    assert "LimitRTPRIO" in grant.describe()


def test_on_one_cpu_realtime_is_not_asked_for_the_short_slice_is() -> None:
    """One core: a realtime loop would keep bluetoothd and dbus-daemon, which carry the Stop to
    the radio, off the CPU until it blocks (red team 4-5)."""
    kernel = _Kernel()
    kernel.cores = 1
    grant = claim_stop_priority(kernel.calls([100]))
    assert grant.level == "short-slice"
    assert kernel.realtime == []
    assert "one CPU" in grant.describe()
    assert "LimitRTPRIO" not in grant.describe()  # nothing to grant: it is not asked for


def test_nothing_granted_is_said_with_both_reasons_never_raised() -> None:
    kernel = _Kernel(
        realtime=PermissionError(errno.EPERM, "Operation not permitted"),
        slice_=OSError(errno.ENOTSUP, "this kernel has no per-thread time slice"),
    )
    grant = claim_stop_priority(kernel.calls([100]))
    assert grant.level == "normal"
    assert "realtime not permitted" in grant.detail
    assert "no per-thread time slice" in grant.detail
    assert grant.describe().startswith("stop priority: normal (")


def test_a_system_without_scheduling_policies_is_normal_without_a_call() -> None:
    kernel = _Kernel()
    grant = claim_stop_priority(kernel.calls([100], linux=False))
    assert grant.level == "normal"
    assert kernel.realtime == kernel.sliced == []


_PROBE = textwrap.dedent(
    """
    import json, os, sys
    from treadcoach.priority import claim_stop_priority
    if sys.argv[1] == "unprivileged" and os.geteuid() == 0:
        os.setgid(65534); os.setuid(65534)   # imports done: drop root, and CAP_SYS_NICE with it
    grant = claim_stop_priority()
    read, write = os.pipe()
    if os.fork() == 0:   # a child (no exec: the unprivileged user may not read the venv)
        os.write(write, str(os.sched_getscheduler(0)).encode()); os._exit(0)
    os.wait()
    child_policy = int(os.read(read, 32))
    print(json.dumps({
        "level": grant.level,
        "policy": os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK,
        "reset_on_fork": bool(os.sched_getscheduler(0) & os.SCHED_RESET_ON_FORK),
        "rt_priority": os.sched_getparam(0).sched_priority,
        "child_policy": child_policy,
    }))
    """
)


def _probe(mode: str) -> dict[str, object]:
    return run_probe(_PROBE, mode, timeout_s=60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling policies")
@pytest.mark.parametrize("mode", ["as-is", "unprivileged"])
def test_what_is_reported_is_what_the_kernel_runs_and_children_are_ordinary(mode: str) -> None:
    probe = _probe(mode)
    if probe["level"] == "realtime":
        assert probe["policy"] == os.SCHED_RR
        assert probe["rt_priority"] == STOP_RT_PRIORITY
    else:
        assert probe["policy"] == os.SCHED_OTHER
    assert probe["reset_on_fork"] == (probe["level"] != "normal")
    # a speech synthesizer, a broker or a CPU hog started afterwards gets no priority of ours
    assert probe["child_policy"] == os.SCHED_OTHER
    if mode == "unprivileged" and os.geteuid() == 0:
        assert probe["level"] != "realtime"  # without CAP_SYS_NICE and RLIMIT_RTPRIO 0


@pytest.mark.parametrize(
    ("own_process", "speedup", "claims"),
    [(True, None, True), (False, None, False), (True, 20.0, False), (True, math.inf, False)],
    ids=["command-line", "embedded", "sped-up-sim", "virtual-time"],
)
def test_a_command_line_session_claims_the_stop_priority_before_the_belt_moves(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    own_process: bool,
    speedup: float | None,
    claims: bool,
) -> None:
    """Only a real-time session of a process that is ours: an embedded one leaves another
    program's scheduling alone, and a sped-up simulation would hold a core at realtime."""
    claimed: list[str] = []

    def claim() -> PriorityGrant:
        claimed.append("claimed")
        return PriorityGrant("short-slice", threads=1, detail="not permitted")

    monkeypatch.setattr(session_module, "claim_stop_priority", claim)
    monkeypatch.setattr(session_module, "settle_heap", lambda: None)
    session, seen = at_connect(
        tmp_path, lambda: list(claimed), own_process=own_process, speedup=speedup
    )
    assert seen == [["claimed"] if claims else []]
    assert (session.priority is not None) == claims


def test_the_short_slice_is_the_kernels_smallest() -> None:
    assert SHORT_SLICE_NS == 100_000  # sched_runtime is clamped to 0.1-100 ms


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling policies")
def test_a_broker_of_ours_can_be_given_the_same_priority_by_pid() -> None:
    """bench stop-latency raises its mosquitto so (README "Stop priority": a broker on the same
    machine); every thread of that process, not the caller's."""
    child = subprocess.Popen([sys.executable, "-S", "-c", "import time; time.sleep(60)"])
    try:
        grant = claim_stop_priority(pid=child.pid)
        policy = os.sched_getscheduler(child.pid) & ~os.SCHED_RESET_ON_FORK
        assert policy == (os.SCHED_RR if grant.level == "realtime" else os.SCHED_OTHER)
        assert grant.level == "normal" or grant.threads >= 1
        assert os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK == os.SCHED_OTHER
    finally:
        child.kill()
        child.wait()
