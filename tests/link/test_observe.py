"""MachineView, the link's pure reading of what the machine reports (no loop, no bleak)."""

from __future__ import annotations

import pytest

from treadcoach.ftms import (
    MachineStatus,
    MachineStatusOp,
    SetTargetSpeed,
    StopPause,
    StopPauseParam,
    TreadmillData,
    encode_machine_status,
    encode_treadmill_data,
)
from treadcoach.link import BadFrameEvent, GenericProfile, StatusEvent, TelemetryEvent
from treadcoach.link.observe import MachineView
from treadcoach.link.quirks import KMH_PER_MPH


def test_telemetry_updates_the_belt_and_the_age() -> None:
    view = MachineView(GenericProfile())
    assert view.telemetry_age_s(5.0) == float("inf")
    view.connected(1.0)
    assert view.telemetry_age_s(5.0) == pytest.approx(4.0)
    [event] = view.treadmill_data(encode_treadmill_data(TreadmillData(speed_kmh=3.0)), 6.0)
    assert isinstance(event, TelemetryEvent)
    assert view.belt.running is True
    assert view.belt.speed_kmh == 3.0
    assert view.telemetry_age_s(6.5) == pytest.approx(0.5)


def test_a_bad_frame_is_an_event_and_a_count_never_an_exception() -> None:
    view = MachineView(GenericProfile())
    [event] = view.treadmill_data(b"\x00", 1.0)
    assert isinstance(event, BadFrameEvent)
    events, status = view.machine_status(b"", 1.0)
    assert status is None
    assert isinstance(events[0], BadFrameEvent)
    assert view.bad_frames == 2


def test_mph_quirks_are_undone_at_the_edge() -> None:
    view = MachineView(GenericProfile(reported_speed_in_mph=True, target_speed_in_mph=True))
    [event] = view.treadmill_data(encode_treadmill_data(TreadmillData(speed_kmh=2.0)), 1.0)
    assert isinstance(event, TelemetryEvent)
    assert event.data.speed_kmh == pytest.approx(2.0 * KMH_PER_MPH, abs=0.01)
    raw = encode_machine_status(
        MachineStatus(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=3.0)
    )
    [status_event], _ = view.machine_status(raw, 2.0)
    assert isinstance(status_event, StatusEvent)
    assert view.target_speed_kmh == pytest.approx(3.0 * KMH_PER_MPH, abs=0.01)


def test_accepted_commands_and_stop_statuses_move_the_targets() -> None:
    view = MachineView(GenericProfile())
    view.accepted(SetTargetSpeed(4.0), 1.0, None)
    assert view.target_speed_kmh == 4.0
    view.accepted(StopPause(StopPauseParam.STOP), 2.0, None)
    assert view.target_speed_kmh == 0.0
    assert view.belt.running is False
    view.accepted(SetTargetSpeed(4.0), 3.0, None)
    view.machine_status(
        encode_machine_status(MachineStatus(MachineStatusOp.STOPPED_BY_SAFETY_KEY)), 4.0
    )
    assert view.target_speed_kmh == 0.0
