"""The link over each transport: the fake, bumble at 0 ms, bumble at 50 ms connection events.

The same scenarios, three stacks: what holds over the fake must hold over real ATT at real
latency (DESIGN invariant 9).
"""

from __future__ import annotations

import asyncio

import pytest
from bumble_helpers import on_virtual_time
from transports import Transport

import sim
from treadcoach.errors import ControlRejected
from treadcoach.link import LinkDownEvent, LinkUpEvent, TelemetryEvent

STOP = bytes([0x08, 0x01])


async def _next(link: object, kind: type, within_s: float = 60.0) -> object:
    async with asyncio.timeout(within_s):
        async for event in link.events():  # type: ignore[attr-defined]
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the event stream ended before a {kind.__name__}")


def test_link_connects_takes_control_and_reads_the_ranges(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            assert stack.link.connected
            assert stack.link.has_control
            assert stack.treadmill.control_granted
            profile = stack.treadmill.profile
            assert stack.link.speed_range.max_kmh == pytest.approx(profile.max_kmh)
            assert stack.writes[0] == bytes([0x00])  # Request Control first

    on_virtual_time(scenario)


def test_telemetry_arrives_at_the_notification_rate(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link(notify_hz=2.0) as stack:
            await stack.link.start()
            await stack.link.set_speed(4.0)
            records = []
            async with asyncio.timeout(30):
                async for event in stack.link.events():
                    if isinstance(event, TelemetryEvent):
                        records.append(event)
                        if len(records) == 20:
                            break
            assert records[-1].data.speed_kmh == pytest.approx(4.0)
            assert stack.link.telemetry_age_s() < 1.0

    on_virtual_time(scenario)


def test_set_speed_moves_the_belt_and_stop_stops_it(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            assert await stack.link.start() is True
            assert await stack.link.set_speed(5.0) == 5.0
            await asyncio.sleep(10)
            assert stack.treadmill.belt_speed_kmh == pytest.approx(5.0)
            await stack.link.stop()
            assert stack.writes[-1] == STOP
            await asyncio.sleep(10)
            assert stack.treadmill.belt_speed_kmh == 0.0
            assert stack.treadmill.state is sim.RunState.STOPPED

    on_virtual_time(scenario)


def test_a_control_point_nack_is_raised_as_control_rejected(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            await stack.link.start()
            stack.treadmill.inject("nack")
            with pytest.raises(ControlRejected) as caught:
                await stack.link.set_speed(4.0)
            assert caught.value.result_code == 0x04
            assert await stack.link.set_speed(4.0) == 4.0  # the next one goes through

    on_virtual_time(scenario)


def test_a_dropped_link_reconnects_and_stops_the_belt_first(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            await stack.link.start()
            await stack.link.set_speed(4.0)
            await asyncio.sleep(8)
            before = len(stack.writes)
            stack.treadmill.inject("disconnect")
            down = await _next(stack.link, LinkDownEvent)
            assert down.reconnecting  # type: ignore[attr-defined]
            up = await _next(stack.link, LinkUpEvent)
            assert up.reconnected  # type: ignore[attr-defined]
            assert up.belt_was_running  # type: ignore[attr-defined]
            assert up.stopped_on_reconnect  # type: ignore[attr-defined]
            after = stack.writes[before:]
            assert after[0] == STOP  # Stop is the first write after a reconnect (issue 12 e)
            await asyncio.sleep(10)
            assert stack.treadmill.belt_speed_kmh == 0.0
            assert await stack.link.start() is True  # and the link is usable again

    on_virtual_time(scenario)
