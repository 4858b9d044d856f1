"""FIT export of a journaled session: an activity Garmin Connect, Strava and intervals.icu read.

Messages in the "Summary Last" order Garmin devices write (FIT cookbook, encoding activity
files): file_id, device_info (treadcoach, the treadmill), the developer field descriptions, the
plan as workout + workout_step, then records and timer events in time order, the laps, the
session and the activity.

What the file says, and where it comes from (issue 15):

* **Time.** Elapsed time is wall time from the connection to the summary. Pauses (the
  controller's pause/resume cues, ``tally.pauses``) are timer stop/start events and are left out
  of every ``total_timer_time`` (laps and session).
* **Laps tile the session.** One lap per segment, each running to the next one's start; the
  first starts with the session, and the belt's run-down after a stop is a lap of its own, so
  laps add up to the session's time and distance and every record falls in a lap.
* **Direction.** Each segment's lap points at its workout step (``wkt_step_index``; step names
  such as "Backward walk 2/6"), and carries the developer field ``direction`` = forward or
  backward; the session carries ``backward_time`` and ``backward_distance``. Those come from
  the journal's tally -- the one source of truth ``treadcoach history`` shows too.
* **Body.** Records carry ``heart_rate`` when telemetry carried ``heart_rate_bpm`` (the strap's
  pulse when one was used; 0 bpm, no skin contact, is an invalid reading); the session carries
  avg/max heart rate and the check-in as developer fields ``rpe`` (Borg 6-20) and ``pain``
  (0-10), see ``fit_encode.RPE``.
* **Sport.** ``sport="auto"`` files a session as walking (sub-sport indoor_walking) unless more
  of its main set's timer time was run than walked (``fit_encode.sport_of``); running is filed
  as running/treadmill. ``[history] sport`` overrides it.
* **Nothing after the summary.** Events the stream has after its summary are not in the file.

Records are at most one per second (FIT timestamps have 1 s resolution; 10 Hz telemetry would
give duplicate timestamps, which some importers reject): the last reading in each second is kept.
"""

from __future__ import annotations

import bisect
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fit_tool.definition_message import DefinitionMessage
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.device_info_message import DeviceInfoMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.messages.workout_message import WorkoutMessage
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
from fit_tool.validation import validate_definition

from treadcoach import __version__
from treadcoach.coach.events import Event as StreamEvent
from treadcoach.coach.events import SegmentStarted, Stop, Summary, Telemetry
from treadcoach.coach.kinds import BACKWARD_KINDS
from treadcoach.errors import FitExportError
from treadcoach.history.fit_encode import (
    BACKWARD_DISTANCE,
    BACKWARD_TIME,
    DIRECTION,
    INTENSITY,
    PAIN,
    RPE,
    FitWriter,
    StepSpec,
    dev_field,
    developer_messages,
    software_version,
    sport_of,
    step_names,
    workout_step,
)
from treadcoach.history.journal import Journal, SessionRecord
from treadcoach.history.tally import Tally, paused_within, pauses, step

__all__ = [
    "INTENSITY",
    "SPORTS",
    "SportChoice",
    "choose_sport",
    "default_fit_name",
    "export_fit",
    "fit_bytes",
]

SportChoice = Literal["auto", "walking", "running"]
SPORTS: tuple[SportChoice, ...] = ("auto", "walking", "running")

_SPORT: dict[str, tuple[Sport, SubSport]] = {
    # the FIT profile: treadmill is "Run/Fitness Equipment", indoor_walking "Walking/Fitness
    # Equipment" -- Garmin Connect shows them as Treadmill Running and Indoor Walking
    "running": (Sport.RUNNING, SubSport.TREADMILL),
    "walking": (Sport.WALKING, SubSport.INDOOR_WALKING),
}

_FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z in Unix seconds
_PRODUCT_ID = 1  # our own id under manufacturer "development" (255)


@dataclass(frozen=True, slots=True)
class _Sample:
    t: float
    distance_m: float  # the journal's tally: distance since the session began
    speed_kmh: float
    heart_rate_bpm: int | None


@dataclass(frozen=True, slots=True)
class _Lap:
    start_t: float
    end_t: float
    distance_m: float
    max_speed_kmh: float
    paused_s: float
    segment: SegmentStarted | None  # None: the run-down after the stop
    step_index: int | None

    @property
    def elapsed_s(self) -> float:
        return max(0.0, self.end_t - self.start_t)

    @property
    def timer_s(self) -> float:
        return max(0.0, self.elapsed_s - self.paused_s)

    @property
    def backward(self) -> bool:
        return self.segment is not None and self.segment.kind in BACKWARD_KINDS


def default_fit_name(record: SessionRecord) -> str:
    """``treadcoach-20250301-0730-12.fit``: local start time and session id."""
    return f"treadcoach-{record.started_at.astimezone().strftime('%Y%m%d-%H%M')}-{record.id}.fit"


def export_fit(
    journal: Journal, session_id: int, path: Path, *, sport: SportChoice = "auto"
) -> Path:
    """Write the session as a FIT activity at ``path`` (replaced atomically) and return it."""
    record = journal.session(session_id)
    data = fit_bytes(record, journal.events(session_id), sport=sport)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise FitExportError(str(path), f"cannot write it ({exc.strerror or exc}).") from exc
    return path


def _until_summary(events: Sequence[StreamEvent]) -> list[StreamEvent]:
    for index, event in enumerate(events):
        if isinstance(event, Summary):
            return list(events[: index + 1])
    return list(events)


def _samples(events: Sequence[StreamEvent]) -> tuple[list[_Sample], Tally]:
    samples: list[_Sample] = []
    tally = Tally()
    for event in events:
        tally = step(tally, event)
        if isinstance(event, Telemetry):
            # 0 bpm is a strap without skin contact, not a pulse: no reading (invalid in FIT)
            bpm = event.heart_rate_bpm or None
            samples.append(_Sample(event.t, tally.distance_m, event.speed_kmh, bpm))
    return samples, tally


def _laps(
    events: Sequence[StreamEvent],
    samples: list[_Sample],
    end_t: float,
    spans: list[tuple[float, float]],
) -> list[_Lap]:
    """Laps that tile 0..end_t: one per segment, then the run-down after the stop."""
    times = [s.t for s in samples]

    def distance_at(t: float) -> float:
        i = bisect.bisect_right(times, t)
        return samples[i - 1].distance_m if i else 0.0

    def max_speed(a: float, b: float) -> float:
        lo, hi = bisect.bisect_right(times, a), bisect.bisect_right(times, b)
        return max((s.speed_kmh for s in samples[lo:hi]), default=0.0)

    segments = [e for e in events if isinstance(e, SegmentStarted)]
    stop_t = next((e.t for e in events if isinstance(e, Stop)), None)
    steps = {seg.index: n for n, seg in enumerate(_unique_steps(segments))}
    bounds: list[tuple[float, float, SegmentStarted | None]] = []
    for n, segment in enumerate(segments):
        start = 0.0 if n == 0 else segment.t
        if n + 1 < len(segments):
            end = segments[n + 1].t
        else:
            end = stop_t if stop_t is not None and stop_t >= segment.t else end_t
        bounds.append((start, min(end, end_t), segment))
    rest_from = bounds[-1][1] if bounds else 0.0
    if end_t > rest_from or not bounds:
        bounds.append((rest_from, end_t, None))  # the run-down (or, with no segment, it all)
    return [
        _Lap(
            start_t=a,
            end_t=b,
            distance_m=distance_at(b) - distance_at(a),
            max_speed_kmh=max_speed(a, b),
            paused_s=paused_within(spans, a, b),
            segment=segment,
            step_index=steps.get(segment.index) if segment is not None else None,
        )
        for a, b, segment in bounds
    ]


def _unique_steps(segments: Sequence[SegmentStarted]) -> list[SegmentStarted]:
    """Each plan segment once, in plan order (a reconnect may announce one again)."""
    seen: dict[int, SegmentStarted] = {}
    for segment in segments:
        seen.setdefault(segment.index, segment)
    return [seen[i] for i in sorted(seen)]


def step_specs(segments: Sequence[SegmentStarted]) -> list[StepSpec]:
    """The workout steps of the segments a session announced."""
    unique = _unique_steps(segments)
    names = step_names([s.kind for s in unique])
    return [
        StepSpec(
            kind=s.kind,
            name=name,
            target_kmh=s.target_kmh,
            duration_s=s.duration_s,
            distance_m=s.distance_m if s.duration_s is None else None,
            notes=s.label,
        )
        for s, name in zip(unique, names, strict=True)
    ]


def choose_sport(laps: Sequence[_Lap], choice: SportChoice) -> Literal["walking", "running"]:
    """Walking or running, from the timer time run versus walked (or as the user says)."""
    if choice != "auto":
        return choice
    return sport_of(
        (
            lap.segment.kind,
            lap.distance_m / lap.timer_s * 3.6 if lap.timer_s > 0 else 0.0,
            lap.timer_s,
        )
        for lap in laps
        if lap.segment is not None  # the run-down is neither
    )


def _one_per_second(samples: list[_Sample], start_ms: int) -> list[tuple[int, _Sample]]:
    """(FIT timestamp in ms, sample): the last sample of each whole second, as FIT rounds."""
    by_second: dict[int, _Sample] = {}
    for sample in samples:
        by_second[round((start_ms + sample.t * 1000) / 1000)] = sample  # the last one wins
    return [(second * 1000, sample) for second, sample in by_second.items()]


def fit_bytes(
    record: SessionRecord, events: Sequence[StreamEvent], *, sport: SportChoice = "auto"
) -> bytes:
    """The FIT activity file for one session, as bytes (pure: same input, same bytes)."""
    events = _until_summary(events)
    samples, tally = _samples(events)
    if not samples:
        raise FitExportError(
            f"session {record.id}", "has no telemetry, so there is no activity to export."
        )
    start_ms = round(record.started_at.timestamp() * 1000)

    def at(t: float) -> int:
        return start_ms + round(t * 1000)

    end_t = max(tally.duration_s, samples[-1].t)
    end_ms = at(end_t)
    spans = pauses(events)
    laps = _laps(events, samples, end_t, spans)
    chosen = choose_sport(laps, sport)
    fit_sport, fit_sub_sport = _SPORT[chosen]
    specs = step_specs([e for e in events if isinstance(e, SegmentStarted)])
    rates = [s.heart_rate_bpm for s in samples if s.heart_rate_bpm is not None]
    paused_s = paused_within(spans, 0.0, end_t)
    timer_s = max(0.0, end_t - paused_s)
    writer = FitWriter()

    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = _PRODUCT_ID
    file_id.serial_number = zlib.crc32(record.address.encode()) or 1
    file_id.time_created = start_ms
    writer.add(file_id)

    for index, name, version in ((0, "treadcoach", __version__), (1, record.device, None)):
        info = DeviceInfoMessage()
        info.timestamp = start_ms
        info.device_index = index  # 0 is the creator (treadcoach), 1 the treadmill
        info.manufacturer = Manufacturer.DEVELOPMENT.value
        info.product_name = name[:49]
        if version is not None:
            info.software_version = software_version(version)
        writer.add(info)
    for message in developer_messages(round(software_version(__version__) * 100)):
        writer.add(message)

    if specs:
        workout = WorkoutMessage()
        workout.sport = fit_sport
        workout.sub_sport = fit_sub_sport
        workout.num_valid_steps = len(specs)
        workout.workout_name = record.plan[:40]
        writer.add(workout)
        for index, spec in enumerate(specs):
            writer.add(workout_step(index, spec))

    _write_timeline(writer, samples, spans, start_ms, end_ms, at, bool(rates))
    for index, lap in enumerate(laps):
        writer.add(_lap(lap, index, at, fit_sport, fit_sub_sport, last=index == len(laps) - 1))

    total_distance = samples[-1].distance_m
    session = SessionMessage()
    session.message_index = 0
    session.timestamp = end_ms
    session.start_time = start_ms
    session.event = Event.SESSION
    session.event_type = EventType.STOP
    session.sport = fit_sport
    session.sub_sport = fit_sub_sport
    session.total_elapsed_time = end_t
    session.total_timer_time = timer_s
    session.total_distance = total_distance
    avg_speed = total_distance / timer_s if timer_s > 0 else 0.0
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
    session.developer_fields.append(dev_field(BACKWARD_TIME, tally.backward_s))
    session.developer_fields.append(dev_field(BACKWARD_DISTANCE, tally.backward_distance_m))
    # the check-in, when given (a skipped answer is left out, not written as invalid)
    if record.rpe is not None:
        session.developer_fields.append(dev_field(RPE, record.rpe))
    if record.pain is not None:
        session.developer_fields.append(dev_field(PAIN, record.pain))
    writer.add(session)

    activity = ActivityMessage()
    activity.timestamp = end_ms
    activity.total_timer_time = timer_s
    activity.num_sessions = 1
    activity.type = Activity.MANUAL
    activity.event = Event.ACTIVITY
    activity.event_type = EventType.STOP
    activity.local_timestamp = _local_fit_seconds(record, end_t)
    writer.add(activity)

    return writer.to_bytes()


def _write_timeline(
    writer: FitWriter,
    samples: list[_Sample],
    spans: list[tuple[float, float]],
    start_ms: int,
    end_ms: int,
    at: Callable[[float], int],
    with_heart_rate: bool,
) -> None:
    """Records and timer events in time order: start, (stop, start) per pause, stop all."""
    timers: list[tuple[int, EventType]] = [(start_ms, EventType.START)]
    for a, b in spans:
        timers.append((at(a), EventType.STOP))
        if at(b) < end_ms:
            timers.append((at(b), EventType.START))
    pending = iter(timers)
    upcoming = next(pending, None)
    message = RecordMessage()  # one message, re-filled and encoded per sample (see fit_encode)
    message.timestamp = start_ms
    message.distance = 0.0
    message.speed = 0.0
    message.enhanced_speed = 0.0
    if with_heart_rate:  # then every record carries heart_rate; a missing reading is invalid
        message.heart_rate = next(s.heart_rate_bpm for s in samples if s.heart_rate_bpm)
    definition = DefinitionMessage.from_data_message(message)
    validate_definition(definition)
    message.set_definition_message(definition)
    for timestamp_ms, sample in _one_per_second(samples, start_ms):
        while upcoming is not None and upcoming[0] <= timestamp_ms:
            writer.add(_timer_event(*upcoming))
            upcoming = next(pending, None)
        message.timestamp = timestamp_ms
        message.distance = sample.distance_m
        message.speed = sample.speed_kmh / 3.6
        message.enhanced_speed = sample.speed_kmh / 3.6
        if with_heart_rate:
            message.heart_rate = sample.heart_rate_bpm
        writer.add(message)  # encoded at once, so the one message can be re-filled
    while upcoming is not None:
        writer.add(_timer_event(*upcoming))
        upcoming = next(pending, None)
    writer.add(_timer_event(end_ms, EventType.STOP_ALL))


def _timer_event(timestamp_ms: int, kind: EventType) -> EventMessage:
    event = EventMessage()
    event.timestamp = timestamp_ms
    event.event = Event.TIMER
    event.event_type = kind
    event.timer_trigger = TimerTrigger.MANUAL
    return event


def _lap(
    lap: _Lap,
    index: int,
    at: Callable[[float], int],
    sport: Sport,
    sub_sport: SubSport,
    *,
    last: bool,
) -> LapMessage:
    message = LapMessage()
    message.message_index = index
    message.timestamp = at(lap.end_t)
    message.start_time = at(lap.start_t)
    message.event = Event.LAP
    message.event_type = EventType.STOP
    message.sport = sport
    message.sub_sport = sub_sport
    segment = lap.segment
    message.intensity = INTENSITY[segment.kind] if segment is not None else Intensity.RECOVERY
    if last:
        message.lap_trigger = LapTrigger.SESSION_END
    elif segment is not None and segment.distance_m is not None and segment.duration_s is None:
        message.lap_trigger = LapTrigger.DISTANCE
    else:
        message.lap_trigger = LapTrigger.TIME
    message.total_elapsed_time = lap.elapsed_s
    message.total_timer_time = lap.timer_s
    message.total_distance = lap.distance_m
    speed = lap.distance_m / lap.timer_s if lap.timer_s > 0 else 0.0
    message.avg_speed = speed
    message.enhanced_avg_speed = speed
    message.max_speed = lap.max_speed_kmh / 3.6
    message.enhanced_max_speed = lap.max_speed_kmh / 3.6
    if lap.step_index is not None:
        wkt_step_index = message.get_field(71)  # fit-tool has the field but no property
        assert wkt_step_index is not None
        wkt_step_index.set_value(0, lap.step_index)
    if segment is not None:
        direction = "backward" if lap.backward else "forward"
        message.developer_fields.append(dev_field(DIRECTION, direction))
    return message


def _local_fit_seconds(record: SessionRecord, duration_s: float) -> int:
    """The activity's end as local wall-clock seconds since the FIT epoch (gives the TZ offset)."""
    started = record.started_at.astimezone()  # naive: local already; aware: to local
    offset = started.utcoffset()
    offset_s = offset.total_seconds() if offset is not None else 0.0
    return round(started.timestamp() + duration_s + offset_s) - _FIT_EPOCH_S
