"""Coach benchmarks: a 45-minute plan on virtual time, and segment-boundary error on the real clock.

``treadcoach bench plan45`` runs the ``gentle-intro`` plan (about 50 min) against the simulator
through bleak on the virtual clock and reports wall seconds. ``treadcoach bench boundary`` runs a
plan of short forward segments on the real clock and reports how late each segment started
against the plan's own timeline (p50/p99 ms).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
from typing import Any

from treadcoach import clock
from treadcoach.bench.stats import percentile
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, SegmentStarted
from treadcoach.coach.library import find_plan
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, Step, expand

__all__ = ["bench", "bench_boundary"]


async def _session(steps: list[Step], events: list[Event], notify_hz: float = 1.0) -> float:
    from sim import SimTreadmill
    from sim.bleak_backend import SimBleakClient, SimBleakScanner
    from treadcoach.link import TreadmillLink

    async with SimTreadmill(name="bench", notify_hz=notify_hz) as treadmill:
        controller = SessionController(
            lambda: TreadmillLink(
                treadmill.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
            ),
            steps,
            SessionConfig(plan_name="bench", simulated=True),
        )
        controller.add_listener(events.append)
        summary = await controller.run()
        return summary.duration_s


def bench(options: Any) -> dict[str, Any]:
    """``plan45``: the gentle-intro plan (>= 45 min) on the virtual clock, wall seconds per run."""
    steps = expand(find_plan("gentle-intro"), Caps())
    runs = options.n or 3
    walls: list[float] = []
    virtual = 0.0
    count = 0
    for _ in range(runs):
        events: list[Event] = []
        start = time.perf_counter()
        virtual = clock.run(_session(steps, events), speedup=math.inf)
        walls.append(time.perf_counter() - start)
        count = len(events)
    return {
        "plan": "gentle-intro",
        "virtual_min": round(virtual / 60, 1),
        "runs": runs,
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_max": round(max(walls), 3),
        "events": count,
    }


_BOUNDARY_PLAN = """
name = "boundary-bench"
title = "Boundary benchmark"
units = "kmh"

[[segments]]
times = {times}
segments = [
  {{ kind = "forward_walk", duration = {dur}, speed = 4.0 }},
  {{ kind = "forward_run", duration = {dur}, speed = 5.0 }},
]
"""


def bench_boundary(options: Any) -> dict[str, Any]:
    """``boundary``: segment start error vs the plan's timeline on the real clock."""
    n = options.n or 200
    seg_s = 0.25
    plan = parse_plan(_BOUNDARY_PLAN.format(times=max(1, n // 2), dur=seg_s), "boundary-bench")
    steps = expand(plan, Caps())
    events: list[Event] = []
    asyncio.run(_session(steps, events, notify_hz=10.0))
    starts = [e for e in events if isinstance(e, SegmentStarted)]
    t0 = starts[0].t
    errors_ms = [abs((e.t - t0) - e.index * seg_s) * 1000 for e in starts]
    # each start relative to the previous one: the error a user feels segment by segment
    step_ms = [abs((b.t - a.t) - seg_s) * 1000 for a, b in itertools.pairwise(starts)]
    return {
        "segments": len(starts),
        "segment_s": seg_s,
        "p50_ms": round(percentile(errors_ms, 0.5), 3),
        "p99_ms": round(percentile(errors_ms, 0.99), 3),
        "max_ms": round(max(errors_ms), 3),
        "per_segment_p99_ms": round(percentile(step_ms, 0.99), 3),
    }
