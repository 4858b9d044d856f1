"""Client-role Fitness Machine Control Point state machine (sans-I/O, table-driven like h11).

The link drives it::

    cp = ControlPoint()
    await write(CONTROL_POINT_UUID, cp.send(RequestControl()))     # bytes to write
    for event in cp.receive(indication):                            # each 0x2AD9 indication
        ...                                                         # CommandSucceeded, ...
    cp.machine_status(decode_machine_status(notification))          # each 0x2ADA notification
    cp.timeout()                                                    # when no answer came in time

Two things are tracked. *Permission*: NONE (never granted, or released), GRANTED, LOST (Machine
Status 0xFF: a person at the console or another app took over). *In flight*: the requests written
and not yet answered.

Rules (all in the tables below):

* One command at a time: ``send()`` raises LocalFtmsError while another request awaits its answer,
  except ``StopPause(STOP)``, which may always be sent (the stop path must never be refused by
  bookkeeping). Answers are matched by request opcode, since the indication echoes it: a 0x08
  answer goes to the oldest pending Stop/Pause, any other answer to the pending request of that
  opcode. An answer nobody waits for (a late one after ``timeout()``, or a wrong opcode) becomes
  ``UnexpectedResponse``, never an exception. FTMS echoes only the opcode, so an answer that
  arrives after its request timed out, while a new request of the same opcode waits, is taken as
  the new request's answer: nothing on the wire can tell them apart.
* While permission is LOST only RequestControl and Stop may be sent: never fight the console
  (DESIGN.md, safety invariant 2). Getting control back takes an explicit RequestControl.
* Permission changes: RequestControl answered SUCCESS -> GRANTED; Reset answered SUCCESS ->
  NONE (the machine releases control on reset); any answer CONTROL_NOT_PERMITTED while GRANTED ->
  NONE (the machine forgot us, e.g. after a reboot); Machine Status 0xFF -> LOST; Machine Status
  0x01 (reset) -> NONE.
* ``timeout()`` forgets the requests in flight (all, or the given one) and reports each as
  ``CommandTimedOut``, so a lost indication can never wedge the machine (pyftms resets its state
  only on a BleakError, not on a timeout). ``reset()`` starts over (call it on disconnect).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from treadcoach.errors import LocalFtmsError

from ._control import (
    ControlRequest,
    ControlResponse,
    RequestControl,
    StopPause,
    decode_control_response,
    encode_control_request,
)
from ._status import MachineStatus
from .enums import MachineStatusOp, OpCode, ResultCode, StopPauseParam

__all__ = [
    "CommandFailed",
    "CommandSucceeded",
    "CommandTimedOut",
    "ControlEvent",
    "ControlGranted",
    "ControlPermissionLost",
    "ControlPoint",
    "ControlReleased",
    "ControlState",
    "Permission",
    "UnexpectedResponse",
]


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandSucceeded:
    request: ControlRequest


@dataclass(frozen=True, slots=True)
class CommandFailed:
    request: ControlRequest
    result: ResultCode | int


@dataclass(frozen=True, slots=True)
class CommandTimedOut:
    request: ControlRequest


@dataclass(frozen=True, slots=True)
class ControlGranted:
    """Request Control succeeded: commands are now accepted."""


@dataclass(frozen=True, slots=True)
class ControlPermissionLost:
    """Machine Status 0xFF: someone else took control. Stop commanding; tell the user."""


@dataclass(frozen=True, slots=True)
class ControlReleased:
    """We no longer hold control (reset, or the machine answered Control Not Permitted)."""


@dataclass(frozen=True, slots=True)
class UnexpectedResponse:
    """An indication no pending request matches (late after a timeout, or another opcode)."""

    response: ControlResponse


ControlEvent: TypeAlias = (
    CommandSucceeded
    | CommandFailed
    | CommandTimedOut
    | ControlGranted
    | ControlPermissionLost
    | ControlReleased
    | UnexpectedResponse
)


# --- states and tables --------------------------------------------------------------------------


class Permission(Enum):
    NONE = "none"
    GRANTED = "granted"
    LOST = "lost"


class ControlState(Enum):
    """One-word summary for logs and UIs (see ``ControlPoint.state``)."""

    NO_CONTROL = "no_control"
    REQUESTING = "requesting"  # Request Control in flight
    IDLE = "idle"  # controlled, nothing in flight
    AWAITING = "awaiting"  # a command in flight
    LOST = "lost"


class _Kind(Enum):
    """How the rules see a request."""

    REQUEST_CONTROL = "request_control"
    STOP = "stop"
    COMMAND = "command"


class _Trigger(Enum):
    GRANTED = "request control succeeded"
    RESET_DONE = "reset succeeded"
    NOT_PERMITTED = "answered control not permitted"
    STATUS_LOST = "machine status: control permission lost"
    STATUS_RESET = "machine status: reset"


# Which kinds of request may be written under each permission.
_MAY_SEND: dict[Permission, frozenset[_Kind]] = {
    Permission.NONE: frozenset(_Kind),  # many machines need no Request Control: let them answer
    Permission.GRANTED: frozenset(_Kind),
    Permission.LOST: frozenset({_Kind.REQUEST_CONTROL, _Kind.STOP}),
}

# Permission transitions; a (permission, trigger) pair not listed leaves the permission as it is.
_TRANSITIONS: dict[tuple[Permission, _Trigger], Permission] = {
    (Permission.NONE, _Trigger.GRANTED): Permission.GRANTED,
    (Permission.LOST, _Trigger.GRANTED): Permission.GRANTED,
    (Permission.GRANTED, _Trigger.RESET_DONE): Permission.NONE,
    (Permission.LOST, _Trigger.RESET_DONE): Permission.NONE,
    (Permission.GRANTED, _Trigger.NOT_PERMITTED): Permission.NONE,
    (Permission.NONE, _Trigger.STATUS_LOST): Permission.LOST,
    (Permission.GRANTED, _Trigger.STATUS_LOST): Permission.LOST,
    (Permission.GRANTED, _Trigger.STATUS_RESET): Permission.NONE,
    (Permission.LOST, _Trigger.STATUS_RESET): Permission.NONE,
}

# The event announcing each permission change.
_ANNOUNCE: dict[Permission, ControlEvent] = {
    Permission.GRANTED: ControlGranted(),
    Permission.LOST: ControlPermissionLost(),
    Permission.NONE: ControlReleased(),
}

# Successful answers that move the permission.
_ON_SUCCESS: dict[OpCode, _Trigger] = {
    OpCode.REQUEST_CONTROL: _Trigger.GRANTED,
    OpCode.RESET: _Trigger.RESET_DONE,
}

# Machine status opcodes that move the permission.
_ON_STATUS: dict[int, _Trigger] = {
    MachineStatusOp.CONTROL_PERMISSION_LOST: _Trigger.STATUS_LOST,
    MachineStatusOp.RESET: _Trigger.STATUS_RESET,
}


def _kind(request: ControlRequest) -> _Kind:
    if isinstance(request, RequestControl):
        return _Kind.REQUEST_CONTROL
    if isinstance(request, StopPause) and request.param == StopPauseParam.STOP:
        return _Kind.STOP
    return _Kind.COMMAND


# --- the machine --------------------------------------------------------------------------------


class ControlPoint:
    """Client role of the FTMS control point: requests out, indications in, events back."""

    __slots__ = ("_pending", "_permission")

    def __init__(self) -> None:
        self._permission = Permission.NONE
        self._pending: list[ControlRequest] = []

    @property
    def permission(self) -> Permission:
        return self._permission

    @property
    def has_control(self) -> bool:
        return self._permission is Permission.GRANTED

    @property
    def pending(self) -> tuple[ControlRequest, ...]:
        """Requests written and not yet answered, oldest first."""
        return tuple(self._pending)

    @property
    def state(self) -> ControlState:
        if any(isinstance(request, RequestControl) for request in self._pending):
            return ControlState.REQUESTING
        if self._pending:
            return ControlState.AWAITING
        return {
            Permission.NONE: ControlState.NO_CONTROL,
            Permission.GRANTED: ControlState.IDLE,
            Permission.LOST: ControlState.LOST,
        }[self._permission]

    def send(self, request: ControlRequest) -> bytes:
        """Record ``request`` as in flight and return the bytes to write to 0x2AD9."""
        kind = _kind(request)
        if kind not in _MAY_SEND[self._permission]:
            raise LocalFtmsError(
                f"Control permission was lost to the console or another app: "
                f"{type(request).__name__} is not sent until control is requested again."
            )
        if self._pending and kind is not _Kind.STOP:
            waiting = ", ".join(type(r).__name__ for r in self._pending)
            raise LocalFtmsError(
                f"{type(request).__name__} cannot be sent while {waiting} awaits its answer "
                "(one control point command at a time; only Stop may overtake)."
            )
        data = encode_control_request(request)
        self._pending.append(request)
        return data

    def receive(self, indication: bytes) -> list[ControlEvent]:
        """Events for one control point indication. Raises FtmsDecodeError on malformed bytes."""
        response = decode_control_response(indication)
        for index, request in enumerate(self._pending):
            if request.opcode == response.request_opcode:
                del self._pending[index]
                break
        else:
            return [UnexpectedResponse(response)]
        if response.result == ResultCode.SUCCESS:
            events: list[ControlEvent] = [CommandSucceeded(request)]
            trigger = _ON_SUCCESS.get(request.opcode)
        else:
            events = [CommandFailed(request, response.result)]
            not_permitted = response.result == ResultCode.CONTROL_NOT_PERMITTED
            trigger = _Trigger.NOT_PERMITTED if not_permitted else None
        if trigger is not None:
            events += self._move(trigger)
        return events

    def machine_status(self, status: MachineStatus) -> list[ControlEvent]:
        """Events for one Fitness Machine Status notification (only 0xFF and 0x01 matter here)."""
        trigger = _ON_STATUS.get(int(status.op))
        return [] if trigger is None else self._move(trigger)

    def timeout(self, request: ControlRequest | None = None) -> list[ControlEvent]:
        """Give up waiting: for ``request`` (its oldest pending copy), or for all when None."""
        if request is None:
            expired, self._pending = self._pending, []
        elif request in self._pending:
            self._pending.remove(request)
            expired = [request]
        else:
            expired = []
        return [CommandTimedOut(r) for r in expired]

    def reset(self) -> None:
        """Back to the initial state (no control, nothing in flight): call on disconnect."""
        self._permission = Permission.NONE
        self._pending.clear()

    def _move(self, trigger: _Trigger) -> list[ControlEvent]:
        new = _TRANSITIONS.get((self._permission, trigger), self._permission)
        if new is self._permission:
            return []
        self._permission = new
        return [_ANNOUNCE[new]]

    def __repr__(self) -> str:
        return f"<ControlPoint {self.state.value} permission={self._permission.value} pending={self._pending!r}>"
