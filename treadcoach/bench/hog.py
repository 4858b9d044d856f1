"""A CPU hog beside a benchmark: one busy process per core, gone when the block ends.

DESIGN.md: "the stop p99 holds with a CPU hog on every core". Each hog is a separate Python
process spinning at normal priority, so the scheduler has to take a core away from it whenever
the session wakes up -- as on a laptop building something while the user walks. The hogs watch
their parent and exit within milliseconds if it dies without cleaning up (SIGKILL, a crash), so a
killed benchmark never leaves the machine spinning.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from treadcoach.priority import usable_cores

__all__ = ["HogReport", "cpu_hog", "usable_cores"]

# Spin, but look up every ~100k iterations (a few ms) whether the parent is still there.
# The parent's pid comes as an argument: read with getppid() at start-up, a hog whose parent
# died first would take init for its parent and spin for ever (seen: one left for 45 min).
_SPIN = (
    "import os, sys\n"
    "parent = int(sys.argv[1])\n"
    "while os.getppid() == parent:\n"
    "    for _ in range(100_000):\n"
    "        pass\n"
)
_STOP_WAIT_S = 2.0


@dataclass
class HogReport:
    processes: int
    pids: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU the hogs burnt: proof they ran (about processes x wall_s when idle)


@contextlib.contextmanager
def cpu_hog(processes: int | None = None) -> Iterator[HogReport]:
    """Run ``processes`` (default: one per usable core) busy processes for the body of the block."""
    report = HogReport(processes=usable_cores() if processes is None else processes)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(report.processes):
            hogs.append(
                subprocess.Popen(
                    [sys.executable, "-S", "-c", _SPIN, str(os.getpid())],
                    stdin=subprocess.DEVNULL,
                )
            )
            report.pids.append(hogs[-1].pid)
        time.sleep(0.2)  # let them start spinning before anything is measured
        yield report
    finally:
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            try:
                hog.wait(_STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                hog.kill()
                hog.wait()
        report.wall_s = round(time.perf_counter() - start, 3)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        report.cpu_s = round(
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3
        )
