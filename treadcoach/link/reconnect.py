"""Reconnect supervision (asyncio shell): a dropped link is reconnected and the belt stopped first.

``Reconnector`` owns what a drop sets going: the reconnect task (attempts with backoff until
``lifecycle.after_failed_attempt`` gives up), the handshake on each new connection (Stop is the
first write, invariant 2; Request Control after it when ``lifecycle.control_after_reconnect``
says so), telling the user when that Stop is slow or never lands, and the exit's wait for a
reconnect under way (``timeouts.exit_wait_left_s``). Its flags are the facts of a stop asked
while the link was down, which only the next connection can act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bleak.exc import BleakError

from treadcoach.errors import LinkError, TreadcoachError
from treadcoach.ftms import Permission, RequestControl
from treadcoach.link import lifecycle
from treadcoach.link import timeouts as t
from treadcoach.link.channel import ControlChannel
from treadcoach.link.events import LinkDownEvent, LinkUpEvent, StopUnconfirmedEvent
from treadcoach.link.intake import Intake
from treadcoach.link.phase import LinkPhase, LinkPhaseMachine
from treadcoach.link.phase import PhaseTrigger as P
from treadcoach.link.runner import CommandRunner, LinkContext
from treadcoach.link.scheduler import StopPolicy

__all__ = ["Reconnector", "Supervision"]

logger = logging.getLogger(__name__)


def _now() -> float:
    return asyncio.get_running_loop().time()


@dataclass(frozen=True, slots=True)
class Supervision:
    """What the reconnector does through its link, each read or called fresh."""

    #: one connect attempt (scan at most the given seconds, connect, set up GATT)
    connect: Callable[[float], Awaitable[None]]
    #: the connection is gone: forget the client, fail the waiters and the queued commands
    forget: Callable[[], None]
    #: the handshake is done: READY
    ready: Callable[[], object]
    #: a task of the link's TaskGroup (None when the group is not running)
    spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]] | None
    reconnect: Callable[[], bool]
    max_reconnect_s: Callable[[], float]


class Reconnector:
    def __init__(
        self,
        link: LinkContext,
        supervision: Callable[[], Supervision],
        phase: LinkPhaseMachine,
        channel: ControlChannel,
        runner: CommandRunner,
        intake: Intake,
    ) -> None:
        self._link, self._supervision = link, supervision
        self._phase, self._channel, self._runner, self._intake = phase, channel, runner, intake
        #: when True, a reconnect requests control but does not stop the belt (the session
        #: says it will take over). Default False: reconnecting stops the belt first.
        self.resume_after_reconnect = False
        #: stop(take_control=True) while the link was down: the reconnect's Stop may ask for
        #: control for it, even after 0xFF
        self.user_stop_pending = False
        #: stop() was called: the session is ending, so no control is asked for later commands
        self.stop_asked = False
        #: the last reconnect's Stop was confirmed (the exit reads it)
        self.stopped_on_reconnect = False
        self._hurry = asyncio.Event()  # leaving: reconnect now, no backoff
        self._attempt_over = asyncio.Event()  # a reconnect attempt ended (up, failed, gave up)
        self._task: asyncio.Task[None] | None = None
        self._running_at_drop = False

    def stop_while_down(self, *, take_control: bool) -> None:
        """``stop()`` on a link that is down: the reconnect stops the belt first thing, and
        does not hand the belt back to the session afterwards."""
        self.stop_asked = True
        self.resume_after_reconnect = False
        # the user asked: the reconnect's Stop may ask for control for it, even after 0xFF
        self.user_stop_pending = self.user_stop_pending or take_control

    def dropped(self, reason: str) -> None:
        """The link dropped (bleak's disconnected callback, or a failed handshake)."""
        self._running_at_drop = self._intake.view.running_or_moving()
        supervision = self._supervision()
        phase = self._phase.fire(P.DROPPED, _now())
        supervision.forget()
        will_retry = lifecycle.retries_after_drop(
            reconnect=supervision.reconnect(),
            supervised=supervision.spawn is not None,
            phase=phase,
        )
        self._intake.emit(LinkDownEvent(reason, will_retry, _now()))
        if not will_retry:
            if phase is LinkPhase.RECONNECTING:
                self._phase.fire(P.GAVE_UP, _now())
                self._intake.end()
            return
        if (self._task is None or self._task.done()) and supervision.spawn is not None:
            self._task = supervision.spawn(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        supervision = self._supervision()
        deadline = _now() + supervision.max_reconnect_s()
        attempt = 0
        while True:
            attempt += 1
            last_error = ""
            try:
                await supervision.connect(lifecycle.reconnect_find_s(_now(), deadline))
            except (TreadcoachError, BleakError, OSError, TimeoutError) as error:
                last_error = str(error) or type(error).__name__
                logger.info(
                    "%s: reconnect attempt %d failed: %s", self._link.name(), attempt, last_error
                )
            else:
                stopped = await self._after_reconnect()
                if self._phase.phase is LinkPhase.RESTORING:
                    self.stopped_on_reconnect = stopped
                    supervision.ready()
                    self._attempt_over.set()
                    self._intake.emit(LinkUpEvent(True, self._running_at_drop, stopped, _now()))
                    return
                last_error = "the link dropped again during the reconnect handshake"
            self._phase.fire(P.FAILED, _now())
            self._attempt_over.set()
            match lifecycle.after_failed_attempt(attempt, _now(), deadline):
                case lifecycle.GiveUp():
                    self._give_up(attempt, supervision.max_reconnect_s(), last_error)
                    return
                case lifecycle.Backoff(delay_s=delay_s):
                    await self._back_off(delay_s)

    def _give_up(self, attempts: int, within_s: float, last_error: str) -> None:
        self._intake.emit(
            LinkDownEvent(
                f"gave up reconnecting after {attempts} attempts in {within_s:g} s: {last_error}",
                False,
                _now(),
            )
        )
        if self._phase.phase is LinkPhase.RECONNECTING:
            self._phase.fire(P.GAVE_UP, _now())
        self._intake.end()
        self._attempt_over.set()

    async def _back_off(self, delay_s: float) -> None:
        if self._hurry.is_set():
            # leaving: no long backoff, but never a busy loop of instant failures either
            await asyncio.sleep(t.RECONNECT_BACKOFF_FIRST_S)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s):
                await self._hurry.wait()

    async def _after_reconnect(self) -> bool:
        """The first write on a new connection is Stop (invariant 2; a 0x05 answer leads to
        Request Control, then Stop again), then Request Control for what follows. True if the
        belt is known stopped; if not, the user is told (``StopUnconfirmedEvent``)."""
        stopped = False
        if not self.resume_after_reconnect:
            stopped = await self._stop_first()
        wants_control = lifecycle.control_after_reconnect(
            mode=self._link.profile().request_control,
            control_lost=self._channel.permission is Permission.LOST,
            stop_asked=self.stop_asked,
            has_control=self._channel.cp.has_control,
        )
        if wants_control and self._phase.gatt_up:
            try:
                await self._channel.round_trip(RequestControl(), self._link.command_timeout_s())
            except LinkError as error:
                logger.warning(
                    "%s: Request Control after reconnect failed: %s", self._link.name(), error
                )
        return stopped

    async def _stop_first(self) -> bool:
        take_control, self.user_stop_pending = self.user_stop_pending, False
        why = ""
        try:
            async with asyncio.TaskGroup() as group:
                stopping = group.create_task(
                    self._runner.stop(StopPolicy.RECONNECT, take_control=take_control)
                )
                group.create_task(self._say_if_stop_is_slow(stopping))
            view, as_pause = self._intake.view, self._runner.stop_as_pause
            if not lifecycle.stop_took(view.belt.running, as_pause=as_pause):
                if as_pause and not view.standing_still(_now()):
                    why = "Pause went in Stop's place and the belt is not seen standing still"
                elif not as_pause:
                    why = "the machine acknowledged it before and ran on"
        except* TreadcoachError as errors:
            error = errors.exceptions[0]
            logger.warning("%s: Stop after reconnect failed: %s", self._link.name(), error)
            why = str(error) or type(error).__name__
        if why and self._phase.gatt_up:
            self._intake.emit(
                StopUnconfirmedEvent(
                    f"Stop after reconnecting to {self._link.name()} was not confirmed: {why}",
                    _now(),
                )
            )
        return not why

    async def _say_if_stop_is_slow(self, stopping: asyncio.Task[None]) -> None:
        """The reconnect's Stop keeps being retried; if it has not landed after a moment, the
        user hears it now (the belt may be running), not only when the retries run out."""
        done, _ = await asyncio.wait({stopping}, timeout=t.RECONNECT_STOP_WARN_S)
        if not done and self._phase.gatt_up:
            self._intake.emit(
                StopUnconfirmedEvent(
                    f"{self._link.name()} has not accepted Stop since reconnecting; still "
                    "trying. If the belt is running, use the treadmill's own stop button",
                    _now(),
                )
            )

    async def wait_when_leaving(self) -> bool:
        """Leaving while down: hurry the reconnect and wait for it (``exit_wait_left_s``),
        woken at each attempt's end to ask again whether one is under way, because coming
        back stops the belt and nobody else will once we are gone. True when it came back and
        its Stop was confirmed."""
        self.resume_after_reconnect = False
        self._hurry.set()
        began = _now()
        while self._phase.reconnecting:
            left = t.exit_wait_left_s(
                _now() - began,
                self._phase.connect_s,
                attempt_under_way=self._phase.attempt_under_way,
            )
            if left <= 0.0:
                break
            self._attempt_over.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._attempt_over.wait()
        return self._phase.ready and self.stopped_on_reconnect
