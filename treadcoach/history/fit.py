"""FIT export of a journaled session: a treadmill-running activity Garmin Connect and Strava read.

Messages in the "Summary Last" order Garmin devices write (FIT cookbook, encoding activity files):
file_id, device_info (treadcoach, the treadmill), timer start, records, timer stop, one lap per
segment, session, activity. Decoders take each summary's span from start_time +
total_elapsed_time, so the order is about compatibility, not meaning.

The file is encoded here, record by record, rather than with fit-tool's FitFileBuilder: the
builder needs a fresh RecordMessage (~100 field objects, ~1.5 ms) per record, which made a
45-minute session take ~5 s; one reused RecordMessage encoded at once takes a fraction of that.

Records are at most one per second (FIT timestamps have 1 s resolution; 10 Hz telemetry would
give duplicate timestamps, which some importers reject): the last reading in each second is kept.
Distances are the journal's own tally (``history.tally``), so the file agrees with
``treadcoach history``.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fit_tool.data_message import DataMessage
from fit_tool.definition_message import DefinitionMessage
from fit_tool.fit_file_header import FitFileHeader
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.device_info_message import DeviceInfoMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.profile_type import (
    Activity,
    Event,
    EventType,
    FileType,
    Intensity,
    LapTrigger,
    Manufacturer,
    SessionTrigger,
    Sport,
    SubSport,
    TimerTrigger,
)
from fit_tool.record import Record
from fit_tool.utils.crc import crc16
from fit_tool.validation import validate_definition

from treadcoach import __version__
from treadcoach.coach.events import Event as StreamEvent
from treadcoach.coach.events import Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.errors import FitExportError
from treadcoach.history.journal import Journal, SessionRecord
from treadcoach.history.tally import SegmentDone, Tally, segments_done, step

__all__ = ["INTENSITY", "default_fit_name", "export_fit", "fit_bytes"]

# FIT has no backward sub-sport: backward work is "active", turnarounds and walk-backs "rest".
INTENSITY: dict[SegmentKind, Intensity] = {
    SegmentKind.WARMUP: Intensity.WARMUP,
    SegmentKind.FORWARD_WALK: Intensity.ACTIVE,
    SegmentKind.FORWARD_RUN: Intensity.ACTIVE,
    SegmentKind.BACKWARD_WALK: Intensity.ACTIVE,
    SegmentKind.RETRO_RUN: Intensity.ACTIVE,
    SegmentKind.RECOVERY: Intensity.REST,
    SegmentKind.TURNAROUND: Intensity.REST,
    SegmentKind.COOLDOWN: Intensity.COOLDOWN,
}

_FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z in Unix seconds
_PRODUCT_ID = 1  # our own id under manufacturer "development" (255)


@dataclass(frozen=True, slots=True)
class _Sample:
    t: float
    distance_m: float
    speed_kmh: float
    heart_rate_bpm: int | None


def default_fit_name(record: SessionRecord) -> str:
    """``treadcoach-20250301-0730-12.fit``: local start time and session id."""
    return f"treadcoach-{record.started_at.astimezone().strftime('%Y%m%d-%H%M')}-{record.id}.fit"


def export_fit(journal: Journal, session_id: int, path: Path) -> Path:
    """Write the session as a FIT activity at ``path`` (replaced atomically) and return it."""
    record = journal.session(session_id)
    data = fit_bytes(record, journal.events(session_id))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FitExportError(str(path), f"cannot write it ({exc.strerror or exc}).") from exc
    return path


def _samples(events: Sequence[StreamEvent]) -> list[_Sample]:
    samples: list[_Sample] = []
    tally = Tally()
    for event in events:
        tally = step(tally, event)
        if isinstance(event, Telemetry):
            samples.append(
                _Sample(event.t, tally.distance_m, event.speed_kmh, event.heart_rate_bpm)
            )
    return samples


def _one_per_second(samples: list[_Sample], start_ms: int) -> list[tuple[int, _Sample]]:
    """(FIT timestamp in ms, sample): the last sample of each whole second, as FIT rounds."""
    by_second: dict[int, _Sample] = {}
    for sample in samples:
        by_second[round((start_ms + sample.t * 1000) / 1000)] = sample  # the last one wins
    return [(second * 1000, sample) for second, sample in by_second.items()]


def fit_bytes(record: SessionRecord, events: Sequence[StreamEvent]) -> bytes:
    """The FIT activity file for one session, as bytes (pure: same input, same bytes)."""
    samples = _samples(events)
    if not samples:
        raise FitExportError(
            f"session {record.id}", "has no telemetry, so there is no activity to export."
        )
    start_ms = round(record.started_at.timestamp() * 1000)

    def at(t: float) -> int:
        return start_ms + round(t * 1000)

    duration_s = max(record.duration_s, samples[-1].t)
    end_ms = at(duration_s)
    laps = segments_done(events) or [_whole_session_lap(samples, duration_s)]
    rates = [s.heart_rate_bpm for s in samples if s.heart_rate_bpm is not None]
    builder = _FitWriter()

    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = _PRODUCT_ID
    file_id.serial_number = zlib.crc32(record.address.encode()) or 1
    file_id.time_created = start_ms
    builder.add(file_id)

    for index, name, version in ((0, "treadcoach", __version__), (1, record.device, None)):
        info = DeviceInfoMessage()
        info.timestamp = start_ms
        info.device_index = index  # 0 is the creator (treadcoach), 1 the treadmill
        info.manufacturer = Manufacturer.DEVELOPMENT.value
        info.product_name = name[:49]
        if version is not None:
            info.software_version = _version_number(version)
        builder.add(info)

    builder.add(_timer_event(start_ms, EventType.START))
    message = RecordMessage()  # one message, re-filled and encoded per sample (see above)
    message.timestamp = start_ms
    message.distance = 0.0
    message.speed = 0.0
    message.enhanced_speed = 0.0
    if rates:  # then every record carries heart_rate; a missing reading encodes as invalid
        message.heart_rate = rates[0]
    definition = DefinitionMessage.from_data_message(message)
    validate_definition(definition)
    message.set_definition_message(definition)
    for timestamp_ms, sample in _one_per_second(samples, start_ms):
        message.timestamp = timestamp_ms
        message.distance = sample.distance_m
        message.speed = sample.speed_kmh / 3.6
        message.enhanced_speed = sample.speed_kmh / 3.6
        if rates:
            message.heart_rate = sample.heart_rate_bpm
        builder.add(message)
    builder.add(_timer_event(end_ms, EventType.STOP_ALL))

    for index, lap in enumerate(laps):
        builder.add(_lap(lap, index, at, last=index == len(laps) - 1))

    total_distance = samples[-1].distance_m
    session = SessionMessage()
    session.message_index = 0
    session.timestamp = end_ms
    session.start_time = start_ms
    session.event = Event.SESSION
    session.event_type = EventType.STOP
    session.sport = Sport.RUNNING
    session.sub_sport = SubSport.TREADMILL
    session.total_elapsed_time = duration_s
    session.total_timer_time = duration_s
    session.total_distance = total_distance
    avg_speed = total_distance / duration_s if duration_s > 0 else 0.0
    max_speed = max(s.speed_kmh for s in samples) / 3.6
    session.avg_speed = avg_speed
    session.enhanced_avg_speed = avg_speed
    session.max_speed = max_speed
    session.enhanced_max_speed = max_speed
    session.first_lap_index = 0
    session.num_laps = len(laps)
    session.trigger = SessionTrigger.ACTIVITY_END
    if rates:
        session.avg_heart_rate = round(sum(rates) / len(rates))
        session.max_heart_rate = max(rates)
    builder.add(session)

    activity = ActivityMessage()
    activity.timestamp = end_ms
    activity.total_timer_time = duration_s
    activity.num_sessions = 1
    activity.type = Activity.MANUAL
    activity.event = Event.ACTIVITY
    activity.event_type = EventType.STOP
    activity.local_timestamp = _local_fit_seconds(record, duration_s)
    builder.add(activity)

    return builder.to_bytes()


class _FitWriter:
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


def _timer_event(timestamp_ms: int, kind: EventType) -> EventMessage:
    event = EventMessage()
    event.timestamp = timestamp_ms
    event.event = Event.TIMER
    event.event_type = kind
    event.timer_trigger = TimerTrigger.MANUAL
    return event


def _lap(lap: SegmentDone, index: int, at: Any, *, last: bool) -> LapMessage:
    message = LapMessage()
    message.message_index = index
    message.timestamp = at(lap.end_t)
    message.start_time = at(lap.start_t)
    message.event = Event.LAP
    message.event_type = EventType.STOP
    message.sport = Sport.RUNNING
    message.sub_sport = SubSport.TREADMILL
    message.intensity = INTENSITY[lap.kind]
    if last:
        message.lap_trigger = LapTrigger.SESSION_END
    elif lap.planned_distance_m is not None and lap.planned_duration_s is None:
        message.lap_trigger = LapTrigger.DISTANCE
    else:
        message.lap_trigger = LapTrigger.TIME
    message.total_elapsed_time = lap.duration_s
    message.total_timer_time = lap.duration_s
    message.total_distance = lap.distance_m
    speed = lap.distance_m / lap.duration_s if lap.duration_s > 0 else 0.0
    message.avg_speed = speed
    message.enhanced_avg_speed = speed
    message.max_speed = lap.max_speed_kmh / 3.6
    message.enhanced_max_speed = lap.max_speed_kmh / 3.6
    return message


def _whole_session_lap(samples: list[_Sample], duration_s: float) -> SegmentDone:
    """One lap for a session that never started a segment (telemetry only)."""
    return SegmentDone(
        index=0,
        kind=SegmentKind.FORWARD_WALK,
        target_kmh=0.0,
        planned_duration_s=None,
        planned_distance_m=None,
        start_t=0.0,
        end_t=duration_s,
        distance_m=samples[-1].distance_m,
        max_speed_kmh=max(s.speed_kmh for s in samples),
    )


def _version_number(version: str) -> float:
    """``0.1.0`` -> 0.1 (FIT software_version is a number with two decimals)."""
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    major, minor = [*parts, 0, 0][:2]
    return major + min(minor, 99) / 100


def _local_fit_seconds(record: SessionRecord, duration_s: float) -> int:
    """The activity's end as local wall-clock seconds since the FIT epoch (gives the TZ offset)."""
    started = record.started_at.astimezone()  # naive: local already; aware: to local
    offset = started.utcoffset()
    offset_s = offset.total_seconds() if offset is not None else 0.0
    return round(started.timestamp() + duration_s + offset_s) - _FIT_EPOCH_S
