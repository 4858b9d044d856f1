"""The speed governor, pure: where the commanded speed goes next, and what a step lets it be.

The controller's governor task sleeps, asks :func:`next_speed` for the next command and clamps
it into the step's :func:`speed_bounds` before handing it to the link (which snaps it to the
device's increment without ever going above the ceiling, DESIGN invariant 1). Ramps are what a
person on the belt feels (invariant 4): a change of speed is a ramp, never a jump -- except
downwards into a lower cap, where the cap is commanded at once and the belt's own deceleration
does the slowing (a command above a cap is never allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Ramp", "SpeedBounds", "clamp", "next_speed", "settled", "speed_bounds"]

#: below this the commanded speed counts as at its goal (float noise, not a speed)
SETTLED_KMH = 1e-6


@dataclass(frozen=True, slots=True)
class Ramp:
    up_kmh_per_s: float = 1.0
    down_kmh_per_s: float = 2.0
    interval_s: float = 1.0  # one command per interval while ramping


@dataclass(frozen=True, slots=True)
class SpeedBounds:
    """The range a command within one step may take."""

    floor_kmh: float  # the belt's minimum (0 when unknown)
    ceiling_kmh: float  # the step's target, which is already capped (invariant 1)


def speed_bounds(
    target_kmh: float, safety_cap_kmh: float, belt_min_kmh: float | None
) -> SpeedBounds:
    """Bounds for a step whose (capped) target is ``target_kmh``.

    A belt that cannot run as slowly as the target (a turnaround at 0.5 km/h on a belt whose
    minimum is 0.8) runs at its minimum when that is still within the step's safety cap: clamp,
    never reject. A minimum above the cap is refused before the session starts.
    """
    ceiling = target_kmh
    if belt_min_kmh is not None and ceiling < belt_min_kmh <= safety_cap_kmh:
        ceiling = belt_min_kmh
    return SpeedBounds(belt_min_kmh or 0.0, ceiling)


def clamp(kmh: float, bounds: SpeedBounds) -> float:
    return min(max(kmh, bounds.floor_kmh), bounds.ceiling_kmh)


def next_speed(commanded_kmh: float, goal_kmh: float, ramp: Ramp) -> float:
    """One ramp step from ``commanded_kmh`` toward ``goal_kmh`` (never past it)."""
    if goal_kmh > commanded_kmh:
        return min(goal_kmh, commanded_kmh + ramp.up_kmh_per_s * ramp.interval_s)
    return max(goal_kmh, commanded_kmh - ramp.down_kmh_per_s * ramp.interval_s)


def settled(commanded_kmh: float, goal_kmh: float) -> bool:
    return abs(goal_kmh - commanded_kmh) < SETTLED_KMH
