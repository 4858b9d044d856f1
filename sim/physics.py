"""Belt physics and a simple runner: pure arithmetic advanced by ``dt`` seconds, no clock.

The caller owns time (the simulated treadmill advances these from ``loop.time()``), so the same
physics runs on real, scaled and virtual time and is tested without a loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import SimConfigError

__all__ = ["Belt", "Runner"]


def _approach(value: float, target: float, up_rate: float, down_rate: float, dt: float) -> float:
    if value < target:
        return min(target, value + up_rate * dt)
    return max(target, value - down_rate * dt)


@dataclass(slots=True)
class Belt:
    """The motor: speed ramps toward the target at a bounded rate, as a home treadmill's does.

    Defaults are like a home treadmill: about 0.8 km/h per second up and down (0 to 4.83 km/h,
    3 mph, in about 6 s), incline 0.5 % per second.
    """

    accel_kmh_per_s: float = 0.8
    decel_kmh_per_s: float = 0.8
    incline_rate_pct_per_s: float = 0.5
    speed_kmh: float = 0.0
    target_kmh: float = 0.0
    incline_pct: float = 0.0
    target_incline_pct: float = 0.0
    distance_m: float = 0.0

    def __post_init__(self) -> None:
        for setting in ("accel_kmh_per_s", "decel_kmh_per_s", "incline_rate_pct_per_s"):
            rate = getattr(self, setting)
            if not (math.isfinite(rate) and rate > 0):
                raise SimConfigError(setting, f"must be a positive number, not {rate!r}")

    def advance(self, dt: float) -> None:
        """Move ``dt`` seconds on. Distance is integrated exactly over the linear ramp."""
        if dt <= 0:
            return
        v0 = self.speed_kmh
        gap = self.target_kmh - v0
        rate = self.accel_kmh_per_s if gap > 0 else self.decel_kmh_per_s
        ramp_s = min(dt, abs(gap) / rate)
        v1 = _approach(v0, self.target_kmh, self.accel_kmh_per_s, self.decel_kmh_per_s, dt)
        # the trapezoid of the ramp, then the steady part at the reached speed
        self.distance_m += ((v0 + v1) / 2 * ramp_s + v1 * (dt - ramp_s)) / 3.6
        self.speed_kmh = v1
        self.incline_pct = _approach(
            self.incline_pct,
            self.target_incline_pct,
            self.incline_rate_pct_per_s,
            self.incline_rate_pct_per_s,
            dt,
        )

    def stop_now(self) -> None:
        """The safety key: the motor is cut, the belt stops at once."""
        self.speed_kmh = 0.0
        self.target_kmh = 0.0

    @property
    def moving(self) -> bool:
        return self.speed_kmh > 0.0


@dataclass(slots=True)
class Runner:
    """A person on the belt whose heart rate follows the effort with a first-order lag.

    Steady-state heart rate rises with speed (and incline), capped at ``max_bpm``; it moves toward
    that level with time constant ``tau_s``, like a real pulse settling over half a minute or so.
    """

    rest_bpm: float = 70.0
    max_bpm: float = 185.0
    bpm_per_kmh: float = 9.0
    bpm_per_incline_pct: float = 2.0
    tau_s: float = 30.0
    heart_rate_bpm: float = 70.0

    def advance(self, dt: float, speed_kmh: float, incline_pct: float) -> None:
        if dt <= 0:
            return
        effort = self.bpm_per_kmh * speed_kmh + self.bpm_per_incline_pct * max(incline_pct, 0.0)
        steady = min(self.max_bpm, self.rest_bpm + effort)
        self.heart_rate_bpm = steady + (self.heart_rate_bpm - steady) * math.exp(-dt / self.tau_s)
