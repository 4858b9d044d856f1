"""Where a session is in its plan, pure: the step clock, distance, countdowns, the summary.

Everything here is arithmetic on loop-clock timestamps the controller passes in; nothing sleeps
or reads a clock. The controller's plan walker waits on the loop and asks these objects how far
it has come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.ports import StepLike

__all__ = ["Odometer", "Progress", "StepClock", "planned_step_s"]

#: below the loop clock's resolution: a boundary this close is here
EPSILON_S = 1e-6


def planned_step_s(step: StepLike) -> float:
    if step.duration_s is not None:
        return step.duration_s
    if step.distance_m is not None and step.target_kmh > 0:
        return step.distance_m / (step.target_kmh / 3.6)
    return 0.0


def planned_end_s(step: StepLike) -> float | None:
    """Where a timed step ends on its own step clock (None: it ends on distance or countdown)."""
    if step.kind is SegmentKind.TURNAROUND or step.duration_s is None:
        return None
    return step.duration_s


class StepClock:
    """Active seconds within one step: runs while the belt runs, stops while the plan holds."""

    __slots__ = ("_acc", "_since")

    def __init__(self, now: float, *, running: bool, carried_s: float = 0.0) -> None:
        self._acc = carried_s
        self._since: float | None = now if running else None

    @property
    def running(self) -> bool:
        return self._since is not None

    def elapsed(self, now: float) -> float:
        return self._acc + (now - self._since if self._since is not None else 0.0)

    def pause(self, now: float) -> None:
        self._acc = self.elapsed(now)
        self._since = None

    def resume(self, now: float) -> None:
        if self._since is None:
            self._since = now


class Odometer:
    """Distance from telemetry: integrated from speed (default; some machines report a lifetime
    odometer) or the machine's Total Distance (``source="device"``)."""

    __slots__ = ("_device0", "_last_at", "distance_m", "source", "speed_kmh")

    def __init__(self, source: str = "integrated") -> None:
        self.source = source
        self.distance_m = 0.0
        self.speed_kmh = 0.0
        self._device0: float | None = None
        self._last_at: float | None = None

    def feed(self, speed_kmh: float | None, device_distance_m: float | None, at: float) -> float:
        """One telemetry record; returns the metres gained since the previous one."""
        speed = speed_kmh if speed_kmh is not None else self.speed_kmh
        gained = 0.0
        if self._last_at is not None:
            gained = (self.speed_kmh + speed) / 2 / 3.6 * max(0.0, at - self._last_at)
        if self.source == "device" and device_distance_m is not None:
            if self._device0 is None:
                self._device0 = float(device_distance_m)
            gained = max(0.0, float(device_distance_m) - self._device0 - self.distance_m)
        self.distance_m += gained
        self._last_at = at
        self.speed_kmh = speed
        return gained


@dataclass(frozen=True, slots=True)
class Position:
    """What a renderer shows of the current step."""

    remaining: float | None  # s (timed step) or m (distance step)
    countdown_s: int | None  # whole seconds left in a turnaround's countdown
    fraction: float  # 0..1 through the plan by planned time


class Progress:
    """The plan position: which step, its clock and distance, booked backward time."""

    def __init__(
        self,
        steps: Sequence[StepLike],
        *,
        countdown_s: int,
        planned_total_s: float | None = None,
        distance_source: str = "integrated",
    ) -> None:
        self.steps = list(steps)
        self.countdown_s = countdown_s
        self._before = [0.0]
        for step in self.steps:
            self._before.append(self._before[-1] + planned_step_s(step))
        self.planned_total_s = planned_total_s or self._before[-1]
        self.index = -1
        self.clock = StepClock(0.0, running=False)
        self.odometer = Odometer(distance_source)
        self._step_distance0 = 0.0  # the odometer when the step began
        self._uncounted_m = 0.0  # metres within the step while the plan held
        self.countdown_end: float | None = None  # on the step clock, while counting down
        self.backward_s = 0.0  # booked from finished backward steps
        self.backward_distance_m = 0.0
        self._stopped = False  # the session stopped: nothing after it is backward work

    @property
    def step(self) -> StepLike | None:
        return self.steps[self.index] if 0 <= self.index < len(self.steps) else None

    def _in_backward(self) -> bool:
        step = self.step
        return not self._stopped and step is not None and step.kind.is_backward

    def stop(self, now: float) -> None:
        """The session stops now: book the open step, and count nothing of the run-down as
        backward work (one source of truth with the journal and the FIT file, which count up
        to the stop)."""
        if not self._stopped:
            self.close_step(now)
            self._stopped = True

    def close_step(self, now: float) -> None:
        """Book the finished step's active time (backward time feeds the journal/progression)."""
        if self._in_backward():
            self.backward_s += self.clock.elapsed(now)
        self.clock = StepClock(now, running=False)

    def enter(self, index: int, now: float, *, running: bool, carried_s: float = 0.0) -> None:
        self.index = index
        self.clock = StepClock(now, running=running, carried_s=carried_s)
        self._step_distance0 = self.odometer.distance_m
        self._uncounted_m = 0.0
        self.countdown_end = None

    def telemetry(
        self,
        speed_kmh: float | None,
        device_distance_m: float | None,
        at: float,
        *,
        counts: bool = True,
    ) -> None:
        """One telemetry record. ``counts=False``: the belt moved while the plan held, so the
        metres count for the session but not toward the step."""
        gained = self.odometer.feed(speed_kmh, device_distance_m, at)
        if self._in_backward():
            self.backward_distance_m += gained
        if not counts:
            self._uncounted_m += gained

    @property
    def step_distance_m(self) -> float:
        """Metres covered within the current step."""
        return self.odometer.distance_m - self._step_distance0 - self._uncounted_m

    def elapsed(self, now: float) -> float:
        return self.clock.elapsed(now)

    def open_backward_s(self, now: float) -> float:
        return self.clock.elapsed(now) if self._in_backward() else 0.0

    def overshoot(self, now: float) -> float:
        """How far past its planned end a timed step's clock ran (carried into the next)."""
        step = self.step
        end = planned_end_s(step) if step is not None else None
        return max(0.0, self.clock.elapsed(now) - end) if end is not None else 0.0

    def position(self, now: float) -> Position:
        step = self.step
        if step is None:
            return Position(None, None, 0.0)
        elapsed = self.clock.elapsed(now)
        remaining: float | None
        countdown: int | None = None
        if self.countdown_end is not None:
            remaining = max(0.0, self.countdown_end - elapsed)
            if remaining <= self.countdown_s:
                countdown = int(remaining + 0.999)
        elif step.duration_s is not None:
            remaining = max(0.0, step.duration_s - elapsed)
        elif step.distance_m is not None:
            remaining = max(0.0, step.distance_m - self.step_distance_m)
        else:
            remaining = None
        return Position(remaining, countdown, self._fraction(step, elapsed))

    def _fraction(self, step: StepLike, elapsed: float) -> float:
        if not self.planned_total_s:
            return 0.0
        within = min(elapsed, planned_step_s(step))
        return min(1.0, (self._before[step.index] + within) / self.planned_total_s)
