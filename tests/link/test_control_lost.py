"""After 0xFF the console owns the belt: the link never takes control back on its own (issue 12 b),
and an explicit user stop still asks for control to stop the belt, or says it could not (c)."""

from __future__ import annotations

import asyncio

import pytest
from link_helpers import Wire, next_event, on_virtual_time, once
from transports import Transport

import sim
from treadcoach.errors import ControlLost, ControlRejected
from treadcoach.link import ControlLostEvent, GenericProfile

RC, STOP, START = bytes([0x00]), bytes([0x08, 0x01]), bytes([0x07])


def _console_takes_over(treadmill: sim.SimTreadmill) -> None:
    treadmill.inject("control_lost")


async def _after_lost(wire: Wire, link_lost_at: int, for_s: float) -> list[bytes]:
    await asyncio.sleep(for_s)
    return wire.writes[link_lost_at:]


def test_request_control_in_flight_before_every_command_does_not_regain_control(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        profile = GenericProfile(request_control="before_every_command")
        async with transport.link(profile=profile, wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            assert await link.set_speed(4.0) == 4.0
            # the console takes over while the Request Control before the next command is out
            wire.before_write = once(lambda _: _console_takes_over(treadmill), RC)
            with pytest.raises(ControlLost):
                await link.set_speed(5.0)
            rc_at = len(wire.writes)
            assert link.control_lost
            assert not link.has_control
            later = await _after_lost(wire, rc_at, 30)
            assert later == []  # no speed, no second Request Control
            assert treadmill.target_speed_kmh == pytest.approx(4.0)

    on_virtual_time(scenario)


def test_keepalive_request_control_in_flight_when_0xff_arrives_does_not_regain_control(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        profile = GenericProfile(keepalive_s=2.0)
        async with transport.link(profile=profile, wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(3.0)
            wire.before_write = once(lambda _: _console_takes_over(treadmill), RC)
            await next_event(link, ControlLostEvent, within_s=10)
            lost_at = len(wire.writes)
            later = await _after_lost(wire, lost_at, 30)
            assert link.control_lost
            assert not link.has_control
            assert later == []  # the keep-alive fell silent: it never asks for control again

    on_virtual_time(scenario)


def test_request_control_of_a_0x05_retry_in_flight_when_0xff_arrives_does_not_regain_control(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        # speed is answered 0x05 for 2.5 s after Start: the retry asks for control first
        async with transport.link("speed_needs_running", wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            wire.before_write = once(lambda _: _console_takes_over(treadmill), RC)
            with pytest.raises(ControlLost):
                await link.set_speed(4.0)
            assert link.control_lost
            assert not link.has_control  # one owner: the two views never disagree
            lost_at = len(wire.writes)
            assert await _after_lost(wire, lost_at, 30) == []

    on_virtual_time(scenario)


def test_user_stop_after_control_lost_requests_control_and_stops_the_belt(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            lost_at = len(wire.writes)
            await link.stop(take_control=True)
            assert wire.writes[lost_at:] == [STOP, RC, STOP]
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_user_stop_refused_even_after_request_control_fails_with_stop_refused(
    transport: Transport,
) -> None:
    from treadcoach.errors import StopRefused

    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            wire.answers[STOP] = bytes([0x80, 0x08, 0x05])  # the console will not let go
            lost_at = len(wire.writes)
            with pytest.raises(StopRefused) as refused:
                await link.stop(take_control=True)
            assert isinstance(refused.value, ControlRejected)
            assert RC in wire.writes[lost_at:]  # it did ask for control to stop the belt
            assert START not in wire.writes[lost_at:]

    on_virtual_time(scenario)


def test_stop_after_control_lost_without_the_user_asking_does_not_request_control(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            lost_at = len(wire.writes)
            with pytest.raises(ControlLost):
                await link.stop()
            assert wire.writes[lost_at:] == [STOP]

    on_virtual_time(scenario)


def test_after_0xff_and_a_drop_the_reconnect_does_not_take_control_on_its_own(
    transport: Transport,
) -> None:
    from treadcoach.link import LinkDownEvent, LinkUpEvent, StopUnconfirmedEvent

    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            lost_at = len(wire.writes)
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)
            told = await next_event(link, StopUnconfirmedEvent, within_s=30)
            assert "control" in told.reason
            up = await next_event(link, LinkUpEvent, within_s=30)
            assert not up.stopped_on_reconnect
            assert RC not in wire.writes[lost_at:]  # Stop was tried, control never asked for
            assert STOP in wire.writes[lost_at:]
            assert link.control_lost

    on_virtual_time(scenario)


def test_a_user_stop_while_down_after_0xff_lets_the_reconnect_ask_for_control_to_stop(
    transport: Transport,
) -> None:
    from treadcoach.errors import LinkError
    from treadcoach.link import LinkDownEvent, LinkUpEvent

    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            treadmill.inject("control_lost")
            await next_event(link, ControlLostEvent, within_s=2)
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)
            dropped_at = len(wire.writes)
            with pytest.raises(LinkError):
                await link.stop(take_control=True)  # the user pressed stop while down
            up = await next_event(link, LinkUpEvent, within_s=30)
            assert up.stopped_on_reconnect
            assert wire.writes[dropped_at : dropped_at + 3] == [STOP, RC, STOP]
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)
