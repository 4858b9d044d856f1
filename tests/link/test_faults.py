"""The simulator's faults, met by the link: every fault comes from the simulator, none is faked."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from link_helpers import collect, next_event, on_virtual_time
from transports import Transport

import sim
from treadcoach.errors import ControlLost, LinkError
from treadcoach.ftms import MachineStatusOp
from treadcoach.link import (
    BadFrameEvent,
    ControlLostEvent,
    LinkDownEvent,
    LinkUpEvent,
    StatusEvent,
    TelemetryEvent,
    TreadmillLink,
)
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch, WatchLimits


def test_control_lost_is_reported_commands_refused_then_requested_on_demand(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            assert link.control_lost
            assert not link.has_control
            with pytest.raises(ControlLost):
                await link.set_speed(5.0)
            with pytest.raises(ControlLost):
                await link.start()
            await asyncio.sleep(30)
            # never fought the console: no Request Control went out on our own
            assert not treadmill.control_granted
            await link.request_control()
            assert treadmill.control_granted
            assert link.has_control
            assert not link.control_lost
            assert await link.set_speed(5.0) == 5.0

    on_virtual_time(scenario)


def test_leaving_after_control_lost_sends_no_stop_to_the_console(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            writes = stack.writes
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            lost_at = len(writes)
        assert bytes([0x08, 0x01]) not in writes[lost_at:]
        assert treadmill.target_speed_kmh == pytest.approx(4.0)

    on_virtual_time(scenario)


def test_disconnect_reconnects_and_stops_the_belt_first(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            writes = stack.writes
            await link.start()
            await link.set_speed(5.0)
            await asyncio.sleep(15)
            assert treadmill.belt_speed_kmh == pytest.approx(5.0)
            before_drop = len(writes)
            treadmill.inject("disconnect")
            down = await next_event(link, LinkDownEvent, within_s=2)
            assert down.reconnecting
            up = await next_event(link, LinkUpEvent, within_s=30)
            assert up.reconnected
            assert up.belt_was_running
            assert up.stopped_on_reconnect
            assert link.connected
            assert link.has_control
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0  # the simulator's belt, not our belief
            assert treadmill.state is sim.RunState.STOPPED  # stopped, and never started again
            assert link.belt_running is False
            # the first thing on the new connection is Stop (0x05: control, then Stop again)
            assert writes[before_drop : before_drop + 3] == [
                bytes([0x08, 0x01]),
                bytes([0x00]),
                bytes([0x08, 0x01]),
            ]
            assert bytes([0x07]) not in writes[before_drop:]

    on_virtual_time(scenario)


def test_resume_after_reconnect_keeps_the_belt_running_when_the_session_asks(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            link.resume_after_reconnect = True
            await next_event(link, LinkUpEvent)  # the first connection
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(15)
            treadmill.inject("disconnect")
            up = await next_event(link, LinkUpEvent, within_s=30)
            assert up.reconnected
            assert not up.stopped_on_reconnect
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == pytest.approx(4.0)
            assert await link.set_speed(3.0) == 3.0  # control was requested again

    on_virtual_time(scenario)


def test_stop_while_the_link_is_down_makes_the_reconnect_stop_the_belt(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            link = TreadmillLink(
                treadmill.address,
                client_backend=client,
                scanner_backend=scanner,
            )
            async with link:
                link.resume_after_reconnect = True
                await link.start()
                await link.set_speed(4.0)
                await asyncio.sleep(15)
                treadmill.inject("disconnect")
                await next_event(link, LinkDownEvent, within_s=2)
                with pytest.raises(LinkError):
                    await link.stop()  # the link is down: it says so...
                assert link.resume_after_reconnect is False  # ...and the reconnect will stop
                up = await next_event(link, LinkUpEvent, within_s=30)
                assert up.stopped_on_reconnect
                await asyncio.sleep(20)
                assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_reconnect_gives_up_after_the_limit_and_ends_the_stream(transport: Transport) -> None:
    async def scenario() -> None:
        treadmill = sim.SimTreadmill()
        async with contextlib.AsyncExitStack() as radio:
            async with treadmill:
                client, scanner, peripheral, *_ = await radio.enter_async_context(
                    transport.backends(treadmill)
                )
                link = TreadmillLink(
                    treadmill.address,
                    client_backend=client,
                    scanner_backend=scanner,
                    max_reconnect_s=20.0,
                )
                await link.__aenter__()
            # the treadmill is gone (powered off): the link drops and cannot come back
            if peripheral is not None:  # on bumble its radio goes silent too
                await peripheral.__aexit__(None, None, None)
            await gives_up(link)

    async def gives_up(link: TreadmillLink) -> None:
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            events = await collect(link, 600)
            assert loop.time() - started < 600  # the stream ended on its own
            downs = [e for e in events if isinstance(e, LinkDownEvent)]
            assert [d.reconnecting for d in downs] == [True, False]
            assert "gave up" in downs[-1].reason
            assert not any(isinstance(e, LinkUpEvent) and e.reconnected for e in events)
            assert not link.connected
            assert link.telemetry_age_s() > 19.0  # gave up after max_reconnect_s = 20
            with pytest.raises(LinkError):
                await link.set_speed(3.0)
        finally:
            await link.__aexit__(None, None, None)

    on_virtual_time(scenario)


def test_stale_data_shows_as_a_growing_telemetry_age_while_connected(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await asyncio.sleep(5)
            assert link.telemetry_age_s() <= 1.0  # 1 Hz telemetry
            assert link.last_telemetry_at is not None
            treadmill.inject("stale")
            await asyncio.sleep(6)
            assert link.telemetry_age_s() > 5.0
            assert link.connected  # the radio link is up; only the data stopped
            # the stale watchdog's verdict, from the link's numbers
            loop = asyncio.get_running_loop()
            watch = BeltWatch(WatchLimits(), now=link.last_telemetry_at)
            watch.commanded(link.target_speed_kmh or 0.0, now=link.last_telemetry_at)
            verdict = watch.check(loop.time())
            assert verdict is not None
            assert verdict.reason is StopReason.STALE
            # the control point still answers: Stop still works on a stale machine
            await link.stop()
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_garbage_packets_are_counted_and_skipped_without_dropping_the_link(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            treadmill.inject("garbage")
            events = await collect(link, 20)
            bad = [e for e in events if isinstance(e, BadFrameEvent)]
            assert bad
            assert link.bad_frames == len(bad)
            assert all(e.characteristic == "Treadmill Data" for e in bad)
            telemetry = [e for e in events if isinstance(e, TelemetryEvent)]
            assert len(telemetry) >= 15  # the good records kept coming
            assert all(e.data.speed_kmh == pytest.approx(4.0) for e in telemetry[-5:])
            assert link.connected
            assert not any(isinstance(e, LinkDownEvent) for e in events)
            assert await link.set_speed(5.0) == 5.0

    on_virtual_time(scenario)


def test_ignored_speed_shows_as_target_and_belt_disagreeing(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(3.0)
            await asyncio.sleep(15)
            treadmill.inject("ignore_speed")
            loop = asyncio.get_running_loop()
            watch = BeltWatch(WatchLimits(), now=loop.time())
            assert await link.set_speed(5.0) == 5.0  # acknowledged...
            watch.commanded(link.target_speed_kmh or 0.0, now=loop.time())
            verdict = None
            async for event in link.events():
                if isinstance(event, TelemetryEvent) and event.data.speed_kmh is not None:
                    watch.telemetry(event.data.speed_kmh, now=event.at)
                    verdict = watch.check(event.at)
                    if verdict is not None:
                        break
            # ...but the belt stays: what the target-ignored watchdog needs is all on the link
            assert link.target_speed_kmh == 5.0
            assert link.belt_speed_kmh == pytest.approx(3.0)
            assert treadmill.belt_speed_kmh == pytest.approx(3.0)
            assert verdict is not None
            assert verdict.reason is StopReason.TARGET_IGNORED

    on_virtual_time(scenario)


def test_safety_key_is_reported_and_the_belt_is_known_stopped(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            treadmill.inject("safety_key")
            event = await next_event(link, StatusEvent, within_s=2)
            while event.status.op != MachineStatusOp.STOPPED_BY_SAFETY_KEY:
                event = await next_event(link, StatusEvent, within_s=2)
            assert link.belt_running is False
            assert link.target_speed_kmh == 0.0
            # Start after a safety stop is the session's decision; the link allows it
            assert await link.start() is True

    on_virtual_time(scenario)


def test_leaving_while_the_link_is_down_lets_the_reconnect_stop_the_belt(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            async with TreadmillLink(
                treadmill.address,
                client_backend=client,
                scanner_backend=scanner,
            ) as link:
                link.resume_after_reconnect = True
                await link.start()
                await link.set_speed(5.0)
                await asyncio.sleep(15)
                treadmill.inject("disconnect")
                await next_event(link, LinkDownEvent, within_s=2)
                assert link.reconnecting
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)
