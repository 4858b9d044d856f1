"""ControlPoint, the client-role control point state machine: synchronous scenario tables.

Each scenario is a list of steps. A step acts on the machine and states what must come out:
``send`` (request -> bytes written), ``receive`` (indication hex -> events), ``status`` (machine
status -> events), ``timeout`` (-> events), ``refused`` (request -> LocalFtmsError, nothing
recorded); every step also names the state the machine must be in afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from treadcoach.errors import FtmsDecodeError, LocalFtmsError
from treadcoach.ftms import (
    CommandFailed,
    CommandSucceeded,
    CommandTimedOut,
    ControlEvent,
    ControlGranted,
    ControlPermissionLost,
    ControlPoint,
    ControlReleased,
    ControlRequest,
    ControlResponse,
    ControlState,
    MachineStatus,
    MachineStatusOp,
    OpCode,
    RequestControl,
    Reset,
    ResultCode,
    SetTargetInclination,
    SetTargetSpeed,
    StartResume,
    StopPause,
    StopPauseParam,
    UnexpectedResponse,
)

STOP = StopPause(StopPauseParam.STOP)
PAUSE = StopPause(StopPauseParam.PAUSE)
SPEED = SetTargetSpeed(3.22)
S = ControlState


@dataclass(frozen=True)
class Send:
    request: ControlRequest
    wire: str
    state: ControlState


@dataclass(frozen=True)
class Refused:
    request: ControlRequest
    state: ControlState


@dataclass(frozen=True)
class Receive:
    indication: str
    events: list[ControlEvent]
    state: ControlState


@dataclass(frozen=True)
class Status:
    status: MachineStatus
    events: list[ControlEvent]
    state: ControlState


@dataclass(frozen=True)
class Timeout:
    request: ControlRequest | None
    events: list[ControlEvent]
    state: ControlState


Step = Send | Refused | Receive | Status | Timeout

GAIN_CONTROL: list[Step] = [
    Send(RequestControl(), "00", S.REQUESTING),
    Receive("80 00 01", [CommandSucceeded(RequestControl()), ControlGranted()], S.IDLE),
]

SCENARIOS: dict[str, list[Step]] = {
    "request control, then set speed": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive("80 02 01", [CommandSucceeded(SPEED)], S.IDLE),
    ],
    "start, incline, pause, reset releases control": [
        *GAIN_CONTROL,
        Send(StartResume(), "07", S.AWAITING),
        Receive("80 07 01", [CommandSucceeded(StartResume())], S.IDLE),
        Send(SetTargetInclination(-1.0), "03 f6 ff", S.AWAITING),
        Receive("80 03 01", [CommandSucceeded(SetTargetInclination(-1.0))], S.IDLE),
        Send(PAUSE, "08 02", S.AWAITING),
        Receive("80 08 01", [CommandSucceeded(PAUSE)], S.IDLE),
        Send(Reset(), "01", S.AWAITING),
        Receive("80 01 01", [CommandSucceeded(Reset()), ControlReleased()], S.NO_CONTROL),
    ],
    "command before control is refused by the machine, not by us": [
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive("80 02 05", [CommandFailed(SPEED, ResultCode.CONTROL_NOT_PERMITTED)], S.NO_CONTROL),
    ],
    "request control refused": [
        Send(RequestControl(), "00", S.REQUESTING),
        Receive("80 00 04", [CommandFailed(RequestControl(), ResultCode.FAILED)], S.NO_CONTROL),
    ],
    "one command at a time": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Refused(SetTargetSpeed(4.0), S.AWAITING),
        Refused(PAUSE, S.AWAITING),  # pause is an ordinary command
        Refused(RequestControl(), S.AWAITING),
        Receive("80 02 01", [CommandSucceeded(SPEED)], S.IDLE),
        Send(SetTargetSpeed(4.0), "02 90 01", S.AWAITING),
    ],
    "stop overtakes a pending command; answers matched by opcode": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Send(STOP, "08 01", S.AWAITING),
        Receive("80 08 01", [CommandSucceeded(STOP)], S.AWAITING),  # stop answered first
        Receive("80 02 01", [CommandSucceeded(SPEED)], S.IDLE),
    ],
    "stop behind a pause: the first 0x08 answer is the pause's": [
        *GAIN_CONTROL,
        Send(PAUSE, "08 02", S.AWAITING),
        Send(STOP, "08 01", S.AWAITING),
        Send(STOP, "08 01", S.AWAITING),  # a second stop press is never refused
        Receive("80 08 04", [CommandFailed(PAUSE, ResultCode.FAILED)], S.AWAITING),
        Receive("80 08 01", [CommandSucceeded(STOP)], S.AWAITING),
        Receive("80 08 01", [CommandSucceeded(STOP)], S.IDLE),
    ],
    "answer for another opcode is unexpected, the pending command still waits": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive(
            "80 03 01",
            [
                UnexpectedResponse(
                    ControlResponse(OpCode.SET_TARGET_INCLINATION, ResultCode.SUCCESS)
                )
            ],
            S.AWAITING,
        ),
        Receive("80 02 01", [CommandSucceeded(SPEED)], S.IDLE),
    ],
    "answer when nothing is pending is unexpected": [
        Receive(
            "80 07 01",
            [UnexpectedResponse(ControlResponse(OpCode.START_RESUME, ResultCode.SUCCESS))],
            S.NO_CONTROL,
        ),
    ],
    "timeout frees the control point; the late answer is unexpected": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Timeout(None, [CommandTimedOut(SPEED)], S.IDLE),
        Send(SetTargetSpeed(4.0), "02 90 01", S.AWAITING),
        Receive(
            "80 02 01",  # matched to the new request: the same opcode, answers come in order
            [CommandSucceeded(SetTargetSpeed(4.0))],
            S.IDLE,
        ),
        Receive(
            "80 02 01",
            [UnexpectedResponse(ControlResponse(OpCode.SET_TARGET_SPEED, ResultCode.SUCCESS))],
            S.IDLE,
        ),
    ],
    "timeout of one request leaves the others pending": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Send(STOP, "08 01", S.AWAITING),
        Timeout(SPEED, [CommandTimedOut(SPEED)], S.AWAITING),
        Timeout(SPEED, [], S.AWAITING),  # not pending any more
        Receive("80 08 01", [CommandSucceeded(STOP)], S.IDLE),
    ],
    "request control timing out leaves no control": [
        Send(RequestControl(), "00", S.REQUESTING),
        Timeout(None, [CommandTimedOut(RequestControl())], S.NO_CONTROL),
    ],
    "control lost: stop commanding, stop still allowed, control only on request": [
        *GAIN_CONTROL,
        Status(
            MachineStatus(MachineStatusOp.CONTROL_PERMISSION_LOST),
            [ControlPermissionLost()],
            S.LOST,
        ),
        Status(MachineStatus(MachineStatusOp.CONTROL_PERMISSION_LOST), [], S.LOST),
        Refused(SPEED, S.LOST),
        Refused(StartResume(), S.LOST),
        Refused(PAUSE, S.LOST),
        Refused(Reset(), S.LOST),
        Send(STOP, "08 01", S.AWAITING),
        Receive("80 08 05", [CommandFailed(STOP, ResultCode.CONTROL_NOT_PERMITTED)], S.LOST),
        Send(RequestControl(), "00", S.REQUESTING),
        Receive("80 00 01", [CommandSucceeded(RequestControl()), ControlGranted()], S.IDLE),
    ],
    "control lost while a command is pending: its answer still arrives": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Status(
            MachineStatus(MachineStatusOp.CONTROL_PERMISSION_LOST),
            [ControlPermissionLost()],
            S.AWAITING,
        ),
        Receive("80 02 05", [CommandFailed(SPEED, ResultCode.CONTROL_NOT_PERMITTED)], S.LOST),
    ],
    "control lost before it was ever granted": [
        Status(
            MachineStatus(MachineStatusOp.CONTROL_PERMISSION_LOST),
            [ControlPermissionLost()],
            S.LOST,
        ),
        Refused(SPEED, S.LOST),
    ],
    "machine reset releases control": [
        *GAIN_CONTROL,
        Status(MachineStatus(MachineStatusOp.RESET), [ControlReleased()], S.NO_CONTROL),
        Status(MachineStatus(MachineStatusOp.RESET), [], S.NO_CONTROL),
    ],
    "machine reset after control was lost": [
        Status(
            MachineStatus(MachineStatusOp.CONTROL_PERMISSION_LOST),
            [ControlPermissionLost()],
            S.LOST,
        ),
        Status(MachineStatus(MachineStatusOp.RESET), [ControlReleased()], S.NO_CONTROL),
        Send(SPEED, "02 42 01", S.AWAITING),
    ],
    "control not permitted while granted means the machine forgot us": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive(
            "80 02 05",
            [CommandFailed(SPEED, ResultCode.CONTROL_NOT_PERMITTED), ControlReleased()],
            S.NO_CONTROL,
        ),
    ],
    "other failures keep control": [
        *GAIN_CONTROL,
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive("80 02 03", [CommandFailed(SPEED, ResultCode.INVALID_PARAMETER)], S.IDLE),
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive("80 02 02", [CommandFailed(SPEED, ResultCode.NOT_SUPPORTED)], S.IDLE),
        Send(SPEED, "02 42 01", S.AWAITING),
        Receive("80 02 07", [CommandFailed(SPEED, 0x07)], S.IDLE),  # unknown result code
    ],
    "user and safety-key statuses do not touch control": [
        *GAIN_CONTROL,
        Status(MachineStatus(MachineStatusOp.STOPPED_BY_SAFETY_KEY), [], S.IDLE),
        Status(
            MachineStatus(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, StopPauseParam.STOP),
            [],
            S.IDLE,
        ),
        Status(MachineStatus(MachineStatusOp.STARTED_OR_RESUMED_BY_USER), [], S.IDLE),
        Status(
            MachineStatus(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=3.0), [], S.IDLE
        ),
        Status(MachineStatus(0x42), [], S.IDLE),
    ],
    "request control again while granted (some machines want it twice)": [
        *GAIN_CONTROL,
        Send(RequestControl(), "00", S.REQUESTING),
        Receive("80 00 01", [CommandSucceeded(RequestControl())], S.IDLE),
    ],
}


def run(steps: list[Step], cp: ControlPoint | None = None) -> ControlPoint:
    cp = cp or ControlPoint()
    for number, step in enumerate(steps):
        where = f"step {number}: {step}"
        if isinstance(step, Send):
            assert cp.send(step.request).hex(" ") == step.wire, where
        elif isinstance(step, Refused):
            before = cp.pending
            with pytest.raises(LocalFtmsError):
                cp.send(step.request)
            assert cp.pending == before, where
        elif isinstance(step, Receive):
            assert cp.receive(bytes.fromhex(step.indication)) == step.events, where
        elif isinstance(step, Status):
            assert cp.machine_status(step.status) == step.events, where
        else:
            assert cp.timeout(step.request) == step.events, where
        assert cp.state == step.state, where
    return cp


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_control_point_scenario(steps: list[Step]) -> None:
    run(steps)


def test_malformed_indication_raises_and_changes_nothing() -> None:
    cp = run([*GAIN_CONTROL, Send(SPEED, "02 42 01", S.AWAITING)])
    for garbage in (b"", b"\x80", b"\x80\x02", b"\x01\x02\x01"):
        with pytest.raises(FtmsDecodeError):
            cp.receive(garbage)
    assert (cp.state, cp.pending) == (S.AWAITING, (SPEED,))


def test_reset_starts_over() -> None:
    cp = run([*GAIN_CONTROL, Send(SPEED, "02 42 01", S.AWAITING)])
    cp.reset()
    assert (cp.state, cp.pending, cp.has_control) == (S.NO_CONTROL, (), False)
    run([Send(RequestControl(), "00", S.REQUESTING)], cp)


def test_permission_and_pending_are_visible() -> None:
    cp = run([*GAIN_CONTROL, Send(SPEED, "02 42 01", S.AWAITING), Send(STOP, "08 01", S.AWAITING)])
    assert cp.has_control
    assert cp.pending == (SPEED, STOP)
    assert "awaiting" in repr(cp)


def test_refusal_message_names_the_waiting_command() -> None:
    cp = run([Send(SPEED, "02 42 01", S.AWAITING)])
    with pytest.raises(LocalFtmsError, match="SetTargetSpeed awaits its answer"):
        cp.send(StartResume())
