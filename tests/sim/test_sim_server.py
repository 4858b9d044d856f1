"""The FTMS server semantics, pure and synchronous: bytes in, indication + notifications out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim_helpers import PAUSE, REQUEST_CONTROL, RESET, START, STOP, set_incline, set_speed

from sim import AttError, get_profile
from sim.server import FtmsServer, RunState
from treadcoach.ftms import (
    decode_inclination_range,
    decode_machine_features,
    decode_machine_status,
    decode_speed_range,
    decode_training_status,
    uuids,
)
from treadcoach.ftms.enums import (
    MachineFeature,
    MachineStatusOp,
    StopPauseParam,
    TargetSettingFeature,
    TrainingStatusCode,
)

OK = 0x01


def server(profile: str = "standard", **kwargs: object) -> FtmsServer:
    return FtmsServer(get_profile(profile), **kwargs)  # type: ignore[arg-type]


def result(srv: FtmsServer, request: bytes) -> int:
    indication = srv.write_control_point(request).indication
    assert indication[:2] == bytes([0x80, request[0]])
    return indication[2]


def running(profile: str = "standard", kmh: float | None = None) -> FtmsServer:
    srv = server(profile)
    assert result(srv, REQUEST_CONTROL) == OK
    assert result(srv, START) == OK
    if kmh is not None:
        srv.advance(3)
        assert result(srv, set_speed(kmh)) == OK
        srv.advance(60)
    return srv


def test_every_command_but_request_control_is_refused_with_0x05_before_control() -> None:
    srv = server()
    for request in (START, STOP, PAUSE, RESET, set_speed(3), set_incline(1)):
        assert result(srv, request) == 0x05
    assert srv.state is RunState.IDLE


def test_start_runs_the_belt_at_its_minimum_speed_and_notifies_started() -> None:
    srv = server()
    result(srv, REQUEST_CONTROL)
    outcome = srv.write_control_point(START)
    assert outcome.indication == b"\x80\x07\x01"
    status, training = outcome.notifications
    assert status.uuid == uuids.MACHINE_STATUS_UUID
    assert decode_machine_status(status.data).op == MachineStatusOp.STARTED_OR_RESUMED_BY_USER
    assert decode_training_status(training.data).status == TrainingStatusCode.MANUAL_MODE
    srv.advance(5)
    assert srv.belt.speed_kmh == pytest.approx(0.8)


def test_target_speed_change_is_notified_with_its_value() -> None:
    srv = running()
    outcome = srv.write_control_point(set_speed(4.83))
    (status,) = outcome.notifications
    decoded = decode_machine_status(status.data)
    assert decoded.op == MachineStatusOp.TARGET_SPEED_CHANGED
    assert decoded.target_speed_kmh == 4.83


@pytest.mark.parametrize("kmh", [0.0, 0.79, 16.01, 30.0])
def test_target_speed_outside_the_supported_range_is_an_invalid_parameter(kmh: float) -> None:
    srv = running(kmh=5.0)
    assert result(srv, set_speed(kmh)) == 0x03
    srv.advance(30)
    assert srv.belt.speed_kmh == 5.0


@given(st.integers(80, 1600))
def test_any_target_speed_in_range_is_reached_exactly(raw: int) -> None:
    srv = running()
    assert result(srv, set_speed(raw / 100)) == OK
    srv.advance(30)
    assert srv.belt.speed_kmh == pytest.approx(raw / 100)


def test_target_incline_is_range_checked_and_notified() -> None:
    srv = running()
    assert result(srv, set_incline(15.5)) == 0x03
    assert result(srv, set_incline(-3.5)) == 0x03
    outcome = srv.write_control_point(set_incline(2.5))
    assert decode_machine_status(outcome.notifications[0].data).target_incline_pct == 2.5
    srv.advance(10)
    assert srv.belt.incline_pct == pytest.approx(2.5)


def test_stop_ramps_down_forgets_the_target_and_ends_the_workout() -> None:
    srv = running(kmh=4.0)
    outcome = srv.write_control_point(STOP)
    status = decode_machine_status(outcome.notifications[0].data)
    assert (status.op, status.stop_pause) == (
        MachineStatusOp.STOPPED_OR_PAUSED_BY_USER,
        StopPauseParam.STOP,
    )
    assert srv.state is RunState.STOPPED
    srv.advance(2)
    assert srv.belt.speed_kmh == pytest.approx(4.0 - 1.6)  # decelerating, not cut
    srv.advance(10)
    assert srv.belt.speed_kmh == 0.0
    result(srv, START)  # a new workout, from the minimum speed
    assert srv.elapsed_s == 0
    srv.advance(10)
    assert srv.belt.speed_kmh == pytest.approx(0.8)


def test_pause_then_resume_returns_to_the_old_target_and_keeps_the_workout() -> None:
    srv = running(kmh=4.0)
    elapsed = srv.elapsed_s
    outcome = srv.write_control_point(PAUSE)
    assert decode_machine_status(outcome.notifications[0].data).stop_pause == StopPauseParam.PAUSE
    srv.advance(30)
    assert srv.belt.speed_kmh == 0.0
    # the workout clock stops once the belt does (5 s to roll down from 4 km/h)
    assert srv.elapsed_s == pytest.approx(elapsed + 5)
    result(srv, START)
    srv.advance(10)
    assert srv.belt.speed_kmh == 4.0
    assert srv.elapsed_s == pytest.approx(elapsed + 15)


def test_start_while_running_changes_nothing_on_a_standard_machine() -> None:
    srv = running(kmh=4.0)
    outcome = srv.write_control_point(START)
    assert outcome == type(outcome)(b"\x80\x07\x01", ())
    assert srv.state is RunState.RUNNING


def test_reset_stops_the_belt_and_takes_control_away() -> None:
    srv = running(kmh=4.0)
    outcome = srv.write_control_point(RESET)
    assert outcome.indication == b"\x80\x01\x01"
    assert decode_machine_status(outcome.notifications[0].data).op == MachineStatusOp.RESET
    srv.advance(10)
    assert srv.belt.speed_kmh == 0.0
    assert result(srv, START) == 0x05


def test_unsupported_and_malformed_requests_are_answered_not_crashed() -> None:
    srv = running()
    assert result(srv, b"\x05\x10\x00") == 0x02  # Set Target Power: not a treadmill thing
    assert result(srv, b"\x02\x10") == 0x03  # speed with one byte
    assert result(srv, b"\x08\x07") == 0x03  # stop/pause with an unknown parameter
    with pytest.raises(AttError) as caught:
        srv.write_control_point(b"")
    assert caught.value.code == 0x0D


@given(st.binary(max_size=8))
def test_any_control_point_write_gets_an_answer_for_its_opcode(data: bytes) -> None:
    srv = running()
    if not data:
        return
    indication = srv.write_control_point(data).indication
    assert indication[:2] == bytes([0x80, data[0]])
    assert indication[2] in (0x01, 0x02, 0x03, 0x05)


def test_nack_answers_operation_failed_for_the_given_number_of_writes() -> None:
    srv = running()
    srv.nack_remaining = 2
    assert result(srv, set_speed(3)) == 0x04
    assert result(srv, REQUEST_CONTROL) == 0x04
    assert result(srv, set_speed(3)) == OK


def test_ignore_speed_acknowledges_without_a_status_or_a_change() -> None:
    srv = running(kmh=3.0)
    srv.ignore_speed = True
    outcome = srv.write_control_point(set_speed(6.0))
    assert outcome.indication == b"\x80\x02\x01"
    assert outcome.notifications == ()
    srv.advance(10)
    assert srv.belt.speed_kmh == 3.0


def test_safety_key_cuts_the_belt_and_notifies_0x03() -> None:
    srv = running(kmh=8.0)
    notes = srv.pull_safety_key()
    assert decode_machine_status(notes[0].data).op == MachineStatusOp.STOPPED_BY_SAFETY_KEY
    assert decode_training_status(notes[1].data).status == TrainingStatusCode.IDLE
    assert srv.belt.speed_kmh == 0.0
    assert srv.state is RunState.STOPPED


def test_control_lost_notifies_0xff_and_needs_a_new_request() -> None:
    srv = running(kmh=3.0)
    (note,) = srv.take_control_at_console()
    assert note.data == b"\xff"
    assert result(srv, STOP) == 0x05
    assert result(srv, REQUEST_CONTROL) == OK
    assert result(srv, STOP) == OK


def test_link_loss_takes_control_away_but_the_belt_runs_on() -> None:
    srv = running(kmh=3.0)
    srv.link_lost()
    srv.advance(10)
    assert srv.belt.speed_kmh == 3.0
    assert result(srv, STOP) == 0x05


def test_readable_characteristics_describe_the_machine() -> None:
    srv = server(runner=None)
    features = decode_machine_features(srv.read(uuids.FEATURE_UUID))
    assert MachineFeature.TOTAL_DISTANCE in features.machine
    assert MachineFeature.HEART_RATE_MEASUREMENT not in features.machine
    assert TargetSettingFeature.SPEED_TARGET in features.target_setting
    speed = decode_speed_range(srv.read(uuids.SPEED_RANGE_UUID))
    assert (speed.min_kmh, speed.max_kmh, speed.increment_kmh) == (0.8, 16.0, 0.1)
    incline = decode_inclination_range(srv.read(uuids.INCLINATION_RANGE_UUID))
    assert (incline.min_pct, incline.max_pct, incline.increment_pct) == (-3.0, 15.0, 0.5)
    assert srv.read(uuids.SERIAL_NUMBER_UUID) == b"SIM-0001"
    with pytest.raises(AttError):
        srv.read(uuids.CONTROL_POINT_UUID)


def test_treadmill_data_reports_the_workout() -> None:
    srv = running(kmh=6.0)
    record = srv.treadmill_data()
    assert record.speed_kmh == 6.0
    assert record.elapsed_s == 63
    assert record.distance_m == int(srv.belt.distance_m)
    assert record.average_speed_kmh == pytest.approx(srv.belt.distance_m / 63 * 3.6, abs=0.01)
    assert record.heart_rate_bpm is None
