"""The link's lifetime (asyncio shell): its TaskGroup, entering, and leaving with the belt stopped.

``Lifetime`` owns the link's ``TaskGroup`` and which of its tasks are cancelled on close (the
worker, keep-alive and reconnect; never a Stop, whose caller gets its own answer), and the
connection going (bleak's disconnected callback, handed to ``Reconnector.dropped``). ``enter``
connects, takes control, reaches READY and starts the worker and keep-alive. ``leave`` is the
exit procedure: wait for a reconnect under way (it stops the belt), the parting Stop unless
``lifecycle.exit_stop_needed`` says no, then disconnect and end the event stream; it returns
whether the belt is known stopped (``belt_stopped_on_exit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient
from bleak.exc import BleakError

from treadcoach.errors import ControlRejected, LinkError, TreadcoachError
from treadcoach.ftms import Permission, RequestControl
from treadcoach.ftms.enums import OpCode, ResultCode
from treadcoach.link import gatt, lifecycle
from treadcoach.link.channel import ControlChannel, result_text
from treadcoach.link.commands import CommandDesk
from treadcoach.link.connect import Connection
from treadcoach.link.events import LinkUpEvent
from treadcoach.link.intake import Intake
from treadcoach.link.keepalive import keep_alive
from treadcoach.link.phase import LinkPhase, LinkPhaseMachine
from treadcoach.link.phase import PhaseTrigger as P
from treadcoach.link.reconnect import Reconnector
from treadcoach.link.runner import CommandRunner, Future
from treadcoach.link.scheduler import CommandQueue, StopPolicy

__all__ = ["Lifetime", "Parts", "Waits"]

logger = logging.getLogger(__name__)


def _now() -> float:
    return asyncio.get_running_loop().time()


@dataclass(frozen=True, slots=True)
class Parts:
    """One link's parts, each the owner of its fact or job (wired by ``TreadmillLink``)."""

    phase: LinkPhaseMachine
    channel: ControlChannel
    jobs: CommandQueue[Future]
    intake: Intake
    conn: Connection
    runner: CommandRunner
    desk: CommandDesk
    reconnector: Reconnector


@dataclass(frozen=True, slots=True)
class Waits:
    """The link's configurable waits, read fresh (they are public attributes of the link)."""

    find_s: Callable[[], float]
    command_s: Callable[[], float]
    exit_stop_s: Callable[[], float]


class Lifetime:
    def __init__(self, parts: Parts, waits: Waits) -> None:
        self._parts, self._waits = parts, waits
        self._stack: contextlib.AsyncExitStack | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []  # cancelled on close

    @property
    def started(self) -> bool:
        """The task group runs (from ``enter`` on): tasks can be spawned."""
        return self._tg is not None

    def spawn(
        self, coro: Coroutine[Any, Any, None], what: str, *, cancel_on_close: bool = True
    ) -> asyncio.Task[None]:
        """A task of the link's TaskGroup. The worker, keep-alive and reconnect are cancelled on
        close; a Stop is not (its caller gets the Stop's own answer or error, never a
        cancellation it did not ask for)."""
        assert self._tg is not None
        task = self._tg.create_task(coro, name=f"link {self._parts.conn.name} {what}")
        if cancel_on_close:
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)
        return task

    # --- the connection going ---------------------------------------------------------------

    def disconnected(self, client: BleakClient) -> None:
        """Bleak's disconnected callback: a drop of the current connection is supervised."""
        parts = self._parts
        if client is not parts.conn.client or parts.phase.closing_or_closed:
            return
        parts.reconnector.dropped("the treadmill dropped the Bluetooth link")

    def forget_connection(self) -> None:
        """The connection is gone: forget the client, fail the waiters and queued commands."""
        conn = self._parts.conn
        conn.client = None
        address, name = conn.address, conn.name
        self._parts.channel.detach(LinkError(address, f"the link to {name} dropped"))
        self._parts.desk.drop_queued(lambda: LinkError(address, f"the link to {name} dropped"))

    # --- entering -----------------------------------------------------------------------------

    async def enter(self) -> None:
        parts, conn = self._parts, self._parts.conn
        if self._stack is not None:
            raise LinkError(conn.address, "a TreadmillLink can be entered only once")
        self._stack = contextlib.AsyncExitStack()
        self._tg = await self._stack.enter_async_context(asyncio.TaskGroup())
        parts.phase.fire(P.ENTER, _now())
        try:
            await conn.open(self._waits.find_s())
            if conn.profile.request_control != "never":
                await self._take_control()
            if parts.phase.phase is not LinkPhase.SETTING_UP:
                raise LinkError(conn.address, f"the link to {conn.name} dropped while setting up")
            parts.phase.fire(P.READY, _now())
            self.spawn(parts.runner.work(), "commands")
            if conn.profile.keepalive_s:
                ticks = keep_alive(
                    conn.profile.keepalive_s,
                    conn,
                    parts.phase,
                    parts.channel,
                    queued=lambda: len(parts.jobs),
                    request_control=lambda: parts.desk.submit(RequestControl()),
                )
                self.spawn(ticks, "keep-alive")
            running = bool(parts.intake.view.belt.running)
            parts.intake.emit(LinkUpEvent(False, running, False, _now()))
        except BaseException:
            await self._shutdown()
            raise

    async def _take_control(self) -> None:
        conn = self._parts.conn
        result = await self._parts.channel.round_trip(RequestControl(), self._waits.command_s())
        if result == ResultCode.NOT_SUPPORTED:
            logger.info("%s: Request Control is not supported; going on", conn.name)
        why = lifecycle.control_refused_at_start(result)
        if why is not None:
            raise ControlRejected(
                conn.address,
                OpCode.REQUEST_CONTROL,
                int(result),
                f"{conn.name} refused Request Control with result {result_text(result)}: {why}",
            )

    # --- leaving ------------------------------------------------------------------------------

    async def leave(self) -> bool:
        """The exit procedure; True when the belt is known stopped at the end of it."""
        parts = self._parts
        view = parts.intake.view
        stopped = False
        if parts.phase.reconnecting:
            # Leaving while the link is down: the reconnect stops the belt (timeouts.exit_wait_s)
            stopped = await parts.reconnector.wait_when_leaving()
        self._close()
        try:
            if lifecycle.exit_stop_needed(
                gatt_up=parts.phase.gatt_up,
                standing_still=view.standing_still(_now()),
                control_lost=parts.channel.permission is Permission.LOST,
            ):
                try:
                    async with asyncio.timeout(self._waits.exit_stop_s()):
                        await parts.runner.stop(StopPolicy.EXIT)
                    as_pause = parts.runner.stop_as_pause
                    stopped = lifecycle.stop_took(view.belt.running, as_pause=as_pause)
                except (TreadcoachError, TimeoutError, BleakError) as error:
                    logger.warning(
                        "%s: could not confirm Stop while closing: %s", parts.conn.name, error
                    )
            return stopped or view.standing_still(_now())
        finally:
            await self._shutdown()

    def _close(self) -> None:
        self._parts.phase.fire(P.CLOSE, _now())
        address = self._parts.conn.address
        self._parts.desk.drop_queued(lambda: LinkError(address, "the link is closing"))

    async def _shutdown(self) -> None:
        parts, conn = self._parts, self._parts.conn
        self._close()
        for task in self._tasks:
            task.cancel()
        client, conn.client = conn.client, None
        parts.channel.detach(LinkError(conn.address, "the link closed before the answer came"))
        if client is not None:
            await gatt.disconnect(client, conn.name)
        parts.intake.end()
        if parts.phase.phase is not LinkPhase.CLOSED:
            parts.phase.fire(P.CLOSED, _now())
        stack, self._stack = self._stack, None
        if stack is not None:
            # The body's exception is not handed to the TaskGroup: it would come back wrapped
            # in an ExceptionGroup. A child task's own failure still surfaces here.
            await stack.aclose()
