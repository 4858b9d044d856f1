"""Heart rate into the governor: what the controller makes of a :class:`HeartPort`'s decision.

The HR rules themselves are ``coach.heart_rate``'s (the ceiling's limit, the zone's goal, the
hold on a stale strap); this module is the one place that turns a decision into the speed the
governor ramps toward, the cap a command may reach, the screen's fields, the ``heart_rate``
event (on change only) and the ``hr_ceiling`` stop. No clock and no asyncio: the controller
passes the loop's ``now`` (the strap's clock too) and the step, and acts on what comes back.

How a decision shapes the goal (:func:`steer`), in order, so the caps always win:

1. the plan's goal (the step's target, or what the user lowered it to; 0 once stopping);
2. a zone goal replaces it inside [belt minimum, step cap] -- but never above a speed the user
   lowered it to, and never on a turnaround (its speed is for turning, not for the pulse);
3. the ceiling's ``limit_kmh`` bounds it (never command above the limit);
4. ``holding`` (the strap is stale, off the skin or sends 0): the HR coach already holds its
   zone goal and limit at the commanded speed; while a zone steers, the goal is also never
   above the speed commanded now (unless the belt is not running: a resume starts it again).
   Plan speeds of steps without a zone run as written: a strap failing only suspends what the
   heart rate drives, and never stops the belt;
5. the command ceiling is the step's target, raised to the step's safety cap only while a zone
   steers, and lowered to the ceiling's ``limit_kmh`` (:func:`ceiling`); the link never snaps
   above it, so no write is above the HR limit after the belt's rounding either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from treadcoach.coach import governor
from treadcoach.coach.events import HeartRateStatus
from treadcoach.coach.heart_rate import HrDecision, SpeedBounds
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.ports import HeartPort, StepLike

__all__ = ["Pulse", "Status", "ceiling", "hr_bounds", "steer", "stop_detail"]

#: below this a speed counts as the same (float noise, not a speed)
_SAME_KMH = 1e-6


def hr_bounds(step: StepLike, belt_min_kmh: float | None) -> SpeedBounds:
    """Where HR may move the speed in ``step``: [belt minimum, the step's safety cap]."""
    floor = governor.step_bounds(step, belt_min_kmh).floor_kmh
    return SpeedBounds(floor, governor.safety_cap(step))


def _zone_steers(decision: HrDecision | None, step: StepLike) -> bool:
    return (
        decision is not None
        and decision.goal_kmh is not None
        and step.kind is not SegmentKind.TURNAROUND
    )


def steer(
    plan_goal_kmh: float, step: StepLike, decision: HrDecision | None, commanded_kmh: float
) -> float:
    """The speed the governor ramps toward (see the module docstring)."""
    if decision is None or plan_goal_kmh <= 0.0:
        return plan_goal_kmh  # no heart rate, or stopping: the plan's own goal
    goal = plan_goal_kmh
    if _zone_steers(decision, step):
        assert decision.goal_kmh is not None
        lowered_by_user = plan_goal_kmh < step.target_kmh - _SAME_KMH
        goal = min(decision.goal_kmh, plan_goal_kmh) if lowered_by_user else decision.goal_kmh
    if decision.limit_kmh is not None:
        goal = min(goal, decision.limit_kmh)
    if decision.holding and commanded_kmh > 0.0 and _zone_steers(decision, step):
        goal = min(goal, commanded_kmh)
    return goal


def ceiling(
    bounds: governor.SpeedBounds, step: StepLike, decision: HrDecision | None
) -> governor.SpeedBounds:
    """The bounds a command may take: the step's, up to its safety cap while a zone steers,
    and never above the HR ceiling's limit.

    The limit has to be part of the ceiling the link is given, not only of the goal: the link
    snaps a target to the belt's grid to the *nearest* step under its ceiling, so a goal of
    2.47 km/h (a limit one 0.1 step below an mph speed) would be written as 2.5 -- above the
    limit. Under this ceiling it rounds down (and on an mph machine, down in mph)."""
    top = bounds.ceiling_kmh
    if _zone_steers(decision, step):
        top = max(top, governor.safety_cap(step))
    if decision is not None and decision.limit_kmh is not None:
        top = min(top, decision.limit_kmh)
    if top == bounds.ceiling_kmh:
        return bounds
    return governor.SpeedBounds(bounds.floor_kmh, top)


def stop_detail(decision: HrDecision) -> str | None:
    """The ``hr_ceiling`` stop's detail when the decision says stop, else None."""
    if not decision.stop:
        return None
    bpm = "?" if decision.bpm is None else str(decision.bpm)
    ceiling_bpm = "?" if decision.ceiling_bpm is None else f"{decision.ceiling_bpm:g}"
    seconds = f"{decision.above_for_s:.0f}" if decision.above_for_s is not None else "?"
    return f"heart rate {bpm} above {ceiling_bpm} for {seconds} s"


@dataclass(frozen=True, slots=True)
class Status:
    """What the ``heart_rate`` event reports; a new event goes out when this changes."""

    strap_connected: bool
    signal: str
    zone: tuple[int, int] | None
    zone_state: str | None
    holding: bool
    above_ceiling: bool

    @classmethod
    def of(cls, strap_connected: bool, decision: HrDecision) -> Status:
        zone = decision.zone
        return cls(
            strap_connected=strap_connected,
            signal=decision.signal.value,
            zone=(round(zone[0]), round(zone[1])) if zone is not None else None,
            zone_state=decision.zone_state.value if decision.zone_state is not None else None,
            holding=decision.holding,
            above_ceiling=decision.above_ceiling,
        )

    def fields(self) -> dict[str, Any]:
        """The SessionState fields it fills."""
        return {
            "strap_connected": self.strap_connected,
            "hr_signal": self.signal,
            "hr_zone_bpm": self.zone,
            "hr_zone_state": self.zone_state,
            "hr_holding": self.holding,
        }


class Pulse:
    """One session's heart rate as the controller sees it: the port and its latest decision."""

    def __init__(self, heart: HeartPort) -> None:
        self.heart = heart
        self.decision: HrDecision | None = None
        self._shown: Status | None = None

    def begin_step(self, step: StepLike) -> None:
        self.heart.begin_step(step)

    def decide(
        self, now_s: float, commanded_kmh: float, step: StepLike, belt_min_kmh: float | None
    ) -> bool:
        """Ask the port; True when what the governor should do may have changed."""
        before = self.decision
        self.decision = decision = self.heart.decide(
            now_s, commanded_kmh, hr_bounds(step, belt_min_kmh)
        )
        if before is None:
            return True
        return (decision.goal_kmh, decision.limit_kmh, decision.holding) != (
            before.goal_kmh,
            before.limit_kmh,
            before.holding,
        )

    def status_change(self, t: float) -> HeartRateStatus | None:
        """The ``heart_rate`` event when the status changed since the last one, else None."""
        if self.decision is None:
            return None
        status = Status.of(self.heart.strap_connected, self.decision)
        if status == self._shown:
            return None
        self._shown = status
        low, high = status.zone if status.zone is not None else (None, None)
        return HeartRateStatus(
            t=t,
            strap_connected=status.strap_connected,
            signal=status.signal,
            bpm=self.decision.bpm,
            zone_low_bpm=low,
            zone_high_bpm=high,
            zone_state=status.zone_state,
            holding=status.holding,
            above_ceiling=status.above_ceiling,
            limit_kmh=self.decision.limit_kmh,
        )

    def fields(self) -> dict[str, Any]:
        if self.decision is None:
            return {"strap_connected": self.heart.strap_connected}
        return Status.of(self.heart.strap_connected, self.decision).fields()

    def bpm(self, belt_bpm: int | None) -> int | None:
        """The pulse to show: the strap's trusted one while the strap is connected (None while
        it is not trusted -- never the belt's mixed in), else the belt's own."""
        if not self.heart.strap_connected:
            return belt_bpm
        return self.decision.bpm if self.decision is not None else None
