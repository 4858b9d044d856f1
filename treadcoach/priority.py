"""Ask the kernel to run the stop path promptly when the machine is busy.

A stop input (a key, the pedal, an MQTT message) wakes this process; if every core is busy with
something else -- a build, a video call -- the kernel decides how soon it runs. At normal
priority that is up to a scheduler tick or more per wake-up (4 ms at HZ=250, and the MQTT path
wakes us more than once): measured with ``treadcoach bench mqtt-stop`` beside a busy process on
every core, the broker hop alone had a p99 of 4.4-5.2 ms, against 0.35 ms on a quiet machine.

So a process that is ours (``treadcoach run`` / ``serve``) claims, for the threads the stop path
runs on (the event loop's, which calls this, and Textual's key reader: :data:`STOP_PATH_THREADS`;
not the journal's writer or the terminal's output thread, which must never hold up a stop):

1. ``realtime``: ``SCHED_RR`` at priority :data:`STOP_RT_PRIORITY` -- above every ordinary
   process, below the kernel's interrupt threads and audio servers. Needs ``CAP_SYS_NICE`` or an
   ``RLIMIT_RTPRIO`` of at least that much (README, "Stop priority"). With it the same hop's p99
   beside the hog was 0.44-0.52 ms.
2. ``short-slice``: otherwise (any user may) an EEVDF time slice of :data:`SHORT_SLICE_NS`
   (Linux >= 6.12 reads ``sched_runtime`` of an ordinary thread so): a woken thread with a shorter
   slice than the running one may take its core at once. It does not give us more CPU, only
   sooner; it helps a lightly loaded process, as a session is (~2 % of a core).
3. ``normal``: neither is possible (not Linux, an older kernel, a sandbox); said, not fatal.

On a machine with one usable CPU realtime is not asked for: there the loop would keep every
ordinary process off the CPU until it blocks -- dbus-daemon and bluetoothd, which carry bleak's
Stop to the radio, among them (red team 4-5) -- so the short slice is the most we take.

Both are set with reset-on-fork: what this process starts afterwards (the speech synthesizer, a
broker, a benchmark's CPU hog) is an ordinary process again. Nothing here is ever raised to the
caller: a session must run at whatever priority it gets.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "SHORT_SLICE_NS",
    "STOP_RT_PRIORITY",
    "PriorityGrant",
    "SchedulerCalls",
    "claim_stop_priority",
    "usable_cores",
]

# SCHED_RR priorities run 1..99. PipeWire's and JACK's audio threads use 20-88 and the kernel's
# threaded interrupts 50: a stop path must not delay those (the Bluetooth adapter's among them).
STOP_RT_PRIORITY = 10
# The smallest slice the kernel accepts (it clamps sched_runtime to 0.1-100 ms).
SHORT_SLICE_NS = 100_000
# Threads of ours, besides the loop's, that a stop input passes through: Textual's driver reads
# the keyboard on "textual-input" and hands each key to the loop.
STOP_PATH_THREADS = ("textual-input",)

Level = Literal["realtime", "short-slice", "normal"]

# sched_setattr(2) and sched_getattr(2) have no wrapper in Python's os module: their syscall
# numbers per architecture.
_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274, "armv7l": 380, "armv6l": 380, "i686": 351}
_SCHED_GETATTR = {"x86_64": 315, "aarch64": 275, "armv7l": 381, "armv6l": 381, "i686": 352}
_SCHED_FLAG_RESET_ON_FORK = 0x01
_SCHED_OTHER = 0

ONE_CPU = "not asked on one CPU: it would hold up bluetoothd, which carries the Stop"
HOW_TO_GRANT = (
    "grant it with `LimitRTPRIO=10` in a systemd unit or "
    "`<user> - rtprio 10` in /etc/security/limits.d/ (README: Stop priority)"
)


class _SchedAttr(ctypes.Structure):
    # struct sched_attr, SCHED_ATTR_SIZE_VER1 (56 bytes)
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
        ("sched_util_min", ctypes.c_uint32),
        ("sched_util_max", ctypes.c_uint32),
    ]


@dataclass(frozen=True)
class PriorityGrant:
    """What the kernel granted, for the log, the bench's JSON and the user."""

    level: Level
    threads: int = 0  # how many of the process's threads got it
    detail: str = ""  # why not more (empty when realtime was granted)

    def describe(self) -> str:
        if self.level == "realtime":
            return f"stop priority: realtime (SCHED_RR {STOP_RT_PRIORITY})"
        if self.level == "short-slice":
            return (
                f"stop priority: short time slice ({SHORT_SLICE_NS // 1000} µs); "
                f"realtime: {self.detail}" + ("" if self.detail == ONE_CPU else f"; {HOW_TO_GRANT}")
            )
        return f"stop priority: normal ({self.detail})"


def _thread_ids(pid: int | None = None) -> list[int]:
    """The stop path's threads of this process, or every thread of ``pid``."""
    if pid is None:
        names = set(STOP_PATH_THREADS)
        inputs = [t.native_id for t in threading.enumerate() if t.name in names and t.native_id]
        return [threading.get_native_id(), *inputs]
    try:
        return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []  # gone


def usable_cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _set_realtime(tid: int) -> None:
    os.sched_setscheduler(
        tid, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(STOP_RT_PRIORITY)
    )


def _syscall(table: dict[str, int], tid: int, attr: _SchedAttr, *extra: int) -> None:
    number = table.get(platform.machine())
    if number is None:
        raise OSError(errno.ENOSYS, f"not known on {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, tid, ctypes.byref(attr), *extra) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _set_short_slice(tid: int) -> None:
    attr = _SchedAttr(
        size=ctypes.sizeof(_SchedAttr),
        sched_policy=_SCHED_OTHER,
        sched_flags=_SCHED_FLAG_RESET_ON_FORK,
        # an ordinary thread's attributes carry its nice value: keep it, lower is a privilege
        sched_nice=os.getpriority(os.PRIO_PROCESS, tid),
        sched_runtime=SHORT_SLICE_NS,
    )
    _syscall(_SCHED_SETATTR, tid, attr, 0)
    # A kernel before 6.12 takes the call and ignores the slice of an ordinary thread: read back.
    now = _SchedAttr()
    _syscall(_SCHED_GETATTR, tid, now, ctypes.sizeof(_SchedAttr), 0)
    if now.sched_runtime != SHORT_SLICE_NS:
        raise OSError(errno.ENOTSUP, "this kernel has no per-thread time slice (Linux >= 6.12)")


@dataclass(frozen=True)
class SchedulerCalls:
    """The kernel calls, one seam for tests (real ones by default)."""

    thread_ids: Callable[[], Iterable[int]] = _thread_ids
    set_realtime: Callable[[int], None] = _set_realtime
    set_short_slice: Callable[[int], None] = _set_short_slice
    linux: bool = field(default_factory=lambda: hasattr(os, "sched_setscheduler"))
    usable_cores: Callable[[], int] = usable_cores


def _apply(
    setter: Callable[[int], None], tids: list[int], *, every: bool = False
) -> tuple[int, OSError | None]:
    """Set the threads; stop at the first refusal (the rest would be refused alike) unless
    ``every``. A thread that ended meanwhile (ESRCH) is skipped."""
    done, refused = 0, None
    for tid in tids:
        try:
            setter(tid)
        except ProcessLookupError:
            continue
        except OSError as exc:
            refused = refused or exc
            if not every:
                break
            continue
        done += 1
    return done, refused


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EPERM:
        return "not permitted"
    return exc.strerror or type(exc).__name__


def claim_stop_priority(
    calls: SchedulerCalls | None = None, *, pid: int | None = None
) -> PriorityGrant:
    """Raise the threads of this process (or of ``pid``: a broker of ours, README "Stop
    priority") as far as the kernel lets us; say how far that was."""
    calls = calls or SchedulerCalls(thread_ids=functools.partial(_thread_ids, pid))
    if not calls.linux:
        return PriorityGrant("normal", detail="this system has no per-thread scheduling policy")
    tids = list(calls.thread_ids())
    if not tids:
        return PriorityGrant("normal", detail="no thread to raise (the process is gone)")
    if calls.usable_cores() < 2:
        why = ONE_CPU
    else:
        done, refused = _apply(calls.set_realtime, tids)
        if refused is None and done:
            return PriorityGrant("realtime", threads=done)
        why = _reason(refused) if refused is not None else "no thread to raise"
    # Every thread, whatever the first one answers, also one raised before a refusal: the slice's
    # call puts it back to SCHED_OTHER, so no thread is left realtime alone.
    done, slice_refused = _apply(calls.set_short_slice, tids, every=True)
    if slice_refused is None and done:
        return PriorityGrant("short-slice", threads=done, detail=why)
    if slice_refused is None:
        return PriorityGrant("normal", detail="no thread to raise (the process is gone)")
    return PriorityGrant(
        "normal",
        detail=f"realtime {why}; a short time slice: {_reason(slice_refused)}; {HOW_TO_GRANT}",
    )
