"""The simulator faults the model-based stop-path test needs, seen through plain bleak calls:
someone at the console, writes answered 0x05, lost and late indications, a slow belt, a treadmill
out of reach, a telemetry gap that ends by itself, and the write log."""

from __future__ import annotations

import asyncio

import pytest
from bleak.exc import BleakDeviceNotFoundError
from sim_helpers import CP, REQUEST_CONTROL, START, STOP, connect, set_speed, virtual

from sim import FaultKind, RunState, SimTreadmill
from sim.faults import SLOW_BELT_KMH_PER_S
from sim.profiles import get_profile
from sim.server import FtmsServer
from treadcoach.ftms.enums import MachineStatusOp


def test_console_speed_change_moves_the_belt_and_is_notified() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(3.0))
            treadmill.inject(FaultKind.CONSOLE_SPEED, kmh=8.0)
            await asyncio.sleep(15)
            assert treadmill.belt_speed_kmh == pytest.approx(8.0)
            status = central.statuses()[-1]
            assert status.op == MachineStatusOp.TARGET_SPEED_CHANGED
            assert status.target_speed_kmh == pytest.approx(8.0)
            assert treadmill.control_granted  # the console overrides without taking control

    virtual(scenario)


def test_console_speed_change_on_an_mph_machine_is_notified_in_mph() -> None:
    srv = FtmsServer(get_profile("mph_target"))
    srv.write_control_point(REQUEST_CONTROL)
    srv.write_control_point(START)
    srv.console_set_speed(8.0)
    srv.advance(20)
    assert srv.belt.speed_kmh == pytest.approx(8.0)
    assert srv.target_speed_kmh == pytest.approx(8.0 / 1.609344, abs=0.01)


def test_console_start_and_stop_change_the_run_state_and_say_so() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            treadmill.inject(FaultKind.CONSOLE_START)
            await asyncio.sleep(5)
            assert treadmill.state is RunState.RUNNING
            assert treadmill.belt_speed_kmh > 0
            treadmill.inject(FaultKind.CONSOLE_STOP)
            await asyncio.sleep(5)
            assert treadmill.state is RunState.STOPPED
            assert treadmill.belt_speed_kmh == 0.0
            ops = [s.op for s in central.statuses()]
            assert ops == [
                MachineStatusOp.STARTED_OR_RESUMED_BY_USER,
                MachineStatusOp.STOPPED_OR_PAUSED_BY_USER,
            ]

    virtual(scenario)


def test_not_permitted_answers_0x05_but_keeps_control() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            treadmill.inject(FaultKind.NOT_PERMITTED, count=1)
            assert await central.command(STOP) == b"\x80\x08\x05"
            assert treadmill.control_granted
            assert await central.command(STOP) == b"\x80\x08\x01"

    virtual(scenario)


def test_a_lost_indication_is_carried_out_but_never_answered() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            treadmill.inject(FaultKind.DROP_INDICATION)
            with pytest.raises(TimeoutError):
                await central.command(STOP)
            assert treadmill.state is RunState.STOPPED
            assert await central.command(START) == b"\x80\x07\x01"  # one write only

    virtual(scenario)


def test_a_late_indication_comes_after_the_delay() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            treadmill.inject(FaultKind.LATE_INDICATION, delay_s=3.0)
            sent = asyncio.get_running_loop().time()
            await central.client.write_gatt_char(CP, STOP, response=True)
            assert treadmill.state is RunState.STOPPED  # carried out at once
            answer = await central.indications.get()
            assert answer == b"\x80\x08\x01"
            assert asyncio.get_running_loop().time() - sent == pytest.approx(3.0)

    virtual(scenario)


def test_a_slow_belt_takes_long_to_slow_until_cleared() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(4.0))
            await asyncio.sleep(10)
            treadmill.inject(FaultKind.SLOW_BELT)
            await central.command(STOP)
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == pytest.approx(4.0 - 10 * SLOW_BELT_KMH_PER_S)
            treadmill.clear_fault(FaultKind.SLOW_BELT)
            await asyncio.sleep(4)
            assert treadmill.belt_speed_kmh == 0.0

    virtual(scenario)


def test_a_telemetry_gap_ends_by_itself_after_for_s() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            treadmill.inject(FaultKind.STALE, for_s=3.0)
            start = asyncio.get_running_loop().time()
            await asyncio.sleep(6)
            times = [t for t, _ in central.telemetry(since=start)]
            assert times
            assert min(times) >= start + 3.0

    virtual(scenario)


def test_a_treadmill_out_of_reach_takes_no_connections_until_it_is_back() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            treadmill.inject(FaultKind.DISCONNECT, down_s=4.0)
            await asyncio.sleep(0.01)
            assert not treadmill.reachable
            with pytest.raises(BleakDeviceNotFoundError):
                await central.client.connect()
            await asyncio.sleep(4)
            assert treadmill.reachable
            await central.client.connect()

    virtual(scenario)


def test_every_control_point_write_is_logged_with_the_machine_before_it() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            seen = []
            treadmill.write_observers.append(seen.append)
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await asyncio.sleep(2)
            await central.command(START)  # to a running belt
            assert [w.data for w in treadmill.writes] == [REQUEST_CONTROL, START, START]
            assert seen == treadmill.writes
            assert [w.state_before for w in treadmill.writes] == [
                RunState.IDLE,
                RunState.IDLE,
                RunState.RUNNING,
            ]
            assert treadmill.writes[-1].belt_kmh_before > 0
            assert all(w.result == 0x01 for w in treadmill.writes)

    virtual(scenario)


def test_an_mph_machine_checks_its_km_h_range_against_the_speed_it_reads() -> None:
    # 0x2AD4 is in km/h: 0.62 (read as mph) is 1.0 km/h, within 0.8-19.3 km/h
    srv = FtmsServer(get_profile("mph_target"))
    srv.write_control_point(REQUEST_CONTROL)
    assert srv.write_control_point(set_speed(0.62)).indication == b"\x80\x02\x01"
    assert srv.write_control_point(set_speed(12.5)).indication == b"\x80\x02\x03"  # 20.1 km/h


def test_the_start_toggle_profile_reads_targets_as_mph_like_the_tm11gy_entry_says() -> None:
    assert get_profile("start_toggle").mph_target
