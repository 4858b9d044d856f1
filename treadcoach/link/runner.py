"""Carrying out the scheduler's decisions (asyncio shell): the command worker, and one Stop.

``scheduler.decide_command`` / ``decide_stop`` say what to do; ``CommandRunner`` does it over the
``ControlChannel`` -- write, wait, sleep -- and asks again with what happened. It holds no state
of its own between requests: the queue, the stop epoch, control permission, the belt belief all
live with their owners and are read fresh for every decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

from treadcoach.errors import (
    BeltStateUnknown,
    CommandSuperseded,
    CommandTimeout,
    ControlLost,
    ControlRejected,
    LinkError,
    StopRefused,
    TreadcoachError,
)
from treadcoach.ftms import ControlRequest, RequestControl, SetTargetSpeed, StopPause
from treadcoach.ftms.enums import OpCode, ResultCode, StopPauseParam
from treadcoach.link.channel import ControlChannel, opname, result_text
from treadcoach.link.observe import MachineView
from treadcoach.link.profile import LinkProfile
from treadcoach.link.scheduler import (
    CommandQueue,
    ControlFirst,
    Decision,
    Done,
    Entry,
    Fail,
    FailReason,
    Outcome,
    PauseInstead,
    Result,
    Retry,
    Send,
    Skip,
    StopPolicy,
    decide_command,
    decide_stop,
)
from treadcoach.link.timeouts import STOP_ATTEMPT_TIMEOUT_S

__all__ = ["STOP_REFUSAL_TOLD_WITHIN_S", "CommandRunner", "Future", "LinkContext", "UserStop"]

logger = logging.getLogger(__name__)

#: At most this long after a user's stop the user is told the machine will not take it: a
#: first Stop whose answer is lost or late, the Stop the link hears refused, the Request
#: Control, the Stop after it, and the late answer of the one before -- each within one
#: attempt's timeout (``scheduler.StopPolicy.USER``), whatever presses came in between
STOP_REFUSAL_TOLD_WITHIN_S: Final = 5 * STOP_ATTEMPT_TIMEOUT_S

Future = asyncio.Future[float | None]


@dataclass(frozen=True, slots=True)
class LinkContext:
    """What the runner reads of its link, each read fresh (the profile and name can change
    once the device is found; GATT comes and goes)."""

    name: Callable[[], str]
    address: Callable[[], str | None]
    profile: Callable[[], LinkProfile]
    command_timeout_s: Callable[[], float]
    gatt_up: Callable[[], bool]
    standing_still: Callable[[], bool]
    lost_error: Callable[[], ControlLost]
    #: tell the user the Stop is not (yet) confirmed (a ``StopUnconfirmedEvent``)
    stop_unconfirmed: Callable[[str], None]


class UserStop:
    """One user stop sequence on the wire and the presses it answers (``stop_into``): each
    press's future, with how many Stops the runner had written when it was asked (order, not
    time: a press in the same instant as a Stop's write, after a console start, came after
    it). A refusal is told to every press at once (also to presses that join later); an
    acceptance answers the presses asked before the accepted Stop was written, and the later
    ones get a sequence of their own."""

    def __init__(self, presses: list[tuple[int, asyncio.Future[None]]]) -> None:
        self.presses = presses
        self.refused: TreadcoachError | None = None
        self.accepted_write: int | None = None  # the accepted Stop's number (1 = the first)

    def join(self, done: asyncio.Future[None], writes_before: int) -> None:
        """Answer ``done`` with this sequence (it is on the wire now)."""
        self.presses.append((writes_before, done))
        if self.refused is not None and not done.done():
            done.set_exception(self.refused)

    def refuse(self, error: TreadcoachError) -> None:
        if self.refused is None:
            self.refused = error
        for _, done in self.presses:
            if not done.done():
                done.set_exception(error)

    def fail(self, error: TreadcoachError) -> None:
        self.refuse(error)

    def succeed(self) -> UserStop | None:
        """The sequence ended well: answer the presses its accepted Stop came after; return
        a sequence for the presses asked after that write, if any."""
        later: list[tuple[int, asyncio.Future[None]]] = []
        for writes_before, done in self.presses:
            if done.done():
                continue
            if self.accepted_write is not None and writes_before >= self.accepted_write:
                later.append((writes_before, done))
            else:
                done.set_result(None)
        return UserStop(later) if later else None


class CommandRunner:
    def __init__(
        self,
        link: LinkContext,
        channel: ControlChannel,
        jobs: CommandQueue[Future],
        view: MachineView,
        running: asyncio.Event,
    ) -> None:
        self._link, self._channel, self._jobs, self._view = link, channel, jobs, view
        self._running = running
        self.ready = asyncio.Event()  # set when a job was queued
        # the user asked for a stop (key, pedal, MQTT, signal) that has not landed yet: until it
        # does, a Stop refused 0x05 may be met with Request Control, also after 0xFF (inv. 3)
        self.user_asked_stop = False
        self._stop_running: asyncio.Future[None] | None = None  # the stop on the wire now
        self._stops: set[asyncio.Future[None]] = set()  # every stop() asked and not over
        # the user's stop sequence under way: later presses join it (``stop_into``)
        self._user_sequence: UserStop | None = None
        self._stop_writes = 0  # Stops written so far (orders presses and writes)
        #: the machine answered Stop "not supported" / "invalid parameter": Pause is written
        #: in its place from then on, and only standstill confirms the belt stopped
        self.stop_as_pause = False

    # --- the worker: one command at a time ----------------------------------------------------

    async def work(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            while (entry := self._jobs.pop()) is not None:
                future = entry.ticket
                if future.done():
                    continue
                try:
                    result = await self.execute(entry)
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and not task.cancelling():
                        # not ours: a leaked cancellation fails this command, not the worker
                        self._fail(future, LinkError(self._address, "the command was cancelled"))
                        continue
                    self._fail(
                        future,
                        LinkError(self._address, "the link closed before the command was sent"),
                    )
                    raise
                except TreadcoachError as error:
                    self._fail(future, error)
                except Exception as error:
                    # A bug: fail the caller too, then end the link's task group (structured).
                    self._fail(future, error)
                    raise
                else:
                    if not future.done():
                        future.set_result(result)

    @staticmethod
    def _fail(future: Future, error: BaseException) -> None:
        if not future.done():
            future.set_exception(error)

    @property
    def _address(self) -> str | None:
        return self._link.address()

    def _decide(self, entry: Entry[Future], last: Result | None, attempt: int) -> Decision:
        return decide_command(
            entry.request,
            last,
            attempt,
            superseded=self._jobs.superseded(entry),
            permission=self._channel.permission,
            belt_running=self._view.belt.running,
            quirks=self._link.profile(),
            belt_known_stopped=self._view.belt.known_stopped,
        )

    async def execute(self, entry: Entry[Future]) -> float | None:
        """Write one command until the scheduler says it is done; None when it was skipped."""
        request, profile, timeout_s = (
            entry.request,
            self._link.profile(),
            self._link.command_timeout_s(),
        )
        attempt = 0
        decision = self._decide(entry, None, attempt)
        if (
            isinstance(decision, Send)
            and isinstance(request, SetTargetSpeed)
            and profile.start_before_speed
            and not self._view.belt.running
        ):
            await self._wait_running(profile.running_wait_s)
            decision = self._decide(entry, None, attempt)
        asked_control = False  # Request Control went out for this attempt
        while True:
            match decision:
                case Send(control_first=control_first) if (
                    control_first is not ControlFirst.NO and not asked_control
                ):
                    result = await self._channel.round_trip(RequestControl(), timeout_s)
                    if control_first is ControlFirst.REQUIRED and result != ResultCode.SUCCESS:
                        raise self.rejected(RequestControl(), result)
                    asked_control = True
                    # a Stop may have landed while it was out: ask again before writing
                    decision = self._decide(entry, None, attempt)
                case Send():
                    asked_control = False
                    result = await self._channel.round_trip(request, timeout_s)
                    decision = self._decide(entry, result, attempt)
                case Retry(delay_s=delay_s):
                    await asyncio.sleep(delay_s)
                    attempt += 1
                    decision = self._decide(entry, None, attempt)
                case Done():
                    # the bookkeeping of the acceptance was done when its indication arrived
                    # (``ControlChannel``'s ``on_accepted``), in order with the notifications
                    return entry.value
                case Skip(reason=reason):
                    name = self._link.name()
                    logger.info("%s: %s not sent: %s", name, opname(request.opcode), reason)
                    entry.skipped = True
                    return None
                case Fail(reason=reason, result=result):
                    raise self._failure(request, reason, result)
                case _:  # pragma: no cover - the Decision union is closed
                    raise AssertionError(decision)

    def _failure(
        self, request: ControlRequest, reason: FailReason, result: Result | None
    ) -> LinkError:
        name = self._link.name()
        match reason:
            case FailReason.SUPERSEDED:
                return CommandSuperseded(self._address, request.opcode, "Stop or Pause")
            case FailReason.CONTROL_LOST:
                return self._link.lost_error()
            case FailReason.BELT_STATE_UNKNOWN:
                return BeltStateUnknown(
                    self._address,
                    f"Start not sent: on {name} Start pauses a running belt, and the belt has "
                    "not been seen standing still",
                )
            case FailReason.REJECTED if isinstance(result, int):
                return self.rejected(request, result)
        return LinkError(self._address, f"the link to {name} is down")

    def rejected(self, request: ControlRequest, result: int) -> ControlRejected:
        return ControlRejected(
            self._address,
            request.opcode,
            int(result),
            f"{self._link.name()} refused {opname(request.opcode)} with result "
            f"{result_text(result)}",
        )

    async def _wait_running(self, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await self._running.wait()
        except TimeoutError:
            logger.info(
                "%s: belt not running after %g s; sending speed anyway",
                self._link.name(),
                timeout_s,
            )

    # --- the stop path --------------------------------------------------------------------------

    async def stop(
        self,
        policy: StopPolicy,
        *,
        take_control: bool = False,
        sequence: UserStop | None = None,
    ) -> None:
        """Stop until the scheduler says it is done (``decide_stop`` under ``policy`` is the
        retry policy). Returns when acknowledged, or when standstill made it unnecessary.

        One stop at a time on the wire: two would interleave their Stops and Request Controls.
        A stop asked while another runs (a user's during the reconnect's, a second key press)
        waits for it and then sends its own; a user's stop lets the one under way ask for
        control from then on."""
        if take_control:
            self.user_asked_stop = True
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stops.add(mine)
        try:
            await self._stop_after_others(policy, sequence)
            if policy is StopPolicy.EXIT:
                # the parting Stop ends only once the stops asked while it ran are over: a
                # user's stop pressed while the session closes (a belt the console started
                # meanwhile) must reach the wire before the link lets go (finding 13)
                others = [f for f in self._stops if f is not mine]
                if others:
                    await asyncio.shield(asyncio.wait(others))
        finally:
            self._stops.discard(mine)
            mine.set_result(None)

    async def _stop_after_others(self, policy: StopPolicy, sequence: UserStop | None) -> None:
        # Wait for the stop under way, then send this request's own: a Stop acknowledged
        # before this request (its answer perhaps late) says nothing about a belt restarted at
        # the console since, so every stop request ends with a Stop written after it.
        while (running := self._stop_running) is not None and not running.done():
            with contextlib.suppress(Exception):  # its caller hears how it went
                await asyncio.shield(running)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._stop_running = done
        try:
            await self._stop_until_done(policy, sequence)
        except BaseException as error:
            if isinstance(error, Exception):
                done.set_exception(error)
            else:
                done.cancel()
            raise
        else:
            done.set_result(None)

    def stop_into(
        self, done: asyncio.Future[None], *, take_control: bool
    ) -> Coroutine[Any, Any, None]:
        """The task for one stop request, counted in the caller's turn: which Stops were
        written before the press is read now, not when the task first runs (a Stop written
        in between answers this press). See :meth:`_stop_into`."""
        return self._stop_into(done, take_control, self._stop_writes)

    async def _stop_into(
        self, done: asyncio.Future[None], take_control: bool, writes_before: int
    ) -> None:
        """One user stop for ``TreadmillLink.stop()``'s caller: its outcome goes to ``done``,
        never to the task group (a refused Stop is the caller's news, not a reason to tear
        the link down).

        A press while the user's stop sequence is under way joins it instead of queueing a
        sequence of its own behind it (finding 14): its refusal is told to every press at
        once, and its retries already write Stop again after this press. Only when that
        sequence's accepted Stop was written before this press does it run a fresh one (a
        belt restarted at the console since must get a Stop written after the press)."""
        running = self._user_sequence
        if take_control and running is not None:
            running.join(done, writes_before)
            self.user_asked_stop = True
            return
        sequence: UserStop | None = UserStop([(writes_before, done)])
        while sequence is not None:
            if take_control:
                self._user_sequence = sequence
            try:
                await self.stop(StopPolicy.USER, take_control=take_control, sequence=sequence)
            except TreadcoachError as error:
                sequence.fail(error)
                return
            except BaseException:
                sequence.fail(
                    LinkError(
                        self._address, f"the link to {self._link.name()} closed while stopping"
                    )
                )
                raise
            finally:
                if self._user_sequence is sequence:
                    self._user_sequence = None
            sequence = sequence.succeed()

    async def _stop_until_done(self, policy: StopPolicy, sequence: UserStop | None) -> None:
        # its own object: answers are matched by identity
        request = StopPause(StopPauseParam.PAUSE if self.stop_as_pause else StopPauseParam.STOP)
        timeout_s = policy.attempt_timeout_s
        attempt = 0
        last_error: LinkError | None = None
        previous: Result | None = None
        loop = asyncio.get_running_loop()
        attempt_at = loop.time()
        decision = self._decide_stop(policy, None, attempt, previous)
        while True:
            match decision:
                case Send(control_first=control_first):
                    attempt_at = loop.time()
                    if control_first is not ControlFirst.NO:
                        with contextlib.suppress(LinkError):
                            await self._channel.round_trip(RequestControl(), timeout_s)
                    result: Result
                    self._stop_writes += 1
                    written = self._stop_writes
                    try:
                        result = await self._channel.round_trip(request, timeout_s)
                    except ControlLost:
                        raise
                    except CommandTimeout as error:
                        last_error, result = error, Outcome.TIMEOUT
                    except LinkError as error:
                        last_error, result = error, Outcome.WRITE_FAILED
                    else:
                        if result != ResultCode.SUCCESS:
                            last_error = self.rejected(request, result)
                        if sequence is not None and result == ResultCode.SUCCESS:
                            sequence.accepted_write = written
                    if sequence is not None and control_first is not ControlFirst.NO:
                        # Not accepted even after Request Control (refused, or no answer in
                        # time): the user hears it now -- they must reach for the treadmill's
                        # own stop button -- not once the whole budget ran out; the retries go
                        # on meanwhile (issue 12 c, finding 14)
                        if result == ResultCode.CONTROL_NOT_PERMITTED:
                            sequence.refuse(self._refused_after_control())
                        elif result is Outcome.TIMEOUT and last_error is not None:
                            sequence.refuse(last_error)
                    previous = result
                    decision = self._decide_stop(policy, result, attempt)
                case Retry(delay_s=delay_s):
                    # the backoff runs from the start of the attempt, not from its answer: over
                    # a real link the answer alone takes a connection event or two, and Stop
                    # attempts must stay at most the backoff apart whatever the latency
                    await asyncio.sleep(max(0.0, attempt_at + delay_s - loop.time()))
                    attempt += 1
                    decision = self._decide_stop(policy, None, attempt, previous)
                case PauseInstead():
                    self.stop_as_pause = True
                    request = StopPause(StopPauseParam.PAUSE)
                    assert isinstance(result, int)
                    self._link.stop_unconfirmed(
                        f"{self._link.name()} does not take Stop (it answered "
                        f"{result_text(result)}); Pause was sent in its place. The belt counts "
                        "as stopped only once it is seen standing still: if it runs on, use the "
                        "treadmill's own stop button"
                    )
                    decision = self._decide_stop(policy, None, attempt)
                case Done():
                    # the user's stop is done: a later 0xFF is someone's new take-over, and no
                    # later Stop (a reconnect's, the exit's) may take control back for it
                    self.user_asked_stop = False
                    return
                case Skip(reason=reason):
                    logger.info("%s: Stop not retried: %s", self._link.name(), reason)
                    return
                case Fail(reason=FailReason.CONTROL_LOST):
                    raise self._link.lost_error()
                case Fail(reason=FailReason.STOP_REFUSED):
                    raise self._refused_after_control()
                case Fail():
                    raise last_error or LinkError(
                        self._address, f"the link to {self._link.name()} dropped while stopping"
                    )
                case _:  # pragma: no cover - the Decision union is closed
                    raise AssertionError(decision)

    def _refused_after_control(self) -> StopRefused:
        return StopRefused(
            self._address,
            OpCode.STOP_PAUSE,
            ResultCode.CONTROL_NOT_PERMITTED,
            f"{self._link.name()} refused Stop even after Request Control: the belt "
            "may be running; use the treadmill's own stop button",
        )

    def _decide_stop(
        self,
        policy: StopPolicy,
        last: Result | None,
        attempt: int,
        previous: Result | None = None,
    ) -> Decision:
        return decide_stop(
            last,
            attempt,
            attempts=policy.attempts,
            previous=previous,
            backoff_s=policy.backoff_s,
            standstill=policy.until_standstill and self._link.standing_still(),
            gatt_up=self._link.gatt_up(),
            permission=self._channel.permission,
            take_control=self.user_asked_stop,
            others_pending=bool(self._channel.cp.pending),
            quirks=self._link.profile(),
            pause_instead=self.stop_as_pause,
        )
