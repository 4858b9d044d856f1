"""TreadmillLink against the simulator: connect, control, speed, quirks, and the stop path."""

from __future__ import annotations

import asyncio

import pytest
from link_helpers import collect, next_event, on_virtual_time, until
from transports import Transport, recording

import sim
from treadcoach.config import load_settings
from treadcoach.errors import CommandSuperseded, ControlRejected, LimitsError
from treadcoach.ftms import InclinationRange, MachineStatusOp, SpeedRange
from treadcoach.ftms.enums import OpCode, ResultCode
from treadcoach.link import (
    KMH_PER_MPH,
    GenericProfile,
    LinkUpEvent,
    StatusEvent,
    TelemetryEvent,
    TreadmillLink,
)


def test_connect_reads_ranges_requests_control_and_reports_link_up(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            up = await next_event(link, LinkUpEvent)
            assert up.reconnected is False
            assert link.connected
            assert link.has_control
            assert treadmill.control_granted
            assert link.speed_range == SpeedRange(0.8, 16.0, 0.1)
            assert link.incline_range == InclinationRange(-3.0, 15.0, 0.5)
            assert link.features is not None
            assert link.name == treadmill.name
            assert link.address == treadmill.address
            telemetry = await next_event(link, TelemetryEvent)
            assert telemetry.data.speed_kmh == 0.0
            assert link.belt_running is False

    on_virtual_time(scenario)


def test_speed_change_within_range_reaches_the_belt(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            assert await link.start() is True
            assert await link.set_speed(5.0) == 5.0
            await asyncio.sleep(15)
            assert treadmill.belt_speed_kmh == pytest.approx(5.0)
            assert link.belt_speed_kmh == pytest.approx(5.0)
            assert link.target_speed_kmh == 5.0
            assert link.belt_running is True

    on_virtual_time(scenario)


def test_targets_are_clamped_to_the_range_and_rounded_to_the_increment(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            assert await link.set_speed(4.876) == 4.9
            assert treadmill.target_speed_kmh == pytest.approx(4.9)
            # the session's cap wins over nearest-rounding: 4.85 would round up to 4.9
            assert await link.set_speed(4.85, ceiling_kmh=4.85) == 4.8
            assert await link.set_speed(9.0, ceiling_kmh=4.83) == 4.8
            with pytest.raises(LimitsError):
                await link.set_speed(3.0, ceiling_kmh=0.5)
            assert await link.set_speed(30) == 16.0  # the machine's maximum, not refused
            assert await link.set_speed(0.1) == 0.8  # its minimum
            assert await link.set_incline(2.26) == 2.5
            assert await link.set_incline(40) == 15.0
            assert await link.set_incline(-9) == -3.0

    on_virtual_time(scenario)


def test_devices_toml_limits_narrow_the_machines_range(transport: Transport) -> None:
    async def scenario() -> None:
        limits = GenericProfile(max_kmh=6.0, speed_increment_kmh=0.5, incline_max_pct=4.0)
        async with transport.link(profile=limits) as stack:
            treadmill, link = stack.treadmill, stack.link
            assert link.speed_range == SpeedRange(0.8, 6.0, 0.5)
            assert link.incline_range.max_pct == 4.0
            await link.start()
            # the grid starts at the minimum (0.8 + k x 0.5); 6.0 itself is off the grid
            assert await link.set_speed(30) == 5.8
            assert await link.set_speed(3.1) == 3.3
            assert treadmill.target_speed_kmh == pytest.approx(3.3)

    on_virtual_time(scenario)


def test_mph_target_quirk_converts_so_the_belt_runs_the_asked_speed(transport: Transport) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="mph_target") as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            settings = load_settings()
            profile = settings.profile_for(treadmill.name, treadmill.address)
            assert profile.target_speed_in_mph  # the shipped devices.toml knows the Bowflex T9
            async with TreadmillLink(
                treadmill.address,
                profile=profile,
                client_backend=client,
                scanner_backend=scanner,
            ) as link:
                await link.start()
                # 2.98 mph: rounded down, so the km/h equivalent (4.79) never exceeds 4.8
                assert await link.set_speed(4.8) == pytest.approx(4.8, abs=0.02)
                await asyncio.sleep(20)
                # the machine read the wire value as mph: it now runs at the km/h we asked for
                assert treadmill.belt_speed_kmh == pytest.approx(4.8, abs=0.02)
                assert link.target_speed_kmh == pytest.approx(4.8, abs=0.02)

    on_virtual_time(scenario)


def test_mph_machine_without_the_quirk_runs_too_fast(transport: Transport) -> None:
    # The contrast that makes the quirk field matter: a generic profile on the same machine.
    async def scenario() -> None:
        async with transport.link("mph_target") as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.83)
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == pytest.approx(4.83 * KMH_PER_MPH, abs=0.05)

    on_virtual_time(scenario)


def test_quick_speed_changes_are_coalesced_into_the_newest(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await collect(link, 2)
            results = await asyncio.gather(
                link.set_speed(3.0), link.set_speed(4.0), link.set_speed(5.0)
            )
            assert results == [5.0, 5.0, 5.0]  # every caller learns what was sent
            events = await collect(link, 1)
            changes = [
                e.status.target_speed_kmh
                for e in events
                if isinstance(e, StatusEvent)
                and e.status.op == MachineStatusOp.TARGET_SPEED_CHANGED
            ]
            assert changes == [5.0]  # one round trip; 3.0 and 4.0 never went on the air
            assert treadmill.target_speed_kmh == 5.0

            # one in flight, two behind it: the newest of those two replaces the other
            first = asyncio.create_task(link.set_speed(2.0))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            later = await asyncio.gather(link.set_speed(2.5), link.set_speed(3.5))
            assert await first == 2.0
            assert later == [3.5, 3.5]
            events = await collect(link, 1)
            changes = [
                e.status.target_speed_kmh
                for e in events
                if isinstance(e, StatusEvent)
                and e.status.op == MachineStatusOp.TARGET_SPEED_CHANGED
            ]
            assert changes == [2.0, 3.5]

    on_virtual_time(scenario)


def test_nack_raises_control_rejected_with_the_result_code(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            treadmill.inject("nack")
            with pytest.raises(ControlRejected) as caught:
                await link.set_speed(4.0)
            assert caught.value.result_code == ResultCode.FAILED
            assert caught.value.opcode == OpCode.SET_TARGET_SPEED
            assert caught.value.address == treadmill.address
            assert link.connected  # a refused command is not a broken link
            assert await link.set_speed(4.0) == 4.0

    on_virtual_time(scenario)


def test_start_is_never_sent_to_a_running_belt(transport: Transport) -> None:
    # TM11GY pauses when it gets Start while running; the link must not send it.
    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="start_toggle") as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            recorder, writes = recording(client)
            settings = load_settings()
            async with TreadmillLink(
                "TM11GY",  # by name, with the devices.toml entry it matches
                profile=settings.profile_for,
                client_backend=recorder,
                scanner_backend=scanner,
            ) as link:
                assert link.profile.start_toggles
                assert await link.start() is True
                await link.set_speed(3.0)
                await asyncio.sleep(10)
                assert treadmill.state is sim.RunState.RUNNING
                running_at = treadmill.belt_speed_kmh
                assert running_at > 0
                assert await link.start() is False
                await asyncio.sleep(5)
                assert treadmill.state is sim.RunState.RUNNING
                assert treadmill.belt_speed_kmh == pytest.approx(running_at)
                assert writes.count(bytes([0x07])) == 1

    on_virtual_time(scenario)


def test_start_before_speed_waits_for_the_belt_then_sets_speed(transport: Transport) -> None:
    # A Kingsmith-like pad answers 0x05 to speed until the belt ran 2.5 s after Start.
    async def scenario() -> None:
        profile = GenericProfile(start_before_speed=True, running_wait_s=3.0)
        async with transport.link("speed_needs_running", profile=profile) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            assert await link.set_speed(4.0) == 4.0
            await asyncio.sleep(15)
            assert treadmill.belt_speed_kmh == pytest.approx(4.0)

    on_virtual_time(scenario)


def test_stop_jumps_the_command_in_flight_and_drops_the_queued_ones(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link("speed_needs_running") as stack:
            treadmill, link = stack.treadmill, stack.link
            writes = stack.writes
            await link.start()
            await link.set_speed(3.0)  # accepted after the 0x05 retries ride out the spin-up
            await asyncio.sleep(10)
            await link.stop()
            await asyncio.sleep(10)
            await link.start()
            # speed is refused (0x05) for 2.5 s after Start: this one is retried, in flight...
            in_flight = asyncio.create_task(link.set_speed(5.0))
            await asyncio.sleep(0.6)
            queued = asyncio.create_task(link.set_incline(5.0))
            await asyncio.sleep(0)
            assert not in_flight.done()
            assert not queued.done()
            before_stop = len(writes)
            await link.stop()  # ...yet Stop is written and answered at once
            assert writes[before_stop] == bytes([0x08, 0x01])
            assert link.belt_running is False
            with pytest.raises(CommandSuperseded):
                await queued
            with pytest.raises(CommandSuperseded):
                await in_flight
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0
            assert treadmill.target_speed_kmh == 0.0
            assert treadmill.incline_pct == 0.0
            # nothing but Stop went out after the Stop: no speed, no incline, no retry
            assert set(writes[before_stop:]) == {bytes([0x08, 0x01])}

    on_virtual_time(scenario)


def test_leaving_the_block_stops_the_belt(transport: Transport) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            async with TreadmillLink(
                treadmill.address, client_backend=client, scanner_backend=scanner
            ) as link:
                await link.start()
                await link.set_speed(6.0)
                await asyncio.sleep(15)
                assert treadmill.belt_speed_kmh == pytest.approx(6.0)
            # the treadmill hears the hang-up at the next connection event (50 ms at most)
            await until(lambda: not treadmill.connected, 0.5, "disconnected")
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_an_error_in_the_block_stops_the_belt_and_propagates_unwrapped(
    transport: Transport,
) -> None:
    class Boom(Exception):
        pass

    async def session(address: str, client: type, scanner: type) -> None:
        async with TreadmillLink(address, client_backend=client, scanner_backend=scanner) as link:
            await link.start()
            await link.set_speed(6.0)
            await asyncio.sleep(10)
            raise Boom

    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            with pytest.raises(Boom):
                await session(treadmill.address, client, scanner)
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_cancelling_the_session_stops_the_belt(transport: Transport) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            commanded = asyncio.Event()

            async def session() -> None:
                async with TreadmillLink(
                    treadmill.address,
                    client_backend=client,
                    scanner_backend=scanner,
                ) as link:
                    await link.start()
                    await link.set_speed(6.0)
                    commanded.set()
                    await asyncio.sleep(3600)

            task = asyncio.create_task(session())
            # a connect costs seconds at a long connection interval: wait for it, then the ramp
            async with asyncio.timeout(60):
                await commanded.wait()
            await asyncio.sleep(15)
            assert treadmill.belt_speed_kmh == pytest.approx(6.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_never_request_control_profile_commands_a_machine_that_needs_none(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        profile = GenericProfile(request_control="never")
        async with transport.link("no_request_control", profile=profile) as stack:
            treadmill, link = stack.treadmill, stack.link
            assert not treadmill.control_granted  # no Request Control was sent
            await link.start()
            assert await link.set_speed(4.0) == 4.0
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == pytest.approx(4.0)

    on_virtual_time(scenario)


def test_before_every_command_profile_still_commands_the_belt(transport: Transport) -> None:
    async def scenario() -> None:
        profile = GenericProfile(request_control="before_every_command")
        async with transport.link(profile=profile) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            assert await link.set_speed(4.0) == 4.0
            assert await link.set_incline(2.0) == 2.0
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == pytest.approx(4.0)
            assert treadmill.control_granted

    on_virtual_time(scenario)


def test_a_machine_that_ignores_speed_targets_is_refused_locally(transport: Transport) -> None:
    async def scenario() -> None:
        profile = GenericProfile(speed_control=False)
        async with transport.link(profile=profile) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            with pytest.raises(ControlRejected) as caught:
                await link.set_speed(4.0)
            assert caught.value.result_code == ResultCode.NOT_SUPPORTED
            assert treadmill.target_speed_kmh == pytest.approx(0.8)  # nothing was sent

    on_virtual_time(scenario)


def test_keepalive_profile_talks_to_an_idle_machine_without_starting_it(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        profile = GenericProfile(keepalive_s=2.0)
        async with transport.link(profile=profile) as stack:
            treadmill, link = stack.treadmill, stack.link
            writes = stack.writes
            await link.start()
            await link.set_speed(3.0)
            sent = len(writes)
            await asyncio.sleep(11)
            keepalives = writes[sent:]
            assert len(keepalives) >= 4
            assert set(keepalives) == {bytes([0x00])}  # Request Control: never Start
            assert treadmill.belt_speed_kmh == pytest.approx(3.0)

    on_virtual_time(scenario)
