"""Fitness Machine Control Point (0x2AD9): requests (client writes) and responses (indications).

A request is ``[opcode, params...]``; the answer is an indication ``[0x80, opcode, result,
params...]``. Request objects are checked when built (a SetTargetSpeed of -1 km/h cannot exist),
so encoding them cannot fail. Both directions are here because the simulator plays the server
with the same code (h11 serves both roles from one codebase).

Server side, :func:`decode_control_request` distinguishes the two answers a machine owes a bad
write: an opcode we do not implement comes back as an :class:`UnsupportedRequest` value (answer
0x02 Not Supported), while a known opcode with missing, extra or invalid parameter bytes raises
FtmsDecodeError (answer 0x03 Invalid Parameter, echoing ``data[0]``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from treadcoach.errors import FtmsDecodeError, LocalFtmsError

from ._wire import CONTROL_POINT, S16, U16, need, to_raw
from .enums import OpCode, ResultCode, StopPauseParam

__all__ = [
    "ControlRequest",
    "ControlResponse",
    "RequestControl",
    "Reset",
    "SetTargetInclination",
    "SetTargetSpeed",
    "StartResume",
    "StopPause",
    "UnsupportedRequest",
    "decode_control_request",
    "decode_control_response",
    "encode_control_request",
    "encode_control_response",
]

_U16 = struct.Struct("<H")
_S16 = struct.Struct("<h")
_OPCODES = {int(op): op for op in OpCode}
_RESULTS = {int(result): result for result in ResultCode}
_STOP_PAUSE = {int(param): param for param in StopPauseParam}


@dataclass(frozen=True, slots=True)
class RequestControl:
    """0x00: ask for control; most machines refuse every other command until this succeeded."""

    opcode: ClassVar[OpCode] = OpCode.REQUEST_CONTROL


@dataclass(frozen=True, slots=True)
class Reset:
    """0x01: reset the machine; control is released when it succeeds."""

    opcode: ClassVar[OpCode] = OpCode.RESET


@dataclass(frozen=True, slots=True)
class SetTargetSpeed:
    """0x02: target speed, sent as u16 in 0.01 km/h (rounded to the nearest 0.01, halves up)."""

    opcode: ClassVar[OpCode] = OpCode.SET_TARGET_SPEED
    speed_kmh: float

    def __post_init__(self) -> None:
        to_raw(self.speed_kmh, 100, *U16, "SetTargetSpeed.speed_kmh", " km/h")


@dataclass(frozen=True, slots=True)
class SetTargetInclination:
    """0x03: target inclination, sent as s16 in 0.1 % (rounded, halves away from zero)."""

    opcode: ClassVar[OpCode] = OpCode.SET_TARGET_INCLINATION
    incline_pct: float

    def __post_init__(self) -> None:
        to_raw(self.incline_pct, 10, *S16, "SetTargetInclination.incline_pct", " %")


@dataclass(frozen=True, slots=True)
class StartResume:
    """0x07: start or resume the belt. Some machines treat it as a toggle: never send it to a
    running belt (DESIGN.md, safety invariant 2)."""

    opcode: ClassVar[OpCode] = OpCode.START_RESUME


@dataclass(frozen=True, slots=True)
class StopPause:
    """0x08: stop (0x01) or pause (0x02) the belt."""

    opcode: ClassVar[OpCode] = OpCode.STOP_PAUSE
    param: StopPauseParam

    def __post_init__(self) -> None:
        param = _STOP_PAUSE.get(self.param) if isinstance(self.param, int) else None
        if param is None:
            raise LocalFtmsError(
                f"StopPause.param = {self.param!r} must be StopPauseParam.STOP (1) or PAUSE (2)."
            )
        object.__setattr__(self, "param", param)  # normalise a plain 1/2 to the enum


ControlRequest: TypeAlias = (
    RequestControl | Reset | SetTargetSpeed | SetTargetInclination | StartResume | StopPause
)


@dataclass(frozen=True, slots=True)
class UnsupportedRequest:
    """A request whose opcode this codec does not implement (server side: answer 0x02)."""

    opcode: int
    params: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 0xFF:
            raise LocalFtmsError(f"UnsupportedRequest.opcode = {self.opcode} does not fit a uint8.")


def encode_control_request(request: ControlRequest | UnsupportedRequest) -> bytes:
    """The bytes to write to the control point for ``request``."""
    if isinstance(request, SetTargetSpeed):
        raw = to_raw(request.speed_kmh, 100, *U16, "SetTargetSpeed.speed_kmh", " km/h")
        return bytes((OpCode.SET_TARGET_SPEED,)) + _U16.pack(raw)
    if isinstance(request, SetTargetInclination):
        raw = to_raw(request.incline_pct, 10, *S16, "SetTargetInclination.incline_pct", " %")
        return bytes((OpCode.SET_TARGET_INCLINATION,)) + _S16.pack(raw)
    if isinstance(request, StopPause):
        return bytes((OpCode.STOP_PAUSE, request.param))
    if isinstance(request, UnsupportedRequest):
        return bytes((request.opcode,)) + request.params
    return bytes((request.opcode,))


_NO_PARAMS: dict[int, ControlRequest] = {
    OpCode.REQUEST_CONTROL: RequestControl(),
    OpCode.RESET: Reset(),
    OpCode.START_RESUME: StartResume(),
}


def _no_more(data: bytes, offset: int, what: str) -> None:
    if len(data) > offset:
        raise FtmsDecodeError(CONTROL_POINT, offset, f"the end of the {what} request", data)


def decode_control_request(data: bytes) -> ControlRequest | UnsupportedRequest:
    """Server side: the request in a control point write.

    Returns UnsupportedRequest for opcodes not implemented here; raises FtmsDecodeError when a
    known opcode has missing, extra or invalid parameter bytes.
    """
    need(data, 0, 1, CONTROL_POINT, "Op Code (uint8)")
    code = data[0]
    if code in _NO_PARAMS:
        _no_more(data, 1, _OPCODES[code].name)
        return _NO_PARAMS[code]
    if code == OpCode.SET_TARGET_SPEED:
        need(data, 1, 2, CONTROL_POINT, "Target Speed (uint16, 0.01 km/h)")
        _no_more(data, 3, "SET_TARGET_SPEED")
        return SetTargetSpeed(_U16.unpack_from(data, 1)[0] / 100)
    if code == OpCode.SET_TARGET_INCLINATION:
        need(data, 1, 2, CONTROL_POINT, "Target Inclination (sint16, 0.1 %)")
        _no_more(data, 3, "SET_TARGET_INCLINATION")
        return SetTargetInclination(_S16.unpack_from(data, 1)[0] / 10)
    if code == OpCode.STOP_PAUSE:
        need(data, 1, 1, CONTROL_POINT, "Stop/Pause parameter (uint8)")
        if data[1] not in _STOP_PAUSE:
            raise FtmsDecodeError(
                CONTROL_POINT, 1, "Stop/Pause parameter 0x01 (stop) or 0x02 (pause)", data
            )
        _no_more(data, 2, "STOP_PAUSE")
        return StopPause(_STOP_PAUSE[data[1]])
    return UnsupportedRequest(code, bytes(data[1:]))


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A control point indication ``[0x80, request_opcode, result, params...]``.

    ``request_opcode`` and ``result`` are enum members when known, plain ints otherwise.
    """

    request_opcode: OpCode | int
    result: ResultCode | int
    params: bytes = b""

    @property
    def succeeded(self) -> bool:
        return self.result == ResultCode.SUCCESS


def encode_control_response(response: ControlResponse) -> bytes:
    for name in ("request_opcode", "result"):
        value = int(getattr(response, name))
        if not 0 <= value <= 0xFF:
            raise LocalFtmsError(f"ControlResponse.{name} = {value} does not fit in a uint8.")
    return (
        bytes((OpCode.RESPONSE, int(response.request_opcode), int(response.result)))
        + response.params
    )


def decode_control_response(data: bytes) -> ControlResponse:
    need(data, 0, 1, CONTROL_POINT, "Response Code 0x80 (uint8)")
    if data[0] != OpCode.RESPONSE:
        raise FtmsDecodeError(CONTROL_POINT, 0, "Response Code 0x80", data)
    need(data, 1, 1, CONTROL_POINT, "Request Op Code (uint8)")
    need(data, 2, 1, CONTROL_POINT, "Result Code (uint8)")
    opcode, result = data[1], data[2]
    return ControlResponse(
        _OPCODES.get(opcode, opcode), _RESULTS.get(result, result), bytes(data[3:])
    )
