"""What the session controller's tasks share, each fact with one owner.

The controller (``coach.controller``) builds one :class:`SessionContext` and hands it to the
tasks that run a session: the plan walker (``coach.walker``), the belt driver -- the governor
loop and every speed command (``coach.driver``) -- and the reader with the watchdog
(``coach.reader``). Each fact here is written by one of them, named beside it; the others
read it. The pure cores (phases, progress, governor, pulse, turnaround) hold the decisions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from treadcoach.coach import governor, pulse, turnaround
from treadcoach.coach.board import Board
from treadcoach.coach.phases import PhaseMachine
from treadcoach.coach.ports import HeartPort, Link, SessionConfig, StepLike
from treadcoach.coach.progress import Progress
from treadcoach.errors import LinkError
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch

__all__ = ["Over", "SessionContext", "belt_minimum"]

#: a "stopped by user" status this soon after our own Stop or Pause is its echo
OWN_STOP_ECHO_S = 5.0


class Over(Exception):
    """Raised inside a task group to leave it once the session (or its plan) is over."""


def belt_minimum(link: Link | None) -> float | None:
    minimum = getattr(getattr(link, "speed_range", None), "min_kmh", None)
    return float(minimum) if minimum is not None else None


class SessionContext:
    def __init__(
        self,
        steps: Sequence[StepLike],
        config: SessionConfig,
        board: Board,
        stop: Callable[[StopReason, str], None],
        *,
        planned_duration_s: float | None,
        heart: HeartPort | None,
    ) -> None:
        self.steps = list(steps)
        self.config = config
        self.board = board
        self.request_stop = stop  # the controller's: every way out goes through it
        # the pure cores
        self.phases = PhaseMachine()  # fired by the controller and the walker
        self.progress = Progress(
            self.steps,
            countdown_s=config.turnaround_countdown_s,
            planned_total_s=planned_duration_s,
            distance_source=config.distance_source,
        )
        self.odometer = self.progress.odometer  # fed by the reader
        self.gov = governor.Governor(  # the driver's
            governor.Ramp(
                config.ramp_up_kmh_per_s, config.ramp_down_kmh_per_s, config.governor_interval_s
            )
        )
        # heart rate (a strap and the HR coach), or None: no HR rules at all
        self.pulse = pulse.Pulse(heart) if heart is not None else None
        self.watch: BeltWatch | None = None  # created by the controller once connected
        self.link: Link | None = None  # the controller's, while connected
        self.tg: asyncio.TaskGroup | None = None  # the session group, while it runs
        self.announced_index: int | None = None  # the walker's: the step the stream announced
        self.resumes = 0  # the controller's: a turnaround countdown restarts after a resume
        self.turn: turnaround.TurnGate | None = None  # the walker's, while a turnaround runs
        self.own_stop_until = 0.0  # a "stopped by user" status before this is our own echo
        self.completed = False  # the walker's: the plan ran to its end
        # what the tasks wait on
        self.goal_changed = asyncio.Event()
        self.resumed = asyncio.Event()
        self.held = asyncio.Event()
        self.telemetry_seen = asyncio.Event()

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def step(self) -> StepLike | None:
        return self.progress.step

    def next_step(self, step: StepLike) -> StepLike | None:
        return self.steps[step.index + 1] if step.index + 1 < len(self.steps) else None

    def check_live(self) -> None:
        """The plan walker stops short of announcing anything once a stop was requested."""
        if self.phases.stopping:
            raise Over

    def set_goal(self, kmh: float) -> None:
        self.gov.goal_kmh = kmh
        self.goal_changed.set()

    def own_stop_now(self) -> None:
        """We are sending Stop or Pause: the machine's "stopped by user" echo is ours."""
        self.own_stop_until = self.now() + OWN_STOP_ECHO_S

    def commanded(self, kmh: float) -> None:
        if self.watch is not None:
            self.watch.commanded(kmh, now=self.now())

    async def wait_telemetry(self) -> None:
        self.telemetry_seen.clear()
        await self.telemetry_seen.wait()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a one-off command in the session's group; a failed command is a fault."""

        async def guarded() -> None:
            try:
                await coro
            except LinkError as exc:
                self.board.fault("command_failed", str(exc))

        if self.tg is None or self.phases.stopping:
            coro.close()  # the session is over or stopping: nothing left to command
            return
        self.tg.create_task(guarded())
