"""FIT export: a valid treadmill-running activity that reads back with the journal's numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from fit_tool import FitCRCError, FitFile, validate_fit_file
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.device_info_message import DeviceInfoMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.profile_type import (
    EventType,
    FileType,
    Intensity,
    Sport,
    SubSport,
)
from fit_tool.validation import ProfileScope
from history_streams import JournalFiller

from treadcoach.coach.events import Event, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.errors import FitExportError, HistoryError
from treadcoach.history import Journal
from treadcoach.history.fit import INTENSITY, export_fit

Stream = Callable[..., list[Event]]


def _messages(path: Path) -> list[object]:
    fit = FitFile.from_file(str(path))  # checks the file CRC (see the CRC test)
    return [record.message for record in fit.records if not record.is_definition]


def _export(
    tmp_path: Path, events: list[Event], record_session: JournalFiller, **kw: bool
) -> tuple[Path, Journal, int]:
    journal = Journal.open(tmp_path / "history.sqlite3")
    session_id = record_session(journal, events, **kw)
    path = export_fit(journal, session_id, tmp_path / "out.fit")
    return path, journal, session_id


def test_export_reads_back_as_an_indoor_walk_with_the_journal_totals(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    path, journal, session_id = _export(tmp_path, make_stream(hz=10.0), record_session)
    record = journal.session(session_id)
    journal.close()
    messages = _messages(path)
    counts = Counter(type(m).__name__ for m in messages)
    # telemetry at 10 Hz from t=1.1 to t=73.0: one record per whole second, 1 to 73
    telemetry_seconds = 73

    assert isinstance(messages[0], FileIdMessage)
    assert messages[0].type == FileType.ACTIVITY.value
    assert isinstance(messages[-1], ActivityMessage)
    assert counts == {
        "FileIdMessage": 1,
        "DeviceInfoMessage": 2,
        "DeveloperDataIdMessage": 1,
        "FieldDescriptionMessage": 5,  # direction, backward time/distance, rpe, pain
        "WorkoutMessage": 1,
        "WorkoutStepMessage": 5,
        "EventMessage": 2,
        "RecordMessage": telemetry_seconds,
        "LapMessage": 5,
        "SessionMessage": 1,
        "ActivityMessage": 1,
    }
    [session] = [m for m in messages if isinstance(m, SessionMessage)]
    # walked (5 km/h forward, 3.6 km/h backward): issue 15.4
    assert session.sport == Sport.WALKING.value
    assert session.sub_sport == SubSport.INDOOR_WALKING.value
    assert session.total_distance == pytest.approx(record.distance_m, abs=0.01)
    assert session.total_elapsed_time == pytest.approx(record.duration_s, abs=0.001)
    assert session.num_laps == 5
    assert session.avg_heart_rate is not None
    [activity] = [m for m in messages if isinstance(m, ActivityMessage)]
    assert activity.num_sessions == 1
    events = [m for m in messages if isinstance(m, EventMessage)]
    assert [e.event_type for e in events] == [EventType.START.value, EventType.STOP_ALL.value]
    names = {m.product_name for m in messages if isinstance(m, DeviceInfoMessage)}
    assert names == {"treadcoach", "Sim"}


def test_the_file_passes_fit_tools_wire_profile_and_activity_checks(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    path, journal, _ = _export(tmp_path, make_stream(hz=10.0), record_session)
    journal.close()
    report = validate_fit_file(FitFile.from_file(str(path)), profile_scope=ProfileScope.DOMAIN)
    assert report, [str(f) for f in report.findings]


def test_reading_back_checks_the_crc(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    # so the read-backs above are CRC checks too: a flipped byte is refused
    path, journal, _ = _export(tmp_path, make_stream(), record_session)
    journal.close()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(FitCRCError):
        FitFile.from_file(str(path))


def test_one_lap_per_segment_with_its_intensity(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    path, journal, _ = _export(tmp_path, make_stream(), record_session)
    journal.close()
    laps = [m for m in _messages(path) if isinstance(m, LapMessage)]
    assert [lap.intensity for lap in laps] == [
        Intensity.WARMUP.value,
        Intensity.REST.value,  # turnaround
        Intensity.ACTIVE.value,  # backward walk
        Intensity.REST.value,
        Intensity.COOLDOWN.value,
    ]
    # the first lap starts with the session (t=0, a second before the warm-up): laps tile it
    assert [lap.total_elapsed_time for lap in laps] == pytest.approx([31, 6, 20, 6, 10])
    assert laps[2].total_distance == pytest.approx(20.0, abs=0.01)
    assert [lap.message_index for lap in laps] == [0, 1, 2, 3, 4]


def test_every_segment_kind_has_an_intensity() -> None:
    assert set(INTENSITY) == set(SegmentKind)


def test_records_are_one_per_second_with_growing_distance(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    path, journal, session_id = _export(tmp_path, make_stream(hz=10.0), record_session)
    total = journal.session(session_id).distance_m
    journal.close()
    records = [m for m in _messages(path) if isinstance(m, RecordMessage)]
    stamps = [r.timestamp for r in records]
    assert stamps == sorted(set(stamps))
    distances = [r.distance for r in records]
    assert distances == sorted(distances)
    assert distances[-1] == pytest.approx(total, abs=0.01)
    assert all(r.heart_rate is not None for r in records)


def test_a_session_without_heart_rate_has_none_in_the_file(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    path, journal, _ = _export(tmp_path, make_stream(heart_rate=False), record_session)
    journal.close()
    messages = _messages(path)
    assert all(m.heart_rate is None for m in messages if isinstance(m, RecordMessage))
    [session] = [m for m in messages if isinstance(m, SessionMessage)]
    assert session.avg_heart_rate is None


def test_an_interrupted_session_exports_up_to_its_last_telemetry(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    events = make_stream()
    cut = next(i for i, e in enumerate(events) if e.t > 45)  # inside the backward walk
    path, journal, _ = _export(tmp_path, events[:cut], record_session, finish=False)
    journal.close()
    messages = _messages(path)
    laps = [m for m in messages if isinstance(m, LapMessage)]
    assert len(laps) == 3
    last_t = max(e.t for e in events[:cut] if isinstance(e, Telemetry))
    [session] = [m for m in messages if isinstance(m, SessionMessage)]
    assert session.total_elapsed_time == pytest.approx(last_t)


def test_export_is_deterministic(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    path, journal, session_id = _export(tmp_path, make_stream(), record_session)
    again = export_fit(journal, session_id, tmp_path / "again.fit")
    journal.close()
    assert path.read_bytes() == again.read_bytes()


def test_a_session_without_telemetry_is_a_clear_error(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    with Journal.open(tmp_path / "history.sqlite3") as journal:
        session_id = record_session(journal, [])
        with pytest.raises(FitExportError, match="no telemetry") as caught:
            export_fit(journal, session_id, tmp_path / "empty.fit")
    assert isinstance(caught.value, HistoryError)
    assert not (tmp_path / "empty.fit").exists()


def test_an_unwritable_target_is_a_clear_error(
    tmp_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    with Journal.open(tmp_path / "history.sqlite3") as journal:
        session_id = record_session(journal, make_stream())
        target = tmp_path / "no" / "such" / "dir" / "out.fit"
        with pytest.raises(FitExportError, match="cannot write") as caught:
            export_fit(journal, session_id, target)
    assert str(target) in str(caught.value)
