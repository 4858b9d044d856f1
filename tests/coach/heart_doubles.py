"""The scripted heart-rate strap the controller tests and the red team share: a HeartPort whose
pulse is a function of session time, decided by the real ``HeartRateCoach``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from treadcoach.coach.heart_rate import HeartRateCoach, HrDecision, HrSample, HrZone, SpeedBounds

__all__ = ["HR_MAX", "MPH_PLAN", "ScriptedHeart"]

HR_MAX = 150

#: a backward walk of 1.6 mph (2.57 km/h): between two of a km/h belt's 0.1 steps, as every mph
#: plan is; the HR ceiling's steps down from it (2.47, 2.37 ...) are off the grid too
MPH_PLAN = """
name = "mph"
title = "mph walk"
units = "mph"

[[segments]]
kind = "warmup"
duration = 30
speed = 1.6

[[segments]]
kind = "backward_walk"
duration = 200
speed = 1.6
"""


class ScriptedHeart:
    """A strap whose pulse at session time ``t`` is ``bpm(t)`` (None: nothing new arrives, the
    last sample goes stale); ``stamp(now)`` is the sample's arrival stamp (default: now).
    Every decision is kept with the time it was made and the bounds it was given."""

    strap_connected = True

    def __init__(
        self,
        bpm: Callable[[float], int | None],
        zones: dict[int, HrZone] | None = None,
        *,
        hr_max: float = HR_MAX,
        stamp: Callable[[float], float] | None = None,
    ) -> None:
        self.coach = HeartRateCoach(hr_max)
        self.bpm = bpm
        self.zones = zones or {}
        self.stamp = stamp or (lambda now: now)
        self.t0: float | None = None
        self.latest: HrSample | None = None
        self.decisions: list[tuple[float, HrDecision, SpeedBounds]] = []

    def begin_step(self, step: Any) -> None:
        self.coach.begin_step(self.zones.get(step.index), step.target_kmh)

    def decide(self, now_s: float, commanded_kmh: float, bounds: SpeedBounds) -> HrDecision:
        if self.t0 is None:
            self.t0 = asyncio.get_running_loop().time()
        t = now_s - self.t0
        bpm = self.bpm(t)
        if bpm is not None:
            self.latest = HrSample(bpm, True, self.stamp(now_s))
        decision = self.coach.update(now_s, self.latest, commanded_kmh, bounds)
        self.decisions.append((t, decision, bounds))
        return decision

    def limit_at(self, t: float) -> float | None:
        """The ceiling's limit in force at session time ``t`` (the last decision before it)."""
        before = [d for at, d, _ in self.decisions if at <= t]
        return before[-1].limit_kmh if before else None
