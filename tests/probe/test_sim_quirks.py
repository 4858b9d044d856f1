"""The simulator's newer quirk profiles (sim/quirks.py) behave as described, and combine."""

from __future__ import annotations

import struct

import pytest

from sim import SimConfigError, get_profile
from sim.profiles import COMBINABLE_PAIRS, PROFILES
from sim.quirks import gatt_table
from sim.server import FtmsServer
from treadcoach.ftms import uuids

REQUEST_CONTROL, START = b"\x00", b"\x07"


def _speed(kmh: float) -> bytes:
    return b"\x02" + struct.pack("<H", round(kmh * 100))


def _incline(pct: float) -> bytes:
    return b"\x03" + struct.pack("<h", round(pct * 10))


def _running(profile: str) -> FtmsServer:
    srv = FtmsServer(get_profile(profile))
    srv.write_control_point(REQUEST_CONTROL)
    srv.write_control_point(START)
    return srv


def _answer(srv: FtmsServer, data: bytes) -> int:
    return srv.write_control_point(data).indication[2]


def test_start_delay_holds_the_belt_then_runs_the_target_set_meanwhile() -> None:
    srv = _running("start_delay")
    assert _answer(srv, _speed(2.0)) == 0x01
    srv.advance(2.9)
    assert srv.belt.speed_kmh == 0.0
    srv.advance(0.2)
    srv.advance(5.0)
    assert srv.belt.speed_kmh == pytest.approx(2.0)


def test_speed_revert_falls_back_after_silence_and_any_word_from_the_app_prevents_it() -> None:
    srv = _running("speed_revert")
    _answer(srv, _speed(2.0))
    for _ in range(10):
        srv.advance(1.0)
        srv.read(uuids.TRAINING_STATUS_UUID)  # a keep-alive
    assert srv.belt.speed_kmh == pytest.approx(2.0)
    srv.advance(4.0)
    srv.advance(2.0)
    assert srv.belt.speed_kmh == pytest.approx(1.0)


def test_missing_ranges_leaves_both_range_characteristics_out_of_the_gatt_table() -> None:
    def listed(profile: str) -> set[str]:
        return {c.uuid for s in gatt_table(get_profile(profile)) for c in s.characteristics}

    gone = {uuids.SPEED_RANGE_UUID, uuids.INCLINATION_RANGE_UUID}
    assert gone <= listed("standard")
    assert not gone & listed("missing_ranges")
    assert uuids.CONTROL_POINT_UUID in listed("missing_ranges")


def test_zero_incline_refuses_any_incline_but_flat() -> None:
    srv = _running("zero_incline")
    assert _answer(srv, _incline(1.0)) == 0x03
    assert _answer(srv, _incline(0.0)) == 0x01


def test_ignores_speed_answers_success_and_keeps_the_belt_where_it_is() -> None:
    srv = _running("ignores_speed")
    srv.advance(5.0)
    assert _answer(srv, _speed(3.0)) == 0x01
    srv.advance(10.0)
    assert srv.belt.speed_kmh == pytest.approx(PROFILES["ignores_speed"].min_kmh)


def test_profiles_combine_and_contradictions_are_refused() -> None:
    both = get_profile("mph_target+speed_revert")
    assert both.mph_target
    assert both.revert_after_s == 4.0
    assert both.name_prefix == PROFILES["mph_target"].name_prefix
    narrow = get_profile("speed_needs_running+min_speed_1")
    assert (narrow.min_kmh, narrow.max_kmh) == (1.0, 6.0)  # the overlap of both ranges
    clash_a = PROFILES["start_delay"]
    from dataclasses import replace

    from sim.profiles import combine

    with pytest.raises(SimConfigError, match="start_delay_s"):
        combine(clash_a, replace(clash_a, name="other", start_delay_s=5.0))


def test_pairs_that_hide_each_other_are_not_offered_together() -> None:
    assert ("ignores_speed", "mph_target") not in COMBINABLE_PAIRS
    assert ("mph_target", "ignores_speed") not in COMBINABLE_PAIRS
    assert ("mph_target", "speed_revert") in COMBINABLE_PAIRS


def test_control_per_command_covers_one_command_until_control_is_asked_again() -> None:
    srv = _running("control_per_command")  # Request Control, then Start: control used up
    assert _answer(srv, _speed(2.0)) == 0x05
    assert _answer(srv, REQUEST_CONTROL) == 0x01
    assert _answer(srv, _speed(2.0)) == 0x01
    assert _answer(srv, _speed(2.5)) == 0x05
