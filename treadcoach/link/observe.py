"""What the link knows about the machine, sans-I/O: bytes and times in, typed events out.

``MachineView`` is fed every notification the link receives (Treadmill Data, Machine Status,
Training Status) and every command the machine accepted, each with the loop time; it keeps the
belt belief (``belt.BeltBelief``), the targets the machine accepted, the last telemetry, and
returns the ``LinkEvent``s to publish. A frame that does not decode becomes a ``BadFrameEvent``
(counted in ``bad_frames``), never an exception: a malformed packet never drops the link.
Quirks (``quirks.py``) are undone here, at the edge, so every consumer sees true km/h.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from treadcoach.errors import FtmsDecodeError
from treadcoach.ftms import (
    ControlRequest,
    MachineStatus,
    SetTargetInclination,
    SetTargetSpeed,
    StartResume,
    StopPause,
    TrainingStatus,
    TreadmillData,
    TreadmillDataAssembler,
    decode_machine_status,
    decode_training_status,
)
from treadcoach.ftms.enums import MachineStatusOp, TrainingStatusCode
from treadcoach.link.belt import BeltBelief
from treadcoach.link.events import (
    BadFrameEvent,
    LinkEvent,
    StatusEvent,
    TelemetryEvent,
    TrainingStatusEvent,
)
from treadcoach.link.quirks import (
    SpeedQuirks,
    commanded_kmh,
    normalise_machine_status,
    normalise_treadmill_data,
    normalise_treadmill_packet,
)
from treadcoach.link.timeouts import FRESH_TELEMETRY_S

__all__ = ["MachineView"]

T = TypeVar("T")

_STOPPED_STATUSES: Final = frozenset(
    {
        MachineStatusOp.RESET,
        MachineStatusOp.STOPPED_OR_PAUSED_BY_USER,
        MachineStatusOp.STOPPED_BY_SAFETY_KEY,
    }
)
_IDLE_TRAINING: Final = frozenset(
    {TrainingStatusCode.IDLE, TrainingStatusCode.PRE_WORKOUT, TrainingStatusCode.POST_WORKOUT}
)


class MachineView:
    """The machine as the link sees it. ``quirks`` is the device profile (may be replaced)."""

    def __init__(self, quirks: SpeedQuirks) -> None:
        self.quirks = quirks
        self.belt = BeltBelief()
        #: the targets the machine accepted last (0 after Stop/Pause), true km/h and %
        self.target_speed_kmh: float | None = None
        self.target_incline_pct: float | None = None
        self.last_telemetry: TreadmillData | None = None
        self.last_telemetry_at: float | None = None
        self.training_status: TrainingStatus | None = None
        #: loop time GATT last came up (the telemetry age counts from it before any record)
        self.connected_at: float | None = None
        #: notifications and indications that did not decode (skipped, link kept)
        self.bad_frames = 0
        self._assembler = TreadmillDataAssembler()

    # --- what the link asks -------------------------------------------------------------------

    def telemetry_age_s(self, now: float) -> float:
        since = self.last_telemetry_at if self.last_telemetry_at is not None else self.connected_at
        return float("inf") if since is None else now - since

    def standing_still(self, now: float) -> bool:
        """Fresh telemetry says 0 and the machine is in a stopped state."""
        return (
            self.belt.running is False
            and self.belt.speed_kmh is not None
            and self.belt.speed_kmh <= 0.0
            and self.telemetry_age_s(now) <= FRESH_TELEMETRY_S
        )

    def running_or_moving(self) -> bool:
        return bool(self.belt.running) or (self.belt.speed_kmh or 0.0) > 0.0

    # --- what the link tells it ---------------------------------------------------------------

    def connected(self, now: float) -> None:
        """GATT is up (again): a record split across the drop is not resumed."""
        self._assembler.reset()
        self.connected_at = now

    def accepted(self, request: ControlRequest, now: float, starts_at_write: int | None) -> None:
        """The machine acknowledged ``request``. Call it when the acknowledgement arrives, in
        order with the notifications: a Machine Status or record received after it is newer
        (model finding 9). ``starts_at_write`` is ``belt.starts_seen`` when the request was
        written: a start reported since makes a Stop/Pause acknowledgement no news of a
        stopped belt (the order is unknowable; the belt counts as running)."""
        if isinstance(request, SetTargetSpeed):
            self.target_speed_kmh = commanded_kmh(request.speed_kmh, self.quirks)
        elif isinstance(request, SetTargetInclination):
            self.target_incline_pct = request.incline_pct
        elif isinstance(request, StartResume):
            self.belt.started(now, reported=False)
        elif isinstance(request, StopPause):
            self.belt.stopped(now, acknowledged=True, starts_at_write=starts_at_write)
            self.target_speed_kmh = 0.0

    def training_read(self, status: TrainingStatus) -> None:
        """Training Status as read at connect."""
        self.training_status = status
        if status.status in _IDLE_TRAINING:
            self.belt.idle()

    def bad_frame(
        self, characteristic: str, error: Exception, raw: bytes, now: float
    ) -> BadFrameEvent:
        self.bad_frames += 1
        return BadFrameEvent(characteristic, str(error), raw, now)

    def decode(
        self, characteristic: str, decode: Callable[[bytes], T], raw: bytes, now: float
    ) -> T | BadFrameEvent:
        try:
            return decode(raw)
        except FtmsDecodeError as error:
            return self.bad_frame(characteristic, error, raw, now)

    # --- notifications ------------------------------------------------------------------------

    def treadmill_data(self, data: bytes, now: float) -> list[LinkEvent]:
        raw = normalise_treadmill_packet(data, self.quirks)
        record = self.decode("Treadmill Data", self._assembler.feed, raw, now)
        if record is None or isinstance(record, BadFrameEvent):
            return [] if record is None else [record]
        record = normalise_treadmill_data(record, self.quirks)
        self.last_telemetry_at = now
        self.last_telemetry = record
        if record.speed_kmh is not None:
            self.belt.telemetry(record.speed_kmh, now)
        return [TelemetryEvent(record, now)]

    def machine_status(
        self, raw: bytes, now: float
    ) -> tuple[list[LinkEvent], MachineStatus | None]:
        """The events, and the decoded status (for the control point's permission)."""
        status = self.decode("Machine Status", decode_machine_status, raw, now)
        if isinstance(status, BadFrameEvent):
            return [status], None
        status = normalise_machine_status(status, self.quirks)
        op = status.op
        if op == MachineStatusOp.STARTED_OR_RESUMED_BY_USER:
            self.belt.started(now)
        elif op in _STOPPED_STATUSES:
            self.belt.stopped(now)
            self.target_speed_kmh = 0.0
        elif op == MachineStatusOp.TARGET_SPEED_CHANGED and status.target_speed_kmh is not None:
            self.target_speed_kmh = status.target_speed_kmh
        elif op == MachineStatusOp.TARGET_INCLINE_CHANGED and status.target_incline_pct is not None:
            self.target_incline_pct = status.target_incline_pct
        return [StatusEvent(status, now)], status

    def training_status_changed(self, raw: bytes, now: float) -> list[LinkEvent]:
        status = self.decode("Training Status", decode_training_status, raw, now)
        if isinstance(status, BadFrameEvent):
            return [status]
        self.training_read(status)
        return [TrainingStatusEvent(status, now)]
