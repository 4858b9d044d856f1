"""The HR zone through the real controller: a simulated person on the simulated belt.

Everything is real but the strap's radio: the controller, link and simulator, the HR coach,
and ``sim.strap.HeartModel`` (the simulated strap's own physiology), whose pulse follows the
belt the controller drives -- so this is the zone simulation of issue 16 with the controller's
own governor (ramps, caps, snap to the belt's grid) instead of a stand-in.

    PYTHONPATH=. python tests/coach/test_controller_heart_zone.py     # prints the table
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from controller_rig import SET_SPEED, Run, plan_steps, run_session

from sim import SimTreadmill
from sim.strap import HeartModel
from treadcoach.coach.controller import SessionController
from treadcoach.coach.heart_rate import (
    HeartRateCoach,
    HrDecision,
    HrSample,
    HrZone,
    SpeedBounds,
    ZoneState,
)
from treadcoach.coach.kinds import SegmentKind

ZONE = HrZone(105, 115)
CAP = 4.83  # the default backward cap
PLAN = """
name = "zone"
title = "Zone"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 60
speed = 3.0

[[segments]]
kind = "backward_walk"
duration = 900
speed = 2.0
"""


@dataclass
class Person:
    """A HeartPort whose pulse is ``HeartModel``'s, advanced on the belt's real speed."""

    treadmill: SimTreadmill | None = None
    model: HeartModel = field(default_factory=HeartModel)
    coach: HeartRateCoach = field(default_factory=lambda: HeartRateCoach(150))
    backward: bool = False
    zone_index: int = -1
    last_s: float | None = None
    t0: float | None = None
    rows: list[tuple[float, int, float, HrDecision]] = field(default_factory=list)
    strap_connected: bool = True

    def begin_step(self, step: Any) -> None:
        self.backward = step.kind.is_backward
        self.coach.begin_step(ZONE if step.index == self.zone_index else None, step.target_kmh)

    def decide(self, now_s: float, commanded_kmh: float, bounds: SpeedBounds) -> HrDecision:
        assert self.treadmill is not None
        if self.t0 is None:
            self.t0 = now_s
        belt = self.treadmill.belt_speed_kmh
        if self.last_s is not None:
            self.model.advance(now_s - self.last_s, belt, 0.0, self.backward)
        self.last_s = now_s
        bpm = round(self.model.heart_rate_bpm)
        decision = self.coach.update(now_s, HrSample(bpm, True, now_s), commanded_kmh, bounds)
        self.rows.append((now_s - self.t0, bpm, belt, decision))
        return decision


def zone_run() -> tuple[Run, Person]:
    steps = plan_steps(PLAN)
    person = Person(zone_index=next(s.index for s in steps if s.kind is SegmentKind.BACKWARD_WALK))

    async def meet(treadmill: SimTreadmill, controller: SessionController) -> None:
        person.treadmill = treadmill
        await asyncio.sleep(0)

    return run_session(steps, during=meet, heart=person), person


def _reversals(speeds: list[float]) -> int:
    moves = [b - a for a, b in itertools.pairwise(speeds) if abs(b - a) > 1e-9]
    return sum(1 for a, b in itertools.pairwise(moves) if (a > 0) != (b > 0))


def test_through_the_controller_the_pulse_settles_into_the_zone_without_overshoot_or_hunting() -> (
    None
):
    run, person = zone_run()
    assert run.summary is not None
    assert run.summary.completed
    backward_from = next(e.t for e in run.of("segment") if e.kind is SegmentKind.BACKWARD_WALK)
    rows = [r for r in person.rows if r[0] >= backward_from]
    first_in = next(r for r in rows if r[3].zone_state is ZoneState.IN)
    assert first_in[0] - backward_from <= 5 * 60  # within a few minutes
    after = [r for r in rows if r[0] >= first_in[0]]
    assert all(ZONE.low - 1 <= bpm <= ZONE.high for _, bpm, _, _ in after)
    writes = [w for w in run.writes if w.opcode == SET_SPEED and w.t >= backward_from]
    assert max(w.kmh for w in writes) <= CAP  # caps win
    assert _reversals([w.kmh for w in writes if w.kmh > 1.0]) <= 1  # no hunting


if __name__ == "__main__":
    run, person = zone_run()
    print(f"{'t s':>6} {'bpm':>4} {'belt km/h':>9} {'goal':>5}  zone")
    for t, bpm, belt, d in person.rows:
        if int(t) % 30 == 0 and abs(t - int(t)) < 0.6:
            goal = "" if d.goal_kmh is None else f"{d.goal_kmh:.2f}"
            print(f"{t:6.0f} {bpm:4d} {belt:9.2f} {goal:>5}  {d.zone_state or ''}")
