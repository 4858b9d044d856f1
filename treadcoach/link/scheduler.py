"""The link's command scheduling, sans-I/O: the queue, coalescing, the stop epoch, and every retry
decision as a pure function of what happened (h11's shape: the shell does what it is told).

``CommandQueue`` holds commands waiting for the one worker. A newer speed (or incline) target
replaces a queued, unsent one. Stop and Pause move the *stop epoch*: every command queued or
called before it is superseded and never written.

``decide_command`` and ``decide_stop`` say what to do next with one request, from what the last
write of it returned (``None`` before it is written), the attempt number, the control
permission (``treadcoach.ftms.ControlPoint`` owns it; it is passed in, never kept here), and the
device quirks:

* ``Send(control_first)`` -- write it (after a Request Control when ``control_first`` says so);
* ``Retry(delay_s)`` -- wait, then ask again (``decide_*(None, attempt + 1, ...)``);
* ``Skip(reason)`` -- do not write it, it is not needed (Start to a running belt);
* ``Fail(reason)`` -- give up; the shell raises the matching typed error;
* ``Done()`` -- the machine accepted it;
* ``PauseInstead()`` -- (Stop only) the machine does not take Stop: write Pause in its place.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Generic, Protocol, TypeAlias, TypeVar

from treadcoach.ftms import (
    ControlRequest,
    Permission,
    RequestControl,
    SetTargetInclination,
    SetTargetSpeed,
    StartResume,
)
from treadcoach.ftms.enums import ResultCode
from treadcoach.link.profile import RequestControlMode
from treadcoach.link.timeouts import (
    EXIT_STOP_ATTEMPTS,
    NOT_PERMITTED_BACKOFF_S,
    RECONNECT_STOP_ATTEMPTS,
    RECONNECT_STOP_BACKOFF_S,
    STOP_ATTEMPT_TIMEOUT_S,
    STOP_ATTEMPTS,
    STOP_RETRY_BACKOFF_S,
    USER_STOP_BACKOFF_S,
)

__all__ = [
    "CommandQueue",
    "ControlFirst",
    "Decision",
    "Done",
    "Entry",
    "Fail",
    "FailReason",
    "KeepAlive",
    "Outcome",
    "PauseInstead",
    "Result",
    "Retry",
    "SchedulingQuirks",
    "Send",
    "Skip",
    "StopPolicy",
    "decide_command",
    "decide_keepalive",
    "decide_stop",
]

T = TypeVar("T")


# --- the queue ------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Entry(Generic[T]):
    """A command waiting for (or in) the worker; ``ticket`` is the shell's handle (a future)."""

    request: ControlRequest
    ticket: T
    epoch: int
    value: float | None = None
    #: the scheduler decided it was not needed (``Skip``): nothing was written
    skipped: bool = False


class CommandQueue(Generic[T]):
    """Commands in call order, one worker; coalescing of targets; the stop epoch."""

    __slots__ = ("_entries", "stop_epoch")

    def __init__(self) -> None:
        self._entries: deque[Entry[T]] = deque()
        #: moved by every Stop and Pause: an entry of an older epoch is superseded
        self.stop_epoch = 0

    def push(
        self, request: ControlRequest, ticket: T, value: float | None, *, epoch: int | None = None
    ) -> Entry[T]:
        """Queue ``request``. ``epoch`` is the stop epoch when the caller asked (default: now)."""
        entry = Entry(request, ticket, self.stop_epoch if epoch is None else epoch, value)
        self._entries.append(entry)
        return entry

    def coalesce(
        self, request: SetTargetSpeed | SetTargetInclination, value: float
    ) -> Entry[T] | None:
        """Put ``request`` into a queued target of its kind, if there is one (returned)."""
        for entry in self._entries:
            if type(entry.request) is type(request):
                entry.request, entry.value = request, value
                return entry
        return None

    def pop(self) -> Entry[T] | None:
        return self._entries.popleft() if self._entries else None

    def drop_all(self) -> list[Entry[T]]:
        """Every queued entry, removed (the caller fails their tickets)."""
        dropped = list(self._entries)
        self._entries.clear()
        return dropped

    def bump_epoch(self) -> list[Entry[T]]:
        """A Stop or Pause: supersede everything asked before it; returns the dropped entries."""
        self.stop_epoch += 1
        return self.drop_all()

    def superseded(self, entry: Entry[T]) -> bool:
        return entry.epoch != self.stop_epoch

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries)


# --- decisions ------------------------------------------------------------------------------


class Outcome(Enum):
    """What a write returned when no result code came back."""

    TIMEOUT = "no answer in time"
    WRITE_FAILED = "the write failed"


#: a result code from the machine's indication, or an Outcome
Result: TypeAlias = int | Outcome


class ControlFirst(Enum):
    NO = "no"
    REQUIRED = "required"  # Request Control must succeed, else the command fails with its result
    BEST_EFFORT = "best effort"  # Request Control's answer is not checked; the write says


class FailReason(Enum):
    SUPERSEDED = "a Stop or Pause came after it"
    CONTROL_LOST = "control permission was lost (0xFF)"
    REJECTED = "the machine refused it"
    BELT_STATE_UNKNOWN = "Start toggles on this machine and the belt is not known stopped"
    STOP_REFUSED = "the machine refused Stop even after Request Control"
    LINK_DOWN = "the link is down"
    LINK = "no answer, or the write failed"


@dataclass(frozen=True, slots=True)
class Send:
    control_first: ControlFirst = ControlFirst.NO


@dataclass(frozen=True, slots=True)
class Retry:
    delay_s: float


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


@dataclass(frozen=True, slots=True)
class Fail:
    reason: FailReason
    result: Result | None = None


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class PauseInstead:
    """The machine answered Stop "not supported" or "invalid parameter": some take only Pause
    (0x08 0x02) to stop the belt. Write Pause in Stop's place, from now on."""


Decision: TypeAlias = Send | Retry | Skip | Fail | Done | PauseInstead

#: answers to Stop that mean "not this op code", not "not now": Pause may do instead
_STOP_NOT_TAKEN = frozenset({ResultCode.NOT_SUPPORTED, ResultCode.INVALID_PARAMETER})


@dataclass(frozen=True, slots=True)
class StopPolicy:
    """How hard one Stop tries: the one place the link's stop retries are defined."""

    attempts: int
    attempt_timeout_s: float
    backoff_s: tuple[float, ...]
    #: a standstill report ends the retries (the belt is stopped: nothing left to confirm)
    until_standstill: bool = False

    #: ``stop()``: the user's (or the controller's) stop, called once per request
    USER: ClassVar[StopPolicy]
    #: the parting Stop when leaving the block
    EXIT: ClassVar[StopPolicy]
    #: the first write after a reconnect (issue 12 e)
    RECONNECT: ClassVar[StopPolicy]


StopPolicy.USER = StopPolicy(
    STOP_ATTEMPTS, STOP_ATTEMPT_TIMEOUT_S, USER_STOP_BACKOFF_S, until_standstill=True
)
StopPolicy.EXIT = StopPolicy(EXIT_STOP_ATTEMPTS, STOP_ATTEMPT_TIMEOUT_S, STOP_RETRY_BACKOFF_S)
StopPolicy.RECONNECT = StopPolicy(
    RECONNECT_STOP_ATTEMPTS,
    STOP_ATTEMPT_TIMEOUT_S,
    RECONNECT_STOP_BACKOFF_S,
    until_standstill=True,
)


class SchedulingQuirks(Protocol):
    """The profile fields the decisions read (``LinkProfile`` has them)."""

    @property
    def request_control(self) -> RequestControlMode: ...
    @property
    def start_toggles(self) -> bool: ...


def decide_command(
    request: ControlRequest,
    last: Result | None,
    attempt: int,
    *,
    superseded: bool,
    permission: Permission,
    belt_running: bool | None,
    quirks: SchedulingQuirks,
    belt_known_stopped: bool = False,
) -> Decision:
    """The next step for an ordinary command (anything but Stop).

    ``belt_known_stopped`` (``BeltBelief.known_stopped``) matters for Start on a machine where
    Start toggles: there a belt not known stopped gets no Start at all (it might be running)."""
    lost = permission is Permission.LOST
    is_control = isinstance(request, RequestControl)
    if last is None:  # about to write it (first time, or after a Retry's wait)
        if superseded:
            return Fail(FailReason.SUPERSEDED)
        if lost and not is_control:
            return Fail(FailReason.CONTROL_LOST)
        if attempt == 0:
            if isinstance(request, StartResume) and belt_running:
                return Skip("the belt is already running")
            if isinstance(request, StartResume) and quirks.start_toggles and not belt_known_stopped:
                return Fail(FailReason.BELT_STATE_UNKNOWN)
            if quirks.request_control == "before_every_command" and not is_control:
                return Send(ControlFirst.REQUIRED)
            return Send()
        # a retry after "control not permitted": ask for control again first
        return Send(
            ControlFirst.NO if quirks.request_control == "never" else ControlFirst.BEST_EFFORT
        )
    if last == ResultCode.SUCCESS:
        return Done()
    if isinstance(last, Outcome):
        return Fail(FailReason.LINK, last)
    if (
        last == ResultCode.CONTROL_NOT_PERMITTED
        and not is_control
        and attempt < len(NOT_PERMITTED_BACKOFF_S)
    ):
        if lost:
            return Fail(FailReason.CONTROL_LOST, last)
        return Retry(NOT_PERMITTED_BACKOFF_S[attempt])
    return Fail(FailReason.REJECTED, last)


def decide_stop(
    last: Result | None,
    attempt: int,
    *,
    attempts: int,
    previous: Result | None = None,
    backoff_s: tuple[float, ...] = (0.0,),
    standstill: bool = False,
    gatt_up: bool,
    permission: Permission,
    take_control: bool,
    others_pending: bool,
    quirks: SchedulingQuirks,
    pause_instead: bool = False,
) -> Decision:
    """The next step for Stop (0x08 0x01): the only retry policy for it.

    ``attempts`` bounds the writes; ``take_control`` means the user asked for this stop, so a
    "control not permitted" answer may be met with Request Control even after 0xFF;
    ``others_pending``: another request awaits its answer (the control point then takes only
    Stop, so Request Control waits for the next answer). ``previous`` is what the write before
    this one returned (when ``last`` is None and ``attempt`` > 0). ``backoff_s[n]`` is the time
    from the start of attempt n to the start of retry n + 1 (the last one repeats; the runner
    counts the answer's latency in it). ``standstill``: the machine reports the belt
    stopped, so a retry is not needed. ``pause_instead``: the machine refused Stop as an op
    code before and Pause is written in its place (a Pause refused so fails the stop).
    """
    if last is None:
        if not gatt_up:
            return Fail(FailReason.LINK_DOWN)
        if attempt > 0 and standstill:
            return Skip("the belt is reported standing still")
        if (
            previous == ResultCode.CONTROL_NOT_PERMITTED
            and permission is Permission.LOST
            and not take_control
        ):
            # 0xFF came while this Stop waited to retry: asking for control now would be
            # taking it back from the console on our own (invariant 3)
            return Fail(FailReason.CONTROL_LOST, previous)
        if (
            previous == ResultCode.CONTROL_NOT_PERMITTED
            and quirks.request_control != "never"
            and not others_pending
        ):
            return Send(ControlFirst.BEST_EFFORT)
        if (
            previous is Outcome.TIMEOUT
            and permission is Permission.LOST
            and take_control
            and quirks.request_control != "never"
            and not others_pending
        ):
            # A user's Stop after 0xFF got no answer: its refusal may have been lost or come
            # too late to be read, and the link cannot tell that from a lost acceptance. The
            # user asked for the belt to stop, so the retry asks for control first (a
            # parting Stop never does: ``take_control`` is the user's stop alone).
            return Send(ControlFirst.BEST_EFFORT)
        return Send()
    if last == ResultCode.SUCCESS:
        return Done()
    if last in _STOP_NOT_TAKEN:
        # retrying the same op code gets the same answer: Pause, or nothing
        return Fail(FailReason.REJECTED, last) if pause_instead else PauseInstead()
    if (
        last == ResultCode.CONTROL_NOT_PERMITTED
        and permission is Permission.LOST
        and not take_control
    ):
        return Fail(FailReason.CONTROL_LOST, last)
    if attempt + 1 >= max(1, attempts):
        if isinstance(last, Outcome):
            return Fail(FailReason.LINK, last)
        if last == ResultCode.CONTROL_NOT_PERMITTED and take_control:
            return Fail(FailReason.STOP_REFUSED, last)
        return Fail(FailReason.REJECTED, last)
    return Retry(backoff_s[min(attempt, len(backoff_s) - 1)] if backoff_s else 0.0)


class KeepAlive(Enum):
    """What the keep-alive does at one of its ticks."""

    WAIT = "nothing now"
    REQUEST_CONTROL = "Request Control (the machine forgets a quiet client)"
    READ = "read Training Status (a machine that takes no Request Control)"


def decide_keepalive(
    *,
    ready: bool,
    permission: Permission,
    busy: bool,
    quiet_s: float,
    period_s: float,
    quirks: SchedulingQuirks,
) -> KeepAlive:
    """One keep-alive tick: only on a ready, quiet link (``busy``: commands queued or in
    flight; ``quiet_s``: since the last write) -- and never after 0xFF, where asking for
    control would be taking it back on our own (invariant 3)."""
    if not ready or permission is Permission.LOST or busy or quiet_s < period_s:
        return KeepAlive.WAIT
    if quirks.request_control != "never":
        return KeepAlive.REQUEST_CONTROL
    return KeepAlive.READ
