"""The command side of the link (asyncio shell): the user's commands into the queue.

``CommandDesk`` is the queue's entry end (the worker in ``runner.py`` is the other): it checks
that a command may be taken now (``lifecycle.refuse_command``), works out what goes on the wire
(``ranges.speed_target``, ``ranges.snap``), coalesces targets, moves the stop epoch for Stop
and Pause (``scheduler.CommandQueue``), and fails the tickets the queue drops. Before Start it
waits for the belt belief to decide (``Intake.learn_belt_state``): Start is never sent to a
running belt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from treadcoach.errors import CommandSuperseded, ControlLost, ControlRejected, LinkError
from treadcoach.ftms import (
    ControlRequest,
    Permission,
    RequestControl,
    SetTargetInclination,
    SetTargetSpeed,
    StartResume,
    StopPause,
)
from treadcoach.ftms.enums import OpCode, ResultCode, StopPauseParam
from treadcoach.link import lifecycle
from treadcoach.link import timeouts as t
from treadcoach.link.channel import ControlChannel, mark_retrieved
from treadcoach.link.connect import Connection
from treadcoach.link.events import ControlLostEvent
from treadcoach.link.intake import Intake
from treadcoach.link.phase import LinkPhaseMachine
from treadcoach.link.ranges import snap, speed_target
from treadcoach.link.runner import CommandRunner, Future
from treadcoach.link.scheduler import CommandQueue, Entry

__all__ = ["CommandDesk"]

logger = logging.getLogger(__name__)


class CommandDesk:
    def __init__(
        self,
        conn: Connection,
        phase: LinkPhaseMachine,
        channel: ControlChannel,
        jobs: CommandQueue[Future],
        runner: CommandRunner,
        intake: Intake,
        command_timeout_s: Callable[[], float],
    ) -> None:
        self._conn, self._phase, self._channel = conn, phase, channel
        self._jobs, self._runner, self._intake = jobs, runner, intake
        self._command_timeout_s = command_timeout_s

    # --- the commands ---------------------------------------------------------------------------

    async def request_control(self) -> None:
        self.check(needs_control=False)
        await self.submit(RequestControl())

    async def start(self) -> bool:
        self.check()
        # A Stop or Pause from now on cancels this Start, even one that lands while we wait
        # to learn the belt's state (the job carries the epoch of the call, not of the queue).
        epoch = self._jobs.stop_epoch
        toggles = self._conn.profile.start_toggles
        await self._intake.learn_belt_state(
            toggles=toggles,
            timeout_s=t.START_STATE_WAIT_S if toggles else self._command_timeout_s(),
        )
        if self._intake.view.belt.running:
            logger.info("%s: belt already running; Start not sent", self._conn.name)
            return False
        entry = self._enqueue(StartResume(), None, epoch=epoch)
        await asyncio.shield(entry.ticket)
        return not entry.skipped

    async def pause(self) -> None:
        self.check()
        self.supersede("Pause")
        await self.submit(StopPause(StopPauseParam.PAUSE))

    async def set_speed(self, kmh: float, ceiling_kmh: float | None) -> float:
        conn = self._conn
        if not conn.profile.speed_control:
            raise ControlRejected(
                conn.address,
                OpCode.SET_TARGET_SPEED,
                ResultCode.NOT_SUPPORTED,
                f"{conn.name} does not accept speed targets (devices.toml: speed_control = false)",
            )
        self.check()
        target = speed_target(
            kmh, conn.speed_range, conn.profile, ceiling_kmh=ceiling_kmh, machine=conn.name
        )
        return await self._coalesce(SetTargetSpeed(target.wire), target.commanded_kmh)

    async def set_incline(self, pct: float) -> float:
        self.check()
        r = self._conn.incline_range
        value = snap(pct, r.min_pct, r.max_pct, r.increment_pct)
        return await self._coalesce(SetTargetInclination(value), value)

    # --- the queue's entry end -----------------------------------------------------------------

    async def submit(self, request: ControlRequest, value: float | None = None) -> float | None:
        return await asyncio.shield(self._enqueue(request, value).ticket)

    async def _coalesce(
        self, request: SetTargetSpeed | SetTargetInclination, value: float
    ) -> float:
        entry = self._jobs.coalesce(request, value)
        if entry is None:
            entry = self._enqueue(request, value)
        result = await asyncio.shield(entry.ticket)
        assert result is not None
        return result

    def _enqueue(
        self, request: ControlRequest, value: float | None, *, epoch: int | None = None
    ) -> Entry[Future]:
        future: Future = asyncio.get_running_loop().create_future()
        future.add_done_callback(mark_retrieved)
        entry = self._jobs.push(request, future, value, epoch=epoch)
        self._runner.ready.set()
        return entry

    def drop_queued(self, error: Callable[[], Exception]) -> None:
        """Every queued command fails with a fresh ``error()`` (the link dropped or closes)."""
        for entry in self._jobs.drop_all():
            if not entry.ticket.done():
                entry.ticket.set_exception(error())

    def supersede(self, by: str) -> None:
        """A Stop or Pause: the stop epoch moves, every command asked before it is dropped."""
        for entry in self._jobs.bump_epoch():
            if not entry.ticket.done():
                entry.ticket.set_exception(
                    CommandSuperseded(self._conn.address, entry.request.opcode, by)
                )

    def check(self, *, needs_control: bool = True) -> None:
        """Raise the typed error for a command that may not be taken now."""
        refusal = lifecycle.refuse_command(
            phase=self._phase.phase,
            reconnecting=self._phase.reconnecting,
            control_lost=self._channel.permission is Permission.LOST,
            needs_control=needs_control,
        )
        if refusal is lifecycle.Refusal.CONTROL_LOST:
            raise self.control_lost_error()
        if refusal is not None:
            raise LinkError(
                self._conn.address,
                refusal.value.replace("the link", f"the link to {self._conn.name}", 1),
            )

    def lose_control(self) -> None:
        """0xFF (``ControlChannel``'s ``on_lost``): nothing queued is sent, the session hears."""
        logger.warning("%s: control permission lost (console or another app)", self._conn.name)
        self.drop_queued(self.control_lost_error)
        self._intake.emit(ControlLostEvent(asyncio.get_running_loop().time()))

    def control_lost_error(self) -> ControlLost:
        return ControlLost(
            self._conn.address,
            f"control of {self._conn.name} was taken at the console or by another app; "
            "commands are refused until control is requested again",
        )
