"""The probe's pure analysis, on hand-made records: no treadmill, no loop."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from treadcoach.ftms import TreadmillData, encode_treadmill_data, uuids
from treadcoach.probe import (
    Command,
    Packet,
    ProbeRecord,
    Sample,
    Step,
    Survey,
    analyse,
    detect_revert,
    entry_keys,
    render_entry,
)
from treadcoach.probe._validate import validate_entry


def _record(
    speeds: Sequence[tuple[float, float]] = (),
    commands: Sequence[Command] = (),
    marks: dict[Step, float] | None = None,
    packets: Sequence[bytes] = (),
) -> ProbeRecord:
    survey = Survey(
        name="PAD-1",
        address="AA:BB:CC:DD:EE:FF",
        characteristics={uuids.TREADMILL_DATA_UUID: ("notify",)},
        reads={},
        read_errors={},
        packets=tuple(Packet(0.0, uuids.TREADMILL_DATA_UUID, p) for p in packets),
        listen_s=3.0,
    )
    record = ProbeRecord(
        name="PAD-1",
        address="AA:BB:CC:DD:EE:FF",
        bound_kmh=2.0,
        speed_range=(1.0, 12.0, 0.1),
        incline_range=(0.0, 0.0, 0.5),
        survey=survey,
        commands=list(commands),
        samples=[Sample(t, v, 0, 0.0, ("speed_kmh",)) for t, v in speeds],
        marks=dict(marks or {}),
    )
    record.ended_at = max((t for t, _ in speeds), default=0.0) + 1
    return record


def _speed(step: Step, value: float, at: float) -> Command:
    return Command(step, "set_speed", value, at, at, "ok")


def test_a_u16_pace_shows_as_one_extra_byte_per_pace_field() -> None:
    # flags 0x0020: speed (bit 0 clear) + instantaneous pace; u8 pace makes 5 bytes, u16 makes 6
    u16 = bytes([0x20, 0x00, 0x64, 0x00, 0x10, 0x00])
    assert analyse(_record(packets=[u16] * 3)).value("pace_u16") is True
    u8 = encode_treadmill_data(TreadmillData(speed_kmh=1.0, instantaneous_pace_km_per_min=0.5))
    assert analyse(_record(packets=[u8] * 3)).value("pace_u16") is False
    assert analyse(_record(packets=[])).finding("pace").text == "no pace field"


def test_a_standing_belt_with_a_large_total_distance_is_a_lifetime_odometer() -> None:
    odo = encode_treadmill_data(TreadmillData(speed_kmh=0.0, distance_m=1_234_567))
    analysis = analyse(_record(packets=[odo]))
    assert "lifetime odometer" in analysis.finding("distance").text
    assert "1234567 m" in str(analysis.value("notes"))
    fresh = encode_treadmill_data(TreadmillData(speed_kmh=0.0, distance_m=0))
    assert "per workout" in analyse(_record(packets=[fresh])).finding("distance").text


def test_a_revert_is_a_lasting_change_while_left_alone_not_jitter() -> None:
    marks = {Step.HOLD: 10.0, Step.STOP: 20.0}
    commands = [_speed(Step.INCREMENT, 1.5, 8.0)]
    held = [(9.0, 1.5)]
    reverted = _record(
        held + [(10.0 + i, 1.5 if i < 4 else 1.0) for i in range(10)], commands, marks
    )
    revert = detect_revert(reverted)
    assert revert is not None
    assert revert.to_kmh == 1.0
    assert revert.after_s == pytest.approx(6.0)  # 14 s (first record away) - 8 s (the command)
    jitter = _record(
        held + [(10.0 + i, 1.5 + (0.2 if i % 2 else -0.2)) for i in range(10)], commands, marks
    )
    assert detect_revert(jitter) is None
    # a pad falling back to a speed close to the held one: only settling elsewhere shows it
    near = _record(held + [(10.0 + i, 1.5 if i < 4 else 1.41) for i in range(10)], commands, marks)
    assert detect_revert(near) is not None


def test_targets_read_as_mph_show_as_a_1_61_ratio_between_commanded_and_reported_steps() -> None:
    marks = {Step.START: 0.0, Step.UNITS: 5.0, Step.INCREMENT: 10.0}
    commands = [
        Command(Step.START, "start", None, 0.0, 0.0, "ok"),
        _speed(Step.START, 1.0, 0.0),
        _speed(Step.UNITS, 1.2, 6.0),
    ]
    mph = _record([(1.0, 1.61), (5.5, 1.61), (9.0, 1.93)], commands, marks)
    analysis = analyse(mph)
    assert analysis.value("target_speed_in_mph") is True
    assert analysis.value("min_kmh") == 1.61  # treadcoach's 1.0 default, read as mph
    kmh = _record([(1.0, 1.0), (5.5, 1.0), (9.0, 1.2)], commands, marks)
    assert analyse(kmh).value("target_speed_in_mph") is False
    ignored = _record([(1.0, 1.0), (5.5, 1.0), (9.0, 1.0)], commands, marks)
    analysis = analyse(ignored)
    assert analysis.value("speed_control") is False
    assert analysis.value("target_speed_in_mph") is None  # nothing to tell from a deaf belt


def test_a_hand_made_record_still_gives_an_entry_the_config_accepts() -> None:
    text = render_entry(entry_keys(analyse(_record())))
    profile = validate_entry(text)
    assert profile.matches("PAD-1", None)
    assert profile.source.startswith("treadcoach probe")
