"""The FTMS server semantics of a treadmill: control-point bytes in, indication + notifications out.

Sans-I/O, like the codec it reuses in the server role: no loop, no clock, no transport. The owner
advances time with :meth:`FtmsServer.advance` and hands every control-point write to
:meth:`FtmsServer.write_control_point`, which answers with the indication to send back and the
notifications (Machine Status, Training Status) the write caused. The console-side events a test
injects (safety key pulled, someone taking control at the console) are methods here too.

Behaviour, per FTMS 1.0 and the machines in ``shared/reference/ftms-quirks.md``:

* Every op but Request Control is answered 0x05 *Control Not Permitted* until Request Control
  succeeded on this connection (unless the profile works without it). Control is lost when the
  link drops, on Reset, and when someone takes over at the console (status 0xFF).
* Start/Resume from idle or stopped starts a new workout at the stored target speed (the
  minimum speed when none was set); from paused it resumes at the old target. Start while
  running is acknowledged and changes nothing (on a ``start_toggle`` machine it pauses).
* Stop ramps the belt to 0 and forgets the target; Pause ramps to 0 and keeps it for Resume.
* Set Target Speed / Inclination outside the supported range, or an invalid Stop/Pause
  parameter, is 0x03. In range, the value is taken at the wire's resolution (0.01 km/h, 0.1 %):
  the advertised increment is what the client should respect, and most machines take finer
  values. The belt only moves while running; a target set while stopped or paused waits for
  Start/Resume.
* Every state change is notified on Machine Status, and Training Status follows
  (Idle / Manual Mode).
* The console (``console_set_speed``, ``console_start``, ``console_stop``) changes the belt
  whoever has control, and says so on Machine Status, as real consoles do.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from sim.errors import AttError
from sim.physics import Belt, Runner
from sim.profiles import MPH_KMH, Profile
from sim.quirks import QuirkState
from treadcoach.errors import FtmsDecodeError
from treadcoach.ftms import (
    ControlResponse,
    InclinationRange,
    MachineFeatures,
    MachineStatus,
    RequestControl,
    Reset,
    SetTargetInclination,
    SetTargetSpeed,
    SpeedRange,
    StartResume,
    StopPause,
    TrainingStatus,
    TreadmillData,
    decode_control_request,
    encode_control_response,
    encode_inclination_range,
    encode_machine_features,
    encode_machine_status,
    encode_speed_range,
    encode_training_status,
    split_treadmill_data,
    uuids,
)
from treadcoach.ftms.enums import (
    MachineFeature,
    MachineStatusOp,
    ResultCode,
    StopPauseParam,
    TargetSettingFeature,
    TrainingStatusCode,
)

__all__ = ["FtmsServer", "Notification", "RunState", "WriteOutcome"]

# ATT "Invalid Attribute Value Length": what a real server answers to an empty write.
ATT_INVALID_LENGTH = 0x0D
# Roughly what a 75 kg person spends per km on a treadmill; only needs to look plausible.
KCAL_PER_KM = 67.0


class RunState(enum.StrEnum):
    IDLE = "idle"  # powered on, or after Reset: no workout yet
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # a workout ended (Stop, safety key)


@dataclass(frozen=True, slots=True)
class Notification:
    """A value the server pushes on characteristic ``uuid`` (notify or indicate)."""

    uuid: str
    data: bytes


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """The answer to one control-point write: its indication, then what else it notified."""

    indication: bytes
    notifications: tuple[Notification, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceInformation:
    manufacturer: str
    model: str
    serial: str
    hardware: str = "1"
    firmware: str = "treadcoach-sim 0.1"
    software: str = "treadcoach-sim 0.1"


class FtmsServer:
    """One treadmill's FTMS server state machine (see the module docstring for its rules)."""

    def __init__(
        self,
        profile: Profile,
        *,
        belt: Belt | None = None,
        runner: Runner | None = None,
        serial: str = "SIM-0001",
    ) -> None:
        self.profile = profile
        self.belt = belt if belt is not None else Belt()
        self.runner = runner
        self.device = DeviceInformation(profile.manufacturer, profile.model, serial)
        self.state = RunState.IDLE
        self.control_granted = False
        self.elapsed_s = 0.0  # workout time, counted while running
        self.running_s = 0.0  # since the last Start/Resume, for speed_needs_running
        self.target_speed_kmh = 0.0  # as commanded (the number the client sent)
        self._workout_start_m = 0.0
        # faults (see sim.faults)
        self.nack_remaining = 0
        self.not_permitted_remaining = 0
        self.ignore_speed = profile.ignores_speed
        self.quirks = QuirkState(profile)  # start delay, speed revert (sim.quirks)

    # --- time ----------------------------------------------------------------------------------

    def advance(self, dt: float) -> None:
        if dt <= 0:
            return
        self.quirks.advance(self, dt)
        # the workout clock runs while running, and while the belt still rolls after a
        # stop or pause, so the average speed stays distance / time
        if self.state is RunState.RUNNING:
            self.elapsed_s += dt
            self.running_s += dt
        else:  # the belt's target is 0: it rolls for speed / deceleration more seconds
            self.elapsed_s += min(dt, self.belt.speed_kmh / self.belt.decel_kmh_per_s)
        self.belt.advance(dt)
        if self.runner is not None:
            self.runner.advance(dt, self.belt.speed_kmh, self.belt.incline_pct)

    # --- reads ---------------------------------------------------------------------------------

    def read(self, uuid: str) -> bytes:
        """The value of a readable characteristic (FTMS or Device Information)."""
        self.quirks.heard()
        info = self.device
        match uuid:
            case uuids.FEATURE_UUID:
                return encode_machine_features(self.features())
            case uuids.SPEED_RANGE_UUID:
                p = self.profile
                return encode_speed_range(SpeedRange(p.min_kmh, p.max_kmh, p.speed_increment_kmh))
            case uuids.INCLINATION_RANGE_UUID:
                p = self.profile
                return encode_inclination_range(
                    InclinationRange(p.min_incline_pct, p.max_incline_pct, p.incline_increment_pct)
                )
            case uuids.TRAINING_STATUS_UUID:
                return self.training_status_bytes()
            case uuids.MANUFACTURER_NAME_UUID:
                return info.manufacturer.encode()
            case uuids.MODEL_NUMBER_UUID:
                return info.model.encode()
            case uuids.SERIAL_NUMBER_UUID:
                return info.serial.encode()
            case uuids.HARDWARE_REVISION_UUID:
                return info.hardware.encode()
            case uuids.FIRMWARE_REVISION_UUID:
                return info.firmware.encode()
            case uuids.SOFTWARE_REVISION_UUID:
                return info.software.encode()
        raise AttError(0x02, f"characteristic {uuid} cannot be read")

    def features(self) -> MachineFeatures:
        machine = (
            MachineFeature.AVERAGE_SPEED
            | MachineFeature.TOTAL_DISTANCE
            | MachineFeature.INCLINATION
            | MachineFeature.EXPENDED_ENERGY
            | MachineFeature.ELAPSED_TIME
        )
        if self.runner is not None:
            machine |= MachineFeature.HEART_RATE_MEASUREMENT
        targets = TargetSettingFeature.SPEED_TARGET | TargetSettingFeature.INCLINATION_TARGET
        return MachineFeatures(machine=machine, target_setting=targets)

    def training_status_code(self) -> TrainingStatusCode:
        if self.state in (RunState.RUNNING, RunState.PAUSED):
            return TrainingStatusCode.MANUAL_MODE
        return TrainingStatusCode.IDLE

    def training_status_bytes(self) -> bytes:
        return encode_training_status(TrainingStatus(self.training_status_code()))

    # --- telemetry -----------------------------------------------------------------------------

    @property
    def workout_distance_m(self) -> float:
        return self.belt.distance_m - self._workout_start_m

    def treadmill_data(self) -> TreadmillData:
        """The record the treadmill reports now (speeds in km/h, as on the wire)."""
        belt = self.belt
        distance = self.workout_distance_m
        if self.profile.lifetime_odometer_m:
            distance = self.profile.lifetime_odometer_m + belt.distance_m
        elapsed = self.elapsed_s
        average = self.workout_distance_m / elapsed * 3.6 if elapsed >= 1 else 0.0
        heart_rate = round(self.runner.heart_rate_bpm) if self.runner is not None else None
        kcal = self.workout_distance_m / 1000 * KCAL_PER_KM
        return TreadmillData(
            speed_kmh=round(belt.speed_kmh, 2),
            average_speed_kmh=round(average, 2),
            distance_m=int(min(distance, 0xFFFFFF)),
            inclination_pct=round(belt.incline_pct, 1),
            ramp_angle_deg=round(math.degrees(math.atan(belt.incline_pct / 100)), 1),
            energy_kcal=int(kcal),
            energy_per_hour_kcal=int(belt.speed_kmh * KCAL_PER_KM),
            energy_per_minute_kcal=int(belt.speed_kmh * KCAL_PER_KM / 60),
            heart_rate_bpm=heart_rate,
            elapsed_s=int(elapsed),
        )

    def treadmill_data_packets(self, max_len: int = 20) -> list[bytes]:
        """The current record as notifications of at most ``max_len`` bytes (More Data split)."""
        return split_treadmill_data(self.treadmill_data(), max_len=max_len)

    # --- the control point ---------------------------------------------------------------------

    def write_control_point(self, data: bytes) -> WriteOutcome:
        """Handle one control-point write; raises AttError for an empty write."""
        if not data:
            raise AttError(ATT_INVALID_LENGTH, "an empty control point write has no op code")
        opcode = data[0]
        self.quirks.heard(self, opcode)
        if self.nack_remaining > 0:
            self.nack_remaining -= 1
            return self._answer(opcode, ResultCode.FAILED)
        if self.not_permitted_remaining > 0:
            # a spurious 0x05 (control is kept): what Kingsmith pads answer right after Start
            self.not_permitted_remaining -= 1
            return self._answer(opcode, ResultCode.CONTROL_NOT_PERMITTED)
        try:
            request = decode_control_request(bytes(data))
        except FtmsDecodeError:
            return self._answer(opcode, ResultCode.INVALID_PARAMETER)
        if not isinstance(request, RequestControl) and not self._has_control():
            return self._answer(opcode, ResultCode.CONTROL_NOT_PERMITTED)
        match request:
            case RequestControl():
                self.control_granted = True
                return self._answer(opcode, ResultCode.SUCCESS)
            case Reset():
                return self._reset(opcode)
            case SetTargetSpeed(speed_kmh=kmh):
                return self._set_speed(opcode, kmh)
            case SetTargetInclination(incline_pct=pct):
                return self._set_incline(opcode, pct)
            case StartResume():
                return self._start(opcode)
            case StopPause(param=param):
                return self._stop_pause(opcode, param)
        return self._answer(opcode, ResultCode.NOT_SUPPORTED)

    def _has_control(self) -> bool:
        return self.control_granted or not self.profile.control_required

    def _answer(
        self, opcode: int, result: ResultCode, notifications: tuple[Notification, ...] = ()
    ) -> WriteOutcome:
        return WriteOutcome(encode_control_response(ControlResponse(opcode, result)), notifications)

    def _status(self, status: MachineStatus) -> Notification:
        return Notification(uuids.MACHINE_STATUS_UUID, encode_machine_status(status))

    def _enter(self, state: RunState, *status: MachineStatus) -> tuple[Notification, ...]:
        """Move to ``state``: its Machine Status, and Training Status if that changes."""
        before = self.training_status_code()
        self.state = state
        out = [self._status(s) for s in status]
        if self.training_status_code() != before:
            out.append(Notification(uuids.TRAINING_STATUS_UUID, self.training_status_bytes()))
        return tuple(out)

    def _belt_kmh(self, target_kmh: float) -> float:
        """What the motor makes of a target: an mph machine reads the number as mph."""
        if self.profile.mph_target:
            return min(target_kmh * MPH_KMH, self.profile.max_kmh)
        return target_kmh

    def _reset(self, opcode: int) -> WriteOutcome:
        self.belt.target_kmh = 0.0
        self.belt.target_incline_pct = 0.0
        self.target_speed_kmh = 0.0
        self.control_granted = False
        self._new_workout()
        notes = self._enter(RunState.IDLE, MachineStatus(MachineStatusOp.RESET))
        return self._answer(opcode, ResultCode.SUCCESS, notes)

    def _set_speed(self, opcode: int, kmh: float) -> WriteOutcome:
        p = self.profile
        if p.speed_needs_running_s and (
            self.state is not RunState.RUNNING or self.running_s < p.speed_needs_running_s
        ):
            return self._answer(opcode, ResultCode.CONTROL_NOT_PERMITTED)
        # The range (0x2AD4) is in km/h; an mph machine checks the speed it reads the number as.
        belt_kmh = kmh * MPH_KMH if p.mph_target else kmh
        if not (p.min_kmh - 1e-9 <= belt_kmh <= p.max_kmh + 1e-9):
            return self._answer(opcode, ResultCode.INVALID_PARAMETER)
        if self.ignore_speed:
            return self._answer(opcode, ResultCode.SUCCESS)
        self.target_speed_kmh = kmh
        if self.state is RunState.RUNNING:
            self.belt.target_kmh = self._belt_kmh(kmh)
        status = MachineStatus(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=kmh)
        return self._answer(opcode, ResultCode.SUCCESS, (self._status(status),))

    def _set_incline(self, opcode: int, pct: float) -> WriteOutcome:
        p = self.profile
        if not (p.min_incline_pct - 1e-9 <= pct <= p.max_incline_pct + 1e-9):
            return self._answer(opcode, ResultCode.INVALID_PARAMETER)
        self.belt.target_incline_pct = pct
        status = MachineStatus(MachineStatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=pct)
        return self._answer(opcode, ResultCode.SUCCESS, (self._status(status),))

    def _start(self, opcode: int) -> WriteOutcome:
        if self.state is RunState.RUNNING:
            if self.profile.start_toggle:
                return self._stop_pause(opcode, StopPauseParam.PAUSE)
            return self._answer(opcode, ResultCode.SUCCESS)
        if self.state in (RunState.IDLE, RunState.STOPPED):
            self._new_workout()
        if self.target_speed_kmh <= 0:
            self.target_speed_kmh = self.profile.min_kmh
        self.belt.target_kmh = self._belt_kmh(self.target_speed_kmh)
        self.running_s = 0.0
        self.quirks.started(self)
        notes = self._enter(
            RunState.RUNNING, MachineStatus(MachineStatusOp.STARTED_OR_RESUMED_BY_USER)
        )
        return self._answer(opcode, ResultCode.SUCCESS, notes)

    def _stop_pause(self, opcode: int, param: int) -> WriteOutcome:
        if param not in (StopPauseParam.STOP, StopPauseParam.PAUSE):
            return self._answer(opcode, ResultCode.INVALID_PARAMETER)
        self.belt.target_kmh = 0.0
        if param == StopPauseParam.STOP:
            self.target_speed_kmh = 0.0
            new_state = RunState.STOPPED
        else:
            new_state = RunState.PAUSED if self.state is RunState.RUNNING else self.state
        if new_state is self.state:
            return self._answer(opcode, ResultCode.SUCCESS)
        status = MachineStatus(
            MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, stop_pause=StopPauseParam(param)
        )
        return self._answer(opcode, ResultCode.SUCCESS, self._enter(new_state, status))

    def _new_workout(self) -> None:
        self.elapsed_s = 0.0
        self._workout_start_m = self.belt.distance_m

    # --- events at the console and on the link -------------------------------------------------

    def pull_safety_key(self) -> tuple[Notification, ...]:
        """The safety key is pulled: the motor is cut and the belt stops at once."""
        self.belt.stop_now()
        self.target_speed_kmh = 0.0
        return self._enter(RunState.STOPPED, MachineStatus(MachineStatusOp.STOPPED_BY_SAFETY_KEY))

    def take_control_at_console(self) -> tuple[Notification, ...]:
        """Someone at the console (or another app) took over: control permission is lost."""
        self.control_granted = False
        return (self._status(MachineStatus(MachineStatusOp.CONTROL_PERMISSION_LOST)),)

    def console_set_speed(self, kmh: float) -> tuple[Notification, ...]:
        """Someone pressed + or - at the console: the belt heads for ``kmh`` (true km/h).

        Control permission is not touched (many machines let the console override at any time);
        the change is notified as Target Speed Changed, in the units the machine speaks.
        """
        kmh = min(max(kmh, self.profile.min_kmh), self.profile.max_kmh)
        wire = kmh / MPH_KMH if self.profile.mph_target else kmh
        self.target_speed_kmh = round(wire, 2)
        if self.state is RunState.RUNNING:
            self.belt.target_kmh = kmh
        status = MachineStatus(
            MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=self.target_speed_kmh
        )
        return (self._status(status),)

    def console_start(self) -> tuple[Notification, ...]:
        """Start pressed at the console: a stopped or paused belt starts (a running one runs on)."""
        if self.state is RunState.RUNNING:
            return ()
        if self.state in (RunState.IDLE, RunState.STOPPED):
            self._new_workout()
        if self.target_speed_kmh <= 0:
            self.target_speed_kmh = self.profile.min_kmh
        self.belt.target_kmh = self._belt_kmh(self.target_speed_kmh)
        self.running_s = 0.0
        return self._enter(
            RunState.RUNNING, MachineStatus(MachineStatusOp.STARTED_OR_RESUMED_BY_USER)
        )

    def console_stop(self) -> tuple[Notification, ...]:
        """Stop pressed at the console: the belt ramps to 0 and the workout ends."""
        self.belt.target_kmh = 0.0
        self.target_speed_kmh = 0.0
        if self.state is RunState.STOPPED:
            return ()
        status = MachineStatus(
            MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, stop_pause=StopPauseParam.STOP
        )
        return self._enter(RunState.STOPPED, status)

    def link_lost(self) -> None:
        """Control permission belongs to a connection: it ends with it. The belt runs on."""
        self.control_granted = False
