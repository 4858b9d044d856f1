"""Helpers for the round-3 red-team tests (heart rate, dizzy stop, check-in, progression).

The session rig is tests/coach's (controller + real TreadmillLink + simulator on virtual time);
the strap is scripted through the real HR coach (``coach.heart_rate.HeartRateCoach``), so each
test says exactly what the walker's heart does and nothing of the governor is replaced."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "coach"))

# tests/coach's rig, on the path just above
from controller_rig import (
    SET_SPEED,
    STOP_PAUSE,
    RecordingClient,
    Run,
    Write,
    console_keeps_control,
    hold_config,
    plan_steps,
    run_session,
)

from treadcoach.coach.heart_rate import HeartRateCoach, HrDecision, HrSample, HrZone, SpeedBounds

__all__ = [
    "HR_MAX",
    "SET_SPEED",
    "STOP_PAUSE",
    "RecordingClient",
    "Run",
    "ScriptedHeart",
    "Write",
    "console_keeps_control",
    "hold_config",
    "plan_steps",
    "run_session",
]

HR_MAX = 150


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
