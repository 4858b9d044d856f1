"""Each fault's observable behaviour at the GATT level, through plain bleak calls."""

from __future__ import annotations

import asyncio

import pytest
from bleak.exc import BleakGATTProtocolError
from hypothesis import given
from hypothesis import strategies as st
from sim_helpers import (
    CP,
    REQUEST_CONTROL,
    START,
    STOP,
    TD,
    connect,
    set_speed,
    virtual,
)

from sim import FaultKind, FaultSpec, FaultSpecError, SimTreadmill, parse_fault_spec
from treadcoach import clock
from treadcoach.ftms import FtmsDecodeError, decode_treadmill_data
from treadcoach.ftms.enums import MachineStatusOp

# --- the KIND@SECONDS syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stale@30", FaultSpec(FaultKind.STALE, 30.0)),
        ("disconnect@0", FaultSpec(FaultKind.DISCONNECT, 0.0)),
        (" control-lost@12.5 ", FaultSpec(FaultKind.CONTROL_LOST, 12.5)),
        ("SAFETY_KEY@600", FaultSpec(FaultKind.SAFETY_KEY, 600.0)),
    ],
)
def test_fault_spec_parses_kind_at_seconds(text: str, expected: FaultSpec) -> None:
    assert parse_fault_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("stale", "expected KIND@SECONDS"),
        ("@30", "kind before '@' is missing"),
        ("melt@30", "unknown fault kind"),
        ("stale@soon", "not a number of seconds"),
        ("stale@-1", "0 or more seconds"),
        ("stale@nan", "0 or more seconds"),
    ],
)
def test_invalid_fault_spec_is_a_typed_error_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(FaultSpecError, match=problem) as caught:
        parse_fault_spec(text)
    assert caught.value.spec == text
    assert isinstance(caught.value, ValueError)


@given(st.sampled_from(list(FaultKind)), st.floats(0, 1e6, allow_nan=False))
def test_fault_spec_text_round_trips(kind: FaultKind, at_s: float) -> None:
    spec = FaultSpec(kind, at_s)
    assert parse_fault_spec(f"{kind.value}@{at_s!r}") == spec


# --- faults through bleak -------------------------------------------------------------------------


def test_disconnect_fault_drops_the_link_and_the_belt_keeps_running_for_the_reconnect() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(4.0))
            await asyncio.sleep(10)
            treadmill.inject("disconnect")
            await asyncio.sleep(0.01)
            assert len(central.disconnects) == 1
            assert not central.client.is_connected

            await asyncio.sleep(5)
            assert treadmill.belt_speed_kmh == 4.0  # a real belt runs on without the app

            again = await connect(treadmill.address)
            # a new connection starts with no control: the link must ask again, then stop
            assert await again.command(STOP) == b"\x80\x08\x05"
            assert await again.command(REQUEST_CONTROL) == b"\x80\x00\x01"
            assert await again.command(STOP) == b"\x80\x08\x01"
            await asyncio.sleep(6)
            assert treadmill.belt_speed_kmh == 0.0

    virtual(scenario)


def test_reconnect_needs_indications_enabled_again() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            treadmill.inject(FaultKind.DISCONNECT)
            await asyncio.sleep(0.01)
            await central.client.connect()  # same client, no start_notify this time
            with pytest.raises(BleakGATTProtocolError):
                await central.client.write_gatt_char(CP, REQUEST_CONTROL, response=True)

    virtual(scenario)


def test_nack_fault_rejects_the_next_commands_with_operation_failed() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            treadmill.inject("nack", count=2)
            assert await central.command(set_speed(3.0)) == b"\x80\x02\x04"
            assert await central.command(STOP) == b"\x80\x08\x04"
            assert await central.command(STOP) == b"\x80\x08\x01"

    virtual(scenario)


def test_control_lost_notifies_0xff_then_refuses_until_control_is_requested_again() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(3.0))
            treadmill.inject("control_lost")
            await asyncio.sleep(0.01)
            assert central.statuses()[-1].op == MachineStatusOp.CONTROL_PERMISSION_LOST
            assert await central.command(set_speed(5.0)) == b"\x80\x02\x05"
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == 3.0  # the console has it now
            assert await central.command(REQUEST_CONTROL) == b"\x80\x00\x01"
            assert await central.command(set_speed(5.0)) == b"\x80\x02\x01"

    virtual(scenario)


def test_safety_key_stops_the_belt_at_once_and_says_so() -> None:
    async def scenario() -> None:
        async with SimTreadmill(notify_hz=10) as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(8.0))
            await asyncio.sleep(15.05)  # between two notifications
            t_key = clock.now()
            treadmill.inject("safety_key")
            await asyncio.sleep(0.15)
            assert treadmill.belt_speed_kmh == 0.0
            assert central.speeds(since=t_key) == [0.0]  # no ramp down
            assert central.statuses()[-1].op == MachineStatusOp.STOPPED_BY_SAFETY_KEY

    virtual(scenario)


def test_stale_fault_stops_notifications_but_the_control_point_still_answers() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await asyncio.sleep(5.5)
            treadmill.inject("stale")
            count = len(central.received[TD])
            await asyncio.sleep(30)
            assert len(central.received[TD]) == count
            assert central.client.is_connected
            assert await central.command(STOP) == b"\x80\x08\x01"
            treadmill.clear_fault("stale")
            await asyncio.sleep(2)
            assert len(central.received[TD]) > count

    virtual(scenario)


def test_garbage_fault_interleaves_malformed_packets_but_never_lies_about_speed() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(5.0))
            await asyncio.sleep(10)
            before = len(central.received[TD])
            treadmill.inject("garbage")
            await asyncio.sleep(20)
            packets = [p for _, p in central.received[TD][before:]]
            bad = 0
            for packet in packets:
                try:
                    record = decode_treadmill_data(packet)
                except FtmsDecodeError:
                    bad += 1
                    continue
                if record.speed_kmh is not None:
                    assert record.speed_kmh == 5.0
            assert bad >= 10  # short, truncated and empty packets
            # oversized garbage arrives cut to MTU - 3, as a real GATT server sends it
            assert all(len(p) <= 20 for p in packets)
            assert central.speeds()[-1] == 5.0  # good records keep coming

    virtual(scenario)


def test_ignore_speed_fault_acknowledges_but_the_belt_keeps_its_speed() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(3.0))
            await asyncio.sleep(5)
            treadmill.inject("ignore_speed")
            assert await central.command(set_speed(6.0)) == b"\x80\x02\x01"
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == 3.0
            assert central.speeds()[-1] == 3.0

    virtual(scenario)


def test_scheduled_faults_happen_at_their_time_on_the_loop_clock() -> None:
    async def scenario() -> None:
        async with SimTreadmill(faults=["safety_key@30"]) as treadmill:
            treadmill.schedule_fault("control_lost", 40)
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(5.0))
            await asyncio.sleep(29.9)
            assert treadmill.belt_speed_kmh == 5.0
            await asyncio.sleep(0.2)
            assert treadmill.belt_speed_kmh == 0.0
            await asyncio.sleep(10)
            assert treadmill.fault_log == [
                (pytest.approx(30.0), FaultKind.SAFETY_KEY),
                (pytest.approx(40.0), FaultKind.CONTROL_LOST),
            ]
            assert await central.command(START) == b"\x80\x07\x05"

    virtual(scenario)
