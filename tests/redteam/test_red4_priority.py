"""Red team 4: the stop priority (treadcoach.priority, Session.run's claim).

Every real-kernel probe runs in a subprocess: the test process itself must stay ordinary
(tests/conftest.py fails a test that leaves one of its threads realtime)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from own_process import run_probe

from treadcoach.priority import SchedulerCalls, claim_stop_priority

_LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling")


class _PolicyKernel:
    """A kernel that keeps each thread's policy, as the real one does: realtime is refused from
    the thread ``refuse_rt_from`` on (a thread in another cgroup or with other credentials), and
    the short slice is taken but read back wrong (a kernel before 6.12: sched_setattr puts the
    thread back to SCHED_OTHER, then ``_set_short_slice`` raises ENOTSUP on the read-back)."""

    def __init__(self, tids: list[int], refuse_rt_from: int) -> None:
        self.policy = dict.fromkeys(tids, "other")
        self._refuse_rt_from = refuse_rt_from

    def calls(self) -> SchedulerCalls:
        return SchedulerCalls(
            thread_ids=lambda: list(self.policy),
            set_realtime=self._realtime,
            set_short_slice=self._slice,
            linux=True,
        )

    def _realtime(self, tid: int) -> None:
        if tid >= self._refuse_rt_from:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        self.policy[tid] = "rr"

    def _slice(self, tid: int) -> None:
        self.policy[tid] = "other"  # the setattr itself succeeded
        raise OSError(errno.ENOTSUP, "this kernel has no per-thread time slice (Linux >= 6.12)")


def test_a_grant_short_of_realtime_leaves_no_thread_realtime() -> None:
    kernel = _PolicyKernel([100, 101, 102, 103], refuse_rt_from=102)
    grant = claim_stop_priority(kernel.calls())
    assert grant.level == "normal"
    # what is reported must be what the kernel runs: no thread realtime on a 'normal' grant
    assert [tid for tid, policy in kernel.policy.items() if policy == "rr"] == []


_SESSION_PROBE = textwrap.dedent(
    """
    import json, os, sys, threading
    from pathlib import Path
    from treadcoach import clock
    from treadcoach.coach.library import find_plan
    from treadcoach.config import load_settings
    from treadcoach.safety.reasons import StopReason
    from treadcoach.session import Session, SessionOptions

    home = Path(sys.argv[1])
    (home / "devices.toml").write_text("")
    session = Session(
        SessionOptions(plan=find_plan("gentle-intro"), sim=True, record=True,
                       journal_path=home / "journal.sqlite", handle_signals=False,
                       own_process=True),
        load_settings(home / "devices.toml"),
    )
    seen = {}

    def policy(tid):
        try:
            return os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK
        except OSError:
            return None

    def on_event(event):
        if event.event == "connected" and not seen:
            for thread in threading.enumerate():
                seen[thread.name.split(":")[0]] = policy(thread.native_id)
            session.request_stop(StopReason.KEY)

    session.add_listener(on_event)
    clock.run(session.run())
    print(json.dumps({"level": session.priority.level, "threads": seen}))
    """
)


def _session_threads(tmp_path: Path) -> dict[str, object]:
    return run_probe(_SESSION_PROBE, str(tmp_path))


@_LINUX
def test_only_the_stop_path_threads_run_realtime_not_the_journal_writer(tmp_path: Path) -> None:
    probe = _session_threads(tmp_path)
    threads = probe["threads"]
    assert isinstance(threads, dict)
    if probe["level"] != "realtime":
        pytest.skip("this box does not grant realtime")
    assert threads["MainThread"] == os.SCHED_RR  # the loop's thread: the stop path
    assert threads["journal-writer"] == os.SCHED_OTHER


_LATER_THREADS_PROBE = textwrap.dedent(
    """
    import json, os, subprocess, sys, threading
    from treadcoach.priority import claim_stop_priority

    grant = claim_stop_priority()
    out = {}

    def record():
        out["thread"] = os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK

    thread = threading.Thread(target=record)
    thread.start(); thread.join()
    # posix_spawn/vfork path of subprocess, as speech or a broker would be started
    child = subprocess.run(
        [sys.executable, "-S", "-c", "import os; print(os.sched_getscheduler(0))"],
        capture_output=True, text=True, check=True,
    )
    out["child"] = int(child.stdout)
    out["level"] = grant.level
    print(json.dumps(out))
    """
)


@_LINUX
def test_threads_and_processes_started_after_the_claim_are_ordinary() -> None:
    """reset-on-fork covers threads (the checkpointer, executor threads) and spawned children
    alike, not only fork(): a thread or a synthesizer started later never runs realtime."""
    out = run_probe(_LATER_THREADS_PROBE, timeout_s=60)
    assert out["thread"] == os.SCHED_OTHER
    assert out["child"] == os.SCHED_OTHER


@_LINUX
def test_a_claim_that_raised_no_thread_does_not_say_realtime() -> None:
    child = subprocess.Popen([sys.executable, "-S", "-c", "pass"])
    child.wait()
    grant = claim_stop_priority(pid=child.pid)
    assert grant.level != "realtime" or grant.threads > 0


# One core (os.sched_setaffinity), as on a single-core board by the treadmill: this process
# hands the stop to an ordinary relay -- what bleak's write crosses on Linux (dbus-daemon,
# bluetoothd) or a broker on the same machine -- and then keeps its core busy, as the loop does
# after a stop (listeners, the TUI's repaint of the STOP screen, the journal). The relay's answer
# is polled without blocking; ``answered_at`` is how far the work had got when it came.
_ONE_CORE_PROBE = textwrap.dedent(
    """
    import errno, json, os, select, sys
    from treadcoach.priority import SchedulerCalls, claim_stop_priority

    mode, work = sys.argv[1], int(sys.argv[2])
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    to_relay_r, to_relay_w = os.pipe()
    back_r, back_w = os.pipe()
    if os.fork() == 0:  # the relay: ordinary, on the same core
        os.write(back_w, b"r")
        os.write(back_w, os.read(to_relay_r, 1))
        os._exit(0)
    assert os.read(back_r, 1) == b"r"

    def refuse(tid):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    if mode == "as-claimed":  # what Session.run does
        level = claim_stop_priority().level
    elif mode == "short-slice":
        level = claim_stop_priority(
            SchedulerCalls(thread_ids=lambda: [0], set_realtime=refuse)
        ).level
    else:
        level = "normal"
    os.write(to_relay_w, b"s")  # the stop leaves this process
    answered_at, x = None, 0
    for i in range(work):
        x += i * i % 7
        if i % 1000 == 0 and answered_at is None and select.select([back_r], [], [], 0)[0]:
            answered_at = i
    os.wait()
    print(json.dumps({"level": level, "answered_at": answered_at}))
    """
)
_WORK = 1_500_000  # ~0.15 s of the loop's core here; the relay needs a few µs of it


def _relay_answer(mode: str) -> dict[str, object]:
    return run_probe(_ONE_CORE_PROBE, mode, str(_WORK), timeout_s=60)


@_LINUX
@pytest.mark.parametrize("mode", ["normal", "short-slice", "as-claimed"])
def test_on_one_core_the_stop_priority_never_holds_up_the_processes_the_stop_crosses(
    mode: str,
) -> None:
    probe = _relay_answer(mode)
    if mode == "as-claimed" and probe["level"] == "normal":
        pytest.skip("this box grants no stop priority at all")
    if mode == "short-slice" and probe["level"] != mode:
        pytest.skip(f"this kernel has no short slice ({probe['level']})")
    answered_at = probe["answered_at"]
    # the relay ran while the loop was still busy after the stop, not only once it was done
    assert isinstance(answered_at, int)
    assert answered_at < _WORK // 2


# One core again: a thread that exists when the session claims (as the journal's writer does,
# see test_only_the_stop_path_threads_run_realtime_not_the_journal_writer) runs a burst of
# sqlite work with the GIL released; the stop comes from an ordinary process (a terminal, a
# broker, bluetoothd) while it does. Does the loop read the stop before the burst is over?
_WRITER_BURST_PROBE = textwrap.dedent(
    """
    import json, os, sqlite3, sys, threading
    from treadcoach.priority import claim_stop_priority

    mode = sys.argv[1]
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    stop_r, stop_w = os.pipe()
    go_r, go_w = os.pipe()
    busy, order = threading.Event(), []

    def writer():
        db = sqlite3.connect(":memory:")
        busy.wait()
        os.write(go_w, b"g")  # the stop is sent while this burst runs
        db.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)"
            " SELECT count(*) FROM c"
        ).fetchone()
        order.append("writer done")

    thread = threading.Thread(target=writer, name="journal-writer")
    thread.start()
    level = claim_stop_priority().level if mode == "as-claimed" else "normal"
    if os.fork() == 0:  # the stop input: an ordinary process
        os.read(go_r, 1)
        os.write(stop_w, b"s")
        os._exit(0)
    busy.set()
    os.read(stop_r, 1)
    order.append("stop read")
    thread.join()
    os.wait()
    print(json.dumps({"level": level, "order": order}))
    """
)


@_LINUX
@pytest.mark.parametrize("mode", ["normal", "as-claimed"])
def test_on_one_core_a_journal_burst_never_holds_up_a_stop_sent_meanwhile(mode: str) -> None:
    result = run_probe(_WRITER_BURST_PROBE, mode)
    if mode == "as-claimed" and result["level"] == "normal":
        pytest.skip("this box grants no stop priority at all")
    assert result["order"] == ["stop read", "writer done"]
