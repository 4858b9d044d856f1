"""The control point over one bleak connection: write a request, wait for its indication.

A thin asyncio shell around ``treadcoach.ftms.ControlPoint``, which owns the two facts here --
control permission, and which requests are in flight. The channel adds only what needs a loop:
the future each written request waits on (keyed by the ControlPoint's own pending entries, and
dropped whenever it drops them), the timeout, and the translation of every failure into a
typed ``LinkError``. It never retries: what to do after an answer is ``scheduler.py``'s call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError

from treadcoach.errors import CommandTimeout, ControlLost, LinkError, LocalFtmsError
from treadcoach.ftms import (
    CommandFailed,
    CommandSucceeded,
    ControlEvent,
    ControlPermissionLost,
    ControlPoint,
    ControlRequest,
    MachineStatus,
    Permission,
    RequestControl,
    UnexpectedResponse,
)
from treadcoach.ftms.enums import OpCode, ResultCode

__all__ = ["ControlChannel", "mark_retrieved", "opname", "result_text"]

logger = logging.getLogger(__name__)


def opname(opcode: int) -> str:
    try:
        return OpCode(opcode).name
    except ValueError:
        return f"0x{opcode:02X}"


def result_text(result: int) -> str:
    try:
        return f"0x{result:02X} ({ResultCode(result).name.lower().replace('_', ' ')})"
    except ValueError:
        return f"0x{result:02X}"


def mark_retrieved(future: asyncio.Future[Any]) -> None:
    # A future whose waiter went away leaves nobody to read its error: read it here.
    if not future.cancelled():
        future.exception()


class ControlChannel:
    """Requests out, indications in, for the connection given by ``attach``."""

    def __init__(
        self,
        *,
        name: Callable[[], str],
        address: Callable[[], str | None],
        lost_error: Callable[[], ControlLost],
        on_lost: Callable[[], None],
        on_accepted: Callable[[ControlRequest, int | None], None],
        news: Callable[[], int],
    ) -> None:
        self.cp = ControlPoint()
        self._name, self._address, self._lost_error, self._on_lost = (
            name,
            address,
            lost_error,
            on_lost,
        )
        #: the machine accepted a request: told right when its indication arrives, in order
        #: with the notifications around it (model finding 9: applied later, when the writer's
        #: task wakes, "our Pause was accepted" overwrote a console start reported meanwhile)
        self._on_accepted = on_accepted
        #: a count of what the machine reported (``BeltBelief.starts_seen``), taken when each
        #: request is written and handed back with its acceptance
        self._news = news
        self._written: dict[int, int] = {}  # id(request) -> news() when written
        self._answers: dict[int, asyncio.Future[int]] = {}  # id(request) -> its answer
        self._client: BleakClient | None = None
        self._char: BleakGATTCharacteristic | None = None
        #: loop time of the last write (the keep-alive's idea of "quiet")
        self.last_write_at = 0.0

    @property
    def permission(self) -> Permission:
        return self.cp.permission

    def attach(self, client: BleakClient, char: BleakGATTCharacteristic) -> None:
        self._client, self._char = client, char

    def detach(self, error: LinkError) -> None:
        """The connection is gone: every waiter fails with ``error``. Permission belongs to the
        connection -- except "lost": the console still holds the belt after a reconnect, until
        the user asks for control back."""
        self._client = self._char = None
        answers, self._answers = self._answers, {}
        for answer in answers.values():
            if not answer.done():
                answer.set_exception(error)
                answer.add_done_callback(mark_retrieved)
        if self.cp.permission is Permission.LOST:
            self.cp.timeout()
        else:
            self.cp.reset()

    async def round_trip(self, request: ControlRequest, timeout_s: float) -> int:
        """Write ``request`` and wait for its indication; returns the result code."""
        client, char, address = self._client, self._char, self._address()
        if client is None or char is None:
            raise LinkError(address, f"the link to {self._name()} is down")
        try:
            data = self.cp.send(request)
        except LocalFtmsError as error:
            if self.cp.permission is Permission.LOST:
                raise self._lost_error() from error
            raise LinkError(address, str(error)) from error
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        self._answers[id(request)] = answer
        self._written[id(request)] = self._news()
        self.last_write_at = loop.time()
        try:
            async with asyncio.timeout(timeout_s):
                await client.write_gatt_char(char, data, response=True)
                return await answer
        except TimeoutError:
            self.cp.timeout(request)
            raise CommandTimeout(address, request.opcode, timeout_s) from None
        except BleakError as error:
            self.cp.timeout(request)
            raise self._write_failed(request, str(error)) from error
        except asyncio.CancelledError as error:
            self.cp.timeout(request)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled: let it through
            # A Bluetooth stack leaked its own cancellation (bumble does): a failed write, not
            # the end of the task that made it (issue 13).
            raise self._write_failed(request, "the Bluetooth stack cancelled the write") from error
        except BaseException:
            # whatever else ended the wait, the control point stops waiting for it too
            self.cp.timeout(request)
            raise
        finally:
            if self._answers.get(id(request)) is answer:
                del self._answers[id(request)]
                self._written.pop(id(request), None)

    def indication(self, raw: bytes) -> None:
        """One control point indication. Raises FtmsDecodeError on malformed bytes."""
        self._events(self.cp.receive(raw))

    def machine_status(self, status: MachineStatus) -> None:
        self._events(self.cp.machine_status(status))

    def _events(self, events: list[ControlEvent]) -> None:
        for event in events:
            if isinstance(event, (CommandSucceeded, CommandFailed)):
                if isinstance(event, CommandSucceeded):
                    self._on_accepted(event.request, self._written.pop(id(event.request), None))
                result = ResultCode.SUCCESS if isinstance(event, CommandSucceeded) else event.result
                answer = self._answers.pop(id(event.request), None)
                if answer is not None and not answer.done():
                    answer.set_result(int(result))
            elif isinstance(event, ControlPermissionLost):
                self._void_control_requests()
                self._on_lost()
            elif isinstance(event, UnexpectedResponse):
                logger.info("%s: control point answer nobody waits for: %s", self._name(), event)

    def _void_control_requests(self) -> None:
        # A Request Control still out was asked before the console took over: its answer must
        # not hand control back (only the user's C may, after this). Forget it, fail its waiter.
        for request in self.cp.pending:
            if isinstance(request, RequestControl):
                self.cp.timeout(request)
                answer = self._answers.pop(id(request), None)
                if answer is not None and not answer.done():
                    answer.set_exception(self._lost_error())

    def _write_failed(self, request: ControlRequest, why: str) -> LinkError:
        return LinkError(
            self._address(), f"writing {opname(request.opcode)} to {self._name()} failed: {why}"
        )
