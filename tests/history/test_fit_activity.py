"""FIT activity export, read back with Garmin's own FIT SDK (issue 15, items 1-7).

Every file is decoded with ``garmin_fit_sdk`` (a test dependency): no decode errors, integrity
(header and CRC) good, and then what the file says about the session is checked against the
journal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from garmin_fit_sdk import Decoder, Stream
from history_streams import JournalFiller, paused_session_events

from treadcoach import __version__
from treadcoach.coach.events import Event, SegmentStarted, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.history import Journal
from treadcoach.history.fit import export_fit

Messages = dict[str, list[dict[str, Any]]]


def decode(path: Path) -> Messages:
    """Decode with Garmin's SDK; fail on any error or a bad integrity check."""
    decoder = Decoder(Stream.from_file(str(path)))
    assert decoder.is_fit()
    assert decoder.check_integrity(), "header or CRC does not check out"
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert errors == []
    return messages


def export(
    tmp_path: Path,
    record_session: JournalFiller,
    events: list[Event],
    **kw: Any,
) -> tuple[Messages, Any, list[Event]]:
    with Journal.open(tmp_path / "history.sqlite3") as journal:
        session_id = record_session(journal, events)
        path = export_fit(journal, session_id, tmp_path / "out.fit", **kw)
        record = journal.session(session_id)
        stored = journal.events(session_id)
    return decode(path), record, stored


def dev(messages: Messages, message: dict[str, Any], name: str) -> Any:
    """A developer field of ``message`` by its field_description name."""
    keys = {d["key"]: d["field_name"] for d in messages["field_description_mesgs"]}
    values = {keys[k]: v for k, v in message.get("developer_fields", {}).items()}
    return values.get(name)


def seconds(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds()


@pytest.fixture
def paused(tmp_path: Path, record_session: JournalFiller) -> tuple[Messages, Any, list[Event]]:
    return export(tmp_path, record_session, paused_session_events())


def test_a_pause_is_a_timer_stop_and_start_not_timer_time(
    paused: tuple[Messages, Any, list[Event]],
) -> None:
    messages, record, _ = paused
    [session] = messages["session_mesgs"]
    timers = [
        (e["event_type"], seconds(e["timestamp"], session["start_time"]))
        for e in messages["event_mesgs"]
        if e["event"] == "timer"
    ]
    # (FIT timestamps are whole seconds; the times below are exact to the millisecond)
    assert timers == [("start", 0), ("stop", 100), ("start", 205), ("stop_all", 480)]
    assert record.paused_s == pytest.approx(105)
    assert session["total_elapsed_time"] == pytest.approx(480.5)
    assert session["total_timer_time"] == pytest.approx(480.5 - 105)
    warmup = messages["lap_mesgs"][0]
    assert warmup["total_elapsed_time"] == pytest.approx(406)  # from the session's start
    assert warmup["total_timer_time"] == pytest.approx(301)  # the 300 s segment + the connect
    [activity] = messages["activity_mesgs"]
    assert activity["total_timer_time"] == pytest.approx(480.5 - 105)


def test_laps_tile_the_session_including_the_run_down(
    paused: tuple[Messages, Any, list[Event]],
) -> None:
    messages, record, _ = paused
    [session] = messages["session_mesgs"]
    laps = messages["lap_mesgs"]
    assert session["num_laps"] == len(laps) == 4  # warm-up, turnaround, backward, run-down
    assert sum(lap["total_elapsed_time"] for lap in laps) == pytest.approx(
        session["total_elapsed_time"]
    )
    assert sum(lap["total_timer_time"] for lap in laps) == pytest.approx(
        session["total_timer_time"]
    )
    assert sum(lap["total_distance"] for lap in laps) == pytest.approx(
        session["total_distance"], abs=0.02
    )
    assert session["total_distance"] == pytest.approx(record.distance_m, abs=0.01)
    for before, after in itertools.pairwise(laps):
        assert before["timestamp"] == after["start_time"], "no gap, no overlap"
    assert laps[0]["start_time"] == session["start_time"]
    assert laps[-1]["timestamp"] == session["timestamp"]
    for rec in messages["record_mesgs"]:
        assert laps[0]["start_time"] <= rec["timestamp"] <= laps[-1]["timestamp"]
    run_down = laps[-1]
    assert run_down["total_distance"] > 0, "the belt still moved after the stop"
    assert run_down["total_elapsed_time"] == pytest.approx(6.5)


def test_each_lap_says_its_step_and_direction(
    paused: tuple[Messages, Any, list[Event]],
) -> None:
    messages, record, _ = paused
    [workout] = messages["workout_mesgs"]
    assert workout["wkt_name"] == "starter"
    assert workout["num_valid_steps"] == 3
    steps = messages["workout_step_mesgs"]
    assert [s["wkt_step_name"] for s in steps] == ["Warm-up", "Turnaround", "Backward walk"]
    assert [s["intensity"] for s in steps] == ["warmup", "rest", "active"]
    assert [s["duration_type"] for s in steps] == ["time", "time", "time"]
    assert [s["duration_time"] for s in steps] == pytest.approx([300, 8, 60])
    assert steps[2]["target_type"] == "speed"
    assert steps[2]["custom_target_speed_low"] == pytest.approx(3.2 / 3.6, abs=0.001)
    assert steps[0]["notes"] == "Easy walk"
    laps = messages["lap_mesgs"]
    assert [lap.get("wkt_step_index") for lap in laps] == [0, 1, 2, None]
    assert [dev(messages, lap, "direction") for lap in laps] == [
        "forward",
        "forward",
        "backward",
        None,
    ]
    assert [lap["intensity"] for lap in laps] == ["warmup", "rest", "active", "recovery"]
    [session] = messages["session_mesgs"]
    assert dev(messages, session, "backward_time") == pytest.approx(record.backward_s)
    assert record.backward_s == pytest.approx(60)
    assert dev(messages, session, "backward_distance") == pytest.approx(
        record.backward_distance_m, abs=0.01
    )


def test_a_recovery_segment_is_a_recovery_step(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    events = paused_session_events()
    events = [
        e.model_copy(update={"kind": SegmentKind.RECOVERY})
        if isinstance(e, SegmentStarted) and e.index == 1
        else e
        for e in events
    ]
    messages, _, _ = export(tmp_path, record_session, events)
    assert messages["workout_step_mesgs"][1]["intensity"] == "recovery"
    assert messages["workout_step_mesgs"][1]["wkt_step_name"] == "Recovery walk"


def test_a_backward_walking_session_is_filed_as_indoor_walking(
    paused: tuple[Messages, Any, list[Event]],
) -> None:
    messages, _, _ = paused
    [session] = messages["session_mesgs"]
    assert (session["sport"], session["sub_sport"]) == ("walking", "indoor_walking")
    assert {(lap["sport"], lap["sub_sport"]) for lap in messages["lap_mesgs"]} == {
        ("walking", "indoor_walking")
    }
    assert messages["workout_mesgs"][0]["sport"] == "walking"


def test_a_session_mostly_run_is_filed_as_treadmill_running(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    messages, _, _ = export(tmp_path, record_session, paused_session_events(retro=True))
    [session] = messages["session_mesgs"]
    assert (session["sport"], session["sub_sport"]) == ("running", "treadmill")


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("running", ("running", "treadmill")), ("walking", ("walking", "indoor_walking"))],
)
def test_the_sport_setting_overrides_the_choice(
    tmp_path: Path, record_session: JournalFiller, choice: str, expected: tuple[str, str]
) -> None:
    events = paused_session_events(retro=choice == "walking")
    messages, _, _ = export(tmp_path, record_session, events, sport=choice)
    [session] = messages["session_mesgs"]
    assert (session["sport"], session["sub_sport"]) == expected


def test_software_version_reads_as_the_version() -> None:
    from treadcoach.history.fit_encode import software_version

    assert software_version("0.1.0") == pytest.approx(0.10)
    assert software_version("1.2.3") == pytest.approx(1.23)
    assert software_version("2.14.0") == pytest.approx(2.14)


def test_the_creator_software_version_decodes_as_treadcoachs(
    paused: tuple[Messages, Any, list[Event]],
) -> None:
    messages, _, _ = paused
    creator = next(d for d in messages["device_info_mesgs"] if d["device_index"] == "creator")
    major, minor, *_ = (int(p) for p in __version__.split("."))
    assert creator["software_version"] == pytest.approx(major + minor / 10, abs=0.001)


def test_nothing_after_the_summary_is_in_the_file(
    paused: tuple[Messages, Any, list[Event]],
) -> None:
    messages, record, stored = paused
    summary = next(e for e in stored if isinstance(e, Summary))
    assert stored[-1].t > summary.t, "the journal does hold the late fault"
    [session] = messages["session_mesgs"]
    assert session["total_elapsed_time"] == pytest.approx(summary.t)
    assert record.duration_s == pytest.approx(summary.t)
    stamped = [
        m["timestamp"]
        for kind in ("record_mesgs", "event_mesgs", "lap_mesgs")
        for m in messages[kind]
    ]
    assert max(stamped) <= session["timestamp"]
    last_telemetry = max(e.t for e in stored if isinstance(e, Telemetry) and e.t <= summary.t)
    assert seconds(messages["record_mesgs"][-1]["timestamp"], session["start_time"]) == (
        pytest.approx(round(last_telemetry))
    )


Stream_ = Callable[..., list[Event]]


@pytest.mark.parametrize("hz", [1.0, 2.0, 10.0])
@pytest.mark.parametrize("heart_rate", [True, False])
def test_every_export_decodes_cleanly_with_the_garmin_sdk(
    tmp_path: Path, record_session: JournalFiller, make_stream: Stream_, hz: float, heart_rate: bool
) -> None:
    messages, record, _ = export(
        tmp_path, record_session, make_stream(hz=hz, heart_rate=heart_rate)
    )
    [session] = messages["session_mesgs"]
    assert session["total_distance"] == pytest.approx(record.distance_m, abs=0.01)
    assert messages["file_id_mesgs"][0]["type"] == "activity"


def test_a_run_between_a_walked_warm_up_and_cool_down_is_a_run(
    tmp_path: Path, record_session: JournalFiller
) -> None:
    from treadcoach.coach.events import Connected, Stop
    from treadcoach.safety.reasons import StopReason

    events: list[Event] = [Connected(t=0.0, device="Sim", address="SIM-1")]
    t, distance = 0.0, 0.0
    plan = [(SegmentKind.WARMUP, 5.0, 600), (SegmentKind.FORWARD_RUN, 8.0, 300)]
    plan.append((SegmentKind.COOLDOWN, 4.5, 600))
    for index, (kind, kmh, seconds) in enumerate(plan):
        events.append(
            SegmentStarted(t=t, index=index, kind=kind, target_kmh=kmh, duration_s=seconds)
        )
        for _ in range(seconds):
            t += 1.0
            distance += kmh / 3.6
            events.append(Telemetry(t=t, speed_kmh=kmh, distance_m=round(distance, 3)))
    events += [Stop(t=t, reason=StopReason.PLAN_END), Summary(t=t, completed=True)]
    messages, _, _ = export(tmp_path, record_session, events)
    assert messages["session_mesgs"][0]["sport"] == "running"
