"""Quirk profiles behave like the odd machines they imitate."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakScanner
from sim_helpers import PAUSE, REQUEST_CONTROL, START, STOP, connect, set_speed, virtual

from sim import PROFILES, SimTreadmill, UnknownProfile, get_profile
from sim.bleak_backend import SimBleakScanner
from sim.server import FtmsServer, RunState
from treadcoach.ftms import decode_speed_range, uuids
from treadcoach.ftms.enums import MachineStatusOp, StopPauseParam


def server(profile: str) -> FtmsServer:
    return FtmsServer(get_profile(profile))


def answer(srv: FtmsServer, request: bytes) -> int:
    return srv.write_control_point(request).indication[2]


def test_each_profile_advertises_the_name_prefix_of_its_machine() -> None:
    async def scenario() -> None:
        async with asyncio.TaskGroup() as tg:
            stop = asyncio.Event()
            started: list[SimTreadmill] = []

            async def run(profile: str) -> None:
                async with SimTreadmill(profile=profile) as treadmill:
                    started.append(treadmill)
                    await stop.wait()

            for name in PROFILES:
                tg.create_task(run(name))
            found = await BleakScanner.discover(
                timeout=0.5,
                return_adv=True,
                service_uuids=[uuids.FTMS_SERVICE_UUID],
                backend=SimBleakScanner,
            )
            stop.set()
        names = sorted(adv.local_name or "" for _, adv in found.values())
        prefixes = sorted(p.name_prefix for p in PROFILES.values())
        assert len(names) == len(prefixes)
        for name, prefix in zip(names, prefixes, strict=True):
            assert name.startswith(prefix)

    virtual(scenario)


def test_unknown_profile_is_a_typed_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownProfile, match="standard"):
        get_profile("treadmill9000")
    assert get_profile("start-toggle") is PROFILES["start_toggle"]


def test_start_toggle_pauses_a_running_belt() -> None:
    srv = server("start_toggle")
    answer(srv, REQUEST_CONTROL)
    answer(srv, START)
    answer(srv, set_speed(4.0))
    srv.advance(10)
    outcome = srv.write_control_point(START)
    assert outcome.indication == b"\x80\x07\x01"  # success, like the real one
    assert outcome.notifications[0].data == bytes(
        [MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, StopPauseParam.PAUSE]
    )
    srv.advance(10)
    assert srv.state is RunState.PAUSED
    assert srv.belt.speed_kmh == 0.0


def test_mph_target_runs_the_belt_1_609_times_too_fast() -> None:
    srv = server("mph_target")
    answer(srv, REQUEST_CONTROL)
    answer(srv, START)
    assert answer(srv, set_speed(3.0)) == 0x01
    srv.advance(30)
    assert srv.belt.speed_kmh == pytest.approx(3.0 * 1.609344)
    assert srv.treadmill_data().speed_kmh == pytest.approx(4.83, abs=0.01)  # reports the truth


def test_speed_needs_running_refuses_speed_until_the_belt_ran_2_5_s() -> None:
    srv = server("speed_needs_running")
    answer(srv, REQUEST_CONTROL)
    assert answer(srv, set_speed(3.0)) == 0x05  # not started
    answer(srv, START)
    srv.advance(2.0)
    assert answer(srv, set_speed(3.0)) == 0x05
    srv.advance(0.6)
    assert answer(srv, set_speed(3.0)) == 0x01


def test_no_request_control_machine_takes_commands_without_it() -> None:
    srv = server("no_request_control")
    assert answer(srv, START) == 0x01
    assert answer(srv, set_speed(3.0)) == 0x01
    assert answer(srv, REQUEST_CONTROL) == 0x01  # answered success anyway
    assert answer(srv, STOP) == 0x01


def test_lifetime_odometer_reports_total_distance_from_a_large_lifetime_value() -> None:
    srv = server("lifetime_odometer")
    assert srv.treadmill_data().distance_m == 4_321_000
    answer(srv, REQUEST_CONTROL)
    answer(srv, START)
    answer(srv, set_speed(3.6))
    srv.advance(100)
    assert srv.treadmill_data().distance_m == 4_321_000 + int(srv.belt.distance_m)


def test_min_speed_1_refuses_targets_below_1_kmh() -> None:
    srv = server("min_speed_1")
    answer(srv, REQUEST_CONTROL)
    answer(srv, START)
    srv.advance(5)
    assert srv.belt.speed_kmh == 1.0
    assert answer(srv, set_speed(0.9)) == 0x03
    assert decode_speed_range(srv.read(uuids.SPEED_RANGE_UUID)).min_kmh == 1.0


def test_start_toggle_pause_is_visible_through_bleak() -> None:
    async def scenario() -> None:
        async with SimTreadmill(profile="start_toggle") as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(3.0))
            await asyncio.sleep(10)
            assert await central.command(START) == b"\x80\x07\x01"
            await asyncio.sleep(10)
            assert central.speeds()[-1] == 0.0
            assert central.statuses()[-1].stop_pause == StopPauseParam.PAUSE
            assert await central.command(PAUSE) == b"\x80\x08\x01"

    virtual(scenario)
