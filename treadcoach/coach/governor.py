"""The speed governor, pure: where the commanded speed goes next, and what a step lets it be.

The controller's governor task sleeps, asks :func:`next_speed` for the next command and clamps
it into the step's :func:`speed_bounds` before handing it to the link (which snaps it to the
device's increment without ever going above the ceiling, DESIGN invariant 1). Ramps are what a
person on the belt feels (invariant 4): a change of speed is a ramp, never a jump -- except
downwards into a lower cap, where the cap is commanded at once and the belt's own deceleration
does the slowing (a command above a cap is never allowed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from treadcoach.errors import LimitsError

__all__ = [
    "SPEED_REFUSALS_BEFORE_STOP",
    "START_WAITS_BEFORE_STOP",
    "Governor",
    "Ramp",
    "SpeedBounds",
    "check_belt_can_follow",
    "clamp",
    "next_speed",
    "safety_cap",
    "settled",
    "speed_bounds",
    "step_bounds",
]

#: below this the commanded speed counts as at its goal (float noise, not a speed)
SETTLED_KMH = 1e-6
#: refused (or unanswered) speed commands in a row before the session stops: one is a transient
#: fault, retried at the next tick; this many means the machine will not take the plan's speeds
SPEED_REFUSALS_BEFORE_STOP = 3
#: Start not sent because the belt was not seen at rest (``start_toggles`` machines, where Start
#: pauses a running belt): tried again each tick -- each try waits up to the link's
#: START_STATE_WAIT_S (3 s) -- and after this many the session stops
START_WAITS_BEFORE_STOP = 5


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


def safety_cap(step: Any) -> float:
    """The cap that applied to a step (``Step.cap_kmh``), or its target for other steps."""
    cap = getattr(step, "cap_kmh", None)
    return float(cap) if cap is not None and math.isfinite(cap) else float(step.target_kmh)


def step_bounds(step: Any, belt_min_kmh: float | None) -> SpeedBounds:
    return speed_bounds(step.target_kmh, safety_cap(step), belt_min_kmh)


def check_belt_can_follow(steps: Iterable[Any], belt_min_kmh: float | None, device: str) -> None:
    """Before the belt moves: a step whose safety cap is below the belt's minimum speed could
    only be run by exceeding that cap, so the session does not start (LimitsError)."""
    if belt_min_kmh is None:
        return
    for step in steps:
        cap = safety_cap(step)
        if cap < belt_min_kmh:
            raise LimitsError(
                "segment cap",
                f"segment {step.index + 1} ({step.kind.value}) is capped at {cap:g} km/h, but "
                f"{device} cannot run slower than {belt_min_kmh:g} km/h: raise the limit in "
                "devices.toml or pick another plan",
            )


@dataclass(slots=True)
class Governor:
    """The governor's state: the goal, what was last commanded, and the command epoch.

    The shell's governor loop asks :meth:`next_command`, sends it, and reports back with
    :meth:`landed`; everything that changes what the belt should do moves the epoch, so a
    command that was in flight across it does not count.
    """

    ramp: Ramp
    goal_kmh: float = 0.0
    commanded_kmh: float = 0.0
    # Bumped by every new step, pause and control back: a command in flight across one does
    # not overwrite what came after it.
    epoch: int = 0
    belt_started: bool = False
    # refused commands in a row (Start or Set Target Speed); any accepted one resets it
    refusals: int = 0
    # Starts deferred in a row because the belt was not seen at rest
    start_waits: int = 0

    def next_command(self, goal_kmh: float | None = None) -> float | None:
        """The next speed to command toward ``goal_kmh`` (default: :attr:`goal_kmh`; the heart
        rate's shaped goal when a strap coaches), or None when the commanded speed is there."""
        goal = self.goal_kmh if goal_kmh is None else goal_kmh
        if settled(self.commanded_kmh, goal):
            return None
        return next_speed(self.commanded_kmh, goal, self.ramp)

    def landed(self, kmh: float, *, epoch: int, ceiling_kmh: float) -> bool:
        """A command sent at ``epoch`` was accepted; False if something overtook it.

        Never counted above the step's ceiling: from a belt above a cap (the console's speed)
        the first command is the cap itself, and that ramp is then done.
        """
        self.refusals = 0
        if epoch != self.epoch:
            return False
        self.commanded_kmh = min(kmh, ceiling_kmh)
        return True

    def refused(self) -> bool:
        """The machine refused a command (or never answered it): it is retried at the next
        tick. True when that was one refusal too many and the session should stop."""
        self.refusals += 1
        return self.refusals >= SPEED_REFUSALS_BEFORE_STOP

    def start_deferred(self) -> bool:
        """Start was not sent: the belt was not seen at rest yet (it may still coast after a
        pause). Tried again next tick; True when that was one wait too many."""
        self.start_waits += 1
        return self.start_waits >= START_WAITS_BEFORE_STOP

    def started(self) -> None:
        self.belt_started = True
        self.start_waits = 0

    def new_epoch(self) -> None:
        self.epoch += 1

    def belt_paused(self) -> None:
        self.commanded_kmh = 0.0
        self.belt_started = False

    def take_over(self, belt_kmh: float) -> None:
        """Control back from the console: carry on from wherever it left the belt."""
        self.commanded_kmh = belt_kmh
        self.belt_started = False  # the link never sends Start to a belt that already runs
        self.epoch += 1
