"""FIT encoding shared by the activity export (``fit.py``) and the workout files
(``workout_files.py``): the byte writer, the developer fields, one workout step.

The writer encodes each data message straight to bytes with fit-tool, writing a definition
record whenever the layout changes, rather than fit-tool's FitFileBuilder: the builder needs a
fresh message (~100 field objects, ~1.5 ms) per record, which made a 45-minute session take ~5 s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from fit_tool.base_type import BaseType
from fit_tool.data_message import DataMessage
from fit_tool.definition_message import DefinitionMessage
from fit_tool.developer_field import DeveloperField
from fit_tool.fit_file_header import FitFileHeader
from fit_tool.profile.messages.developer_data_id_message import DeveloperDataIdMessage
from fit_tool.profile.messages.field_description_message import FieldDescriptionMessage
from fit_tool.profile.messages.workout_step_message import WorkoutStepMessage
from fit_tool.profile.profile_type import (
    Intensity,
    WorkoutStepDuration,
    WorkoutStepTarget,
)
from fit_tool.record import Record
from fit_tool.utils.crc import crc16
from fit_tool.validation import validate_definition

from treadcoach.coach.kinds import SegmentKind

__all__ = [
    "DEVELOPER_APP_ID",
    "INTENSITY",
    "KIND_TITLES",
    "PAIN",
    "RPE",
    "RUNNING_FROM_KMH",
    "DevField",
    "FitWriter",
    "StepSpec",
    "dev_field",
    "developer_messages",
    "software_version",
    "sport_of",
    "step_names",
    "workout_step",
]

# Garmin's intensities; a backward walk is "active" work like a forward one -- the developer
# field ``direction`` (below) is what tells them apart.
INTENSITY: dict[SegmentKind, Intensity] = {
    SegmentKind.WARMUP: Intensity.WARMUP,
    SegmentKind.FORWARD_WALK: Intensity.ACTIVE,
    SegmentKind.FORWARD_RUN: Intensity.ACTIVE,
    SegmentKind.BACKWARD_WALK: Intensity.ACTIVE,
    SegmentKind.RETRO_RUN: Intensity.ACTIVE,
    SegmentKind.RECOVERY: Intensity.RECOVERY,
    SegmentKind.TURNAROUND: Intensity.REST,
    SegmentKind.COOLDOWN: Intensity.COOLDOWN,
}

KIND_TITLES: dict[SegmentKind, str] = {
    SegmentKind.WARMUP: "Warm-up",
    SegmentKind.FORWARD_WALK: "Forward walk",
    SegmentKind.FORWARD_RUN: "Forward run",
    SegmentKind.BACKWARD_WALK: "Backward walk",
    SegmentKind.RETRO_RUN: "Retro run",
    SegmentKind.RECOVERY: "Recovery walk",
    SegmentKind.TURNAROUND: "Turnaround",
    SegmentKind.COOLDOWN: "Cool-down",
}

# Above this a forward segment is running, below it walking (brisk walking tops out near 7 km/h).
RUNNING_FROM_KMH = 7.0
_RUNNING_KINDS = frozenset({SegmentKind.FORWARD_RUN, SegmentKind.RETRO_RUN})
_ENVELOPE = frozenset({SegmentKind.WARMUP, SegmentKind.COOLDOWN})


def sport_of(
    stretches: Iterable[tuple[SegmentKind, float, float]],
) -> Literal["walking", "running"]:
    """Walking or running, from (kind, km/h, seconds) stretches: running if more was run.

    The main set decides: warm-up and cool-down count only when there is nothing else (a run
    between a walked warm-up and cool-down is a run), turnarounds never. Retro and forward runs
    are running, other forward segments at ``RUNNING_FROM_KMH`` or more too.
    """
    totals = {"main": [0.0, 0.0], "envelope": [0.0, 0.0]}  # [ran, walked]
    for kind, kmh, seconds in stretches:
        if kind is SegmentKind.TURNAROUND:
            continue
        part = totals["envelope" if kind in _ENVELOPE else "main"]
        running = kind in _RUNNING_KINDS or (not kind.is_backward and kmh >= RUNNING_FROM_KMH)
        part[0 if running else 1] += seconds
    ran, walked = totals["main"] if any(totals["main"]) else totals["envelope"]
    return "running" if ran > walked else "walking"


# The application id of treadcoach's developer fields (a fixed UUID: tools key fields by it).
DEVELOPER_APP_ID = bytes.fromhex("7472656164636f6163680000000b4b57")


@dataclass(frozen=True, slots=True)
class DevField:
    number: int
    name: str
    base_type: BaseType
    units: str = ""
    scale: int = 1


# The developer fields treadcoach writes (developer_data_index 0).
DIRECTION = DevField(0, "direction", BaseType.STRING)  # laps: "forward" | "backward"
# Floats, not scaled integers: Garmin's own SDK hands developer fields back unscaled.
BACKWARD_TIME = DevField(1, "backward_time", BaseType.FLOAT32, "s")  # session
BACKWARD_DISTANCE = DevField(2, "backward_distance", BaseType.FLOAT32, "m")  # session
# The after-session check-in (history/checkin.py), on the session. Developer fields, not the
# profile's session.workout_rpe (field 193): that one is "Borg CR10 / 0-10 RPE scale,
# multiplied 10x" (FIT SDK profile 21.x), and our RPE is Borg's 6-20 scale, which has no exact
# mapping onto CR10; the profile has no pain field at all. Whole numbers, unscaled.
RPE = DevField(3, "rpe", BaseType.UINT8, "Borg 6-20")  # session
PAIN = DevField(4, "pain", BaseType.UINT8, "0-10")  # session
DEV_FIELDS = (DIRECTION, BACKWARD_TIME, BACKWARD_DISTANCE, RPE, PAIN)


def developer_messages(
    app_version: int, fields: tuple[DevField, ...] = DEV_FIELDS
) -> list[DataMessage]:
    """The developer_data_id and field_description messages, before any message uses them."""
    data_id = DeveloperDataIdMessage()
    data_id.developer_data_index = 0
    data_id.application_id = DEVELOPER_APP_ID
    data_id.application_version = app_version
    messages: list[DataMessage] = [data_id]
    for field in fields:
        description = FieldDescriptionMessage()
        description.developer_data_index = 0
        description.field_definition_number = field.number
        description.fit_base_type_id = field.base_type.value
        description.field_name = field.name
        if field.units:
            description.units = field.units
        if field.scale != 1:
            description.scale = field.scale
        messages.append(description)
    return messages


def dev_field(field: DevField, value: str | float) -> DeveloperField:
    dev = DeveloperField(
        field_id=field.number,
        name=field.name,
        base_type=field.base_type,
        scale=field.scale,
        offset=0,
        units=field.units,
        size=0,
        growable=True,
        developer_data_index=0,
    )
    dev.set_value(0, value)
    return dev


def software_version(version: str) -> float:
    """``X.Y.Z`` as FIT's software_version (uint16, scale 100): 0.1.0 -> 0.10, 1.2.3 -> 1.23.

    The value reads as the version with its dot and two digits, as Garmin's firmware numbers
    do; a minor or patch above 9 keeps the minor (as two digits) and drops the patch.
    """
    parts = [int(p) for p in version.split(".")[:3] if p.isdigit()]
    major, minor, patch = [*parts, 0, 0, 0][:3]
    hundredths = min(minor, 99) if minor > 9 or patch > 9 else minor * 10 + patch
    return min(major, 654) + hundredths / 100


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One workout step: a segment of the plan as FIT (and Zwift) can say it."""

    kind: SegmentKind
    name: str
    target_kmh: float
    duration_s: float | None = None
    distance_m: float | None = None
    notes: str = ""


def step_names(kinds: list[SegmentKind]) -> list[str]:
    """ "Backward walk 2/6": the kind's title and its place among the plan's steps of that kind."""
    totals = {kind: kinds.count(kind) for kind in kinds}
    seen: dict[SegmentKind, int] = {}
    names = []
    for kind in kinds:
        seen[kind] = seen.get(kind, 0) + 1
        title = KIND_TITLES[kind]
        names.append(f"{title} {seen[kind]}/{totals[kind]}" if totals[kind] > 1 else title)
    return names


def workout_step(index: int, spec: StepSpec) -> WorkoutStepMessage:
    message = WorkoutStepMessage()
    message.message_index = index
    message.workout_step_name = spec.name[:50]
    if spec.duration_s is not None:
        message.duration_type = WorkoutStepDuration.TIME
        message.duration_time = spec.duration_s
    elif spec.distance_m is not None:
        message.duration_type = WorkoutStepDuration.DISTANCE
        message.duration_distance = spec.distance_m
    else:
        message.duration_type = WorkoutStepDuration.OPEN  # ends on the lap button
    message.target_type = WorkoutStepTarget.SPEED
    message.target_value = 0  # 0 with custom bounds: a custom speed range, not a zone
    speed = spec.target_kmh / 3.6
    message.custom_target_speed_low = speed
    message.custom_target_speed_high = speed
    message.intensity = INTENSITY[spec.kind]
    if spec.notes:
        message.notes = spec.notes[:100]
    return message


class FitWriter:
    """Encodes data messages straight to bytes, writing a definition when the layout changes."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._definition: DefinitionMessage | None = None  # all messages use local type 0

    def add(self, message: DataMessage) -> None:
        definition = message.definition_message
        if definition is None:
            definition = DefinitionMessage.from_data_message(message)
            validate_definition(definition)
            message.set_definition_message(definition)
        if definition is not self._definition:
            self._body += Record.from_message(definition).to_bytes()
            self._definition = definition
        self._body += Record.from_message(message).to_bytes()

    def to_bytes(self) -> bytes:
        header: bytes = FitFileHeader(records_size=len(self._body), gen_crc=True).to_bytes()
        crc: int = crc16(bytes(self._body), crc=crc16(header))
        return header + bytes(self._body) + crc.to_bytes(2, "little")
