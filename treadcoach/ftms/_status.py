"""Status characteristics: Training Status (0x2AD3) and Fitness Machine Status (0x2ADA).

Both are read leniently where leniency keeps information: an unknown training status or machine
status opcode comes back as a plain ``int`` (with its parameter bytes kept raw), and a
"stopped or paused by the user" status with a missing or unknown parameter still decodes (with
``stop_pause=None``), because the coach must learn that the belt stopped even from an odd machine.
A truncated target speed/incline is an FtmsDecodeError: there is no value to report.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from treadcoach.errors import LocalFtmsError

from ._wire import MACHINE_STATUS, S16, TRAINING_STATUS, U16, need, to_raw
from .enums import MachineStatusOp, StopPauseParam, TrainingStatusCode

__all__ = [
    "MachineStatus",
    "TrainingStatus",
    "decode_machine_status",
    "decode_training_status",
    "encode_machine_status",
    "encode_training_status",
]

_STRING_PRESENT = 0x01
_U16 = struct.Struct("<H")
_S16 = struct.Struct("<h")

_TRAINING_STATUS_CODES = {int(code): code for code in TrainingStatusCode}
_MACHINE_STATUS_OPS = {int(op): op for op in MachineStatusOp}
_STOP_PAUSE = {int(param): param for param in StopPauseParam}
# Machine status opcode -> the MachineStatus field holding its parsed parameter.
_PARAM_FIELD = {
    MachineStatusOp.STOPPED_OR_PAUSED_BY_USER.value: "stop_pause",
    MachineStatusOp.TARGET_SPEED_CHANGED.value: "target_speed_kmh",
    MachineStatusOp.TARGET_INCLINE_CHANGED.value: "target_incline_pct",
}


@dataclass(frozen=True, slots=True)
class TrainingStatus:
    """Training Status: a status code (``int`` when unknown) and an optional text.

    ``text`` is None when the string flag is clear. Invalid UTF-8 is decoded with replacement
    characters: the text is for display only, not worth refusing the status for.
    """

    status: TrainingStatusCode | int
    text: str | None = None


def decode_training_status(data: bytes) -> TrainingStatus:
    need(data, 0, 1, TRAINING_STATUS, "Flags (uint8)")
    need(data, 1, 1, TRAINING_STATUS, "Training Status (uint8)")
    flags, code = data[0], data[1]
    status = _TRAINING_STATUS_CODES.get(code, code)
    # Bytes after the status without the string flag are ignored: the flag says there is no text.
    text = bytes(data[2:]).decode("utf-8", "replace") if flags & _STRING_PRESENT else None
    return TrainingStatus(status, text)


def encode_training_status(training_status: TrainingStatus) -> bytes:
    code = int(training_status.status)
    if not 0 <= code <= 0xFF:
        raise LocalFtmsError(f"TrainingStatus.status = {code} does not fit in a uint8.")
    if training_status.text is None:
        return bytes((0, code))
    return bytes((_STRING_PRESENT, code)) + training_status.text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """One Fitness Machine Status notification.

    ``op`` is a MachineStatusOp (an ``int`` when unknown). The parsed parameter sits in its own
    field: ``stop_pause`` for 0x02, ``target_speed_kmh`` for 0x05, ``target_incline_pct`` for
    0x06. ``params`` holds the parameter bytes not parsed (all of them for other opcodes, a
    stop/pause byte that is neither 1 nor 2, and anything after a parsed parameter).
    """

    op: MachineStatusOp | int
    stop_pause: StopPauseParam | None = None
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    params: bytes = b""


def decode_machine_status(data: bytes) -> MachineStatus:
    need(data, 0, 1, MACHINE_STATUS, "Op Code (uint8)")
    code = data[0]
    op = _MACHINE_STATUS_OPS.get(code, code)
    rest = bytes(data[1:])
    if op == MachineStatusOp.STOPPED_OR_PAUSED_BY_USER and rest and rest[0] in _STOP_PAUSE:
        return MachineStatus(op, stop_pause=_STOP_PAUSE[rest[0]], params=rest[1:])
    if op == MachineStatusOp.TARGET_SPEED_CHANGED:
        need(data, 1, 2, MACHINE_STATUS, "New Target Speed (uint16, 0.01 km/h)")
        (raw,) = _U16.unpack_from(data, 1)
        return MachineStatus(op, target_speed_kmh=raw / 100, params=rest[2:])
    if op == MachineStatusOp.TARGET_INCLINE_CHANGED:
        need(data, 1, 2, MACHINE_STATUS, "New Target Inclination (sint16, 0.1 %)")
        (raw,) = _S16.unpack_from(data, 1)
        return MachineStatus(op, target_incline_pct=raw / 10, params=rest[2:])
    return MachineStatus(op, params=rest)


def encode_machine_status(status: MachineStatus) -> bytes:
    code = int(status.op)
    if not 0 <= code <= 0xFF:
        raise LocalFtmsError(f"MachineStatus.op = {code} does not fit in a uint8.")
    wanted = _PARAM_FIELD.get(code)
    for name in ("stop_pause", "target_speed_kmh", "target_incline_pct"):
        if name != wanted and getattr(status, name) is not None:
            raise LocalFtmsError(f"MachineStatus.{name} does not belong to op 0x{code:02X}.")
    out = bytearray((code,))
    if wanted == "stop_pause" and status.stop_pause is not None:
        out.append(int(status.stop_pause))
    elif wanted == "target_speed_kmh":
        if status.target_speed_kmh is None:
            raise LocalFtmsError(
                "MachineStatus op 0x05 (target speed changed) needs target_speed_kmh."
            )
        out += _U16.pack(to_raw(status.target_speed_kmh, 100, *U16, "target_speed_kmh", " km/h"))
    elif wanted == "target_incline_pct":
        if status.target_incline_pct is None:
            raise LocalFtmsError(
                "MachineStatus op 0x06 (target incline changed) needs target_incline_pct."
            )
        out += _S16.pack(to_raw(status.target_incline_pct, 10, *S16, "target_incline_pct", " %"))
    return bytes(out + status.params)
