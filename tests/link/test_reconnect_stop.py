"""After a drop the belt is stopped first (issue 12 e), and leaving while the link is down waits
as long as a real reconnect takes, then says whether the belt stopped (f)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from link_helpers import Wire, next_event, on_virtual_time
from transports import Transport

import sim
from treadcoach.link import LinkDownEvent, LinkEvent, LinkUpEvent, TreadmillLink

RC, STOP = bytes([0x00]), bytes([0x08, 0x01])
FAILED = bytes([0x80, 0x08, 0x04])


async def _running(link: TreadmillLink, kmh: float = 5.0) -> None:
    await link.start()
    await link.set_speed(kmh)
    await asyncio.sleep(15)


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def _stop_attempts(wire: Wire, since: int) -> list[float]:
    """When each Stop attempt from write ``since`` on began: its Stop write, or the Request
    Control written just before it (after a 0x05 that Request Control is part of the attempt)."""
    starts = []
    for i in range(since, len(wire.writes)):
        if wire.writes[i] == STOP:
            first = i - 1 if i > since and wire.writes[i - 1] == RC else i
            starts.append(wire.write_times[first])
    return starts


def test_stop_is_the_first_write_after_a_reconnect_before_request_control(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await _running(link)
            before = len(wire.writes)
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)  # (past the first LinkUpEvent)
            up = await next_event(link, LinkUpEvent, within_s=30)
            assert up.stopped_on_reconnect
            # the machine forgot our control with the link: Stop, 0x05, Request Control, Stop
            assert wire.writes[before : before + 3] == [STOP, RC, STOP]
            assert link.has_control
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_a_failed_stop_after_reconnect_is_retried_at_once_until_it_lands(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await _running(link)
            treadmill.inject("nack", count=5)  # the next five writes are answered 0x04
            before = len(wire.writes)
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)  # (past the first LinkUpEvent)
            up = await next_event(link, LinkUpEvent, within_s=30)
            assert up.stopped_on_reconnect
            after = wire.writes[before:]
            assert after[:6] == [STOP] * 6  # nothing else in between, no Start ever
            # never more than 1 s from one attempt to the next, however long an answer takes
            # to come back over the air (at 50 ms: write response + indication, ~0.1 s)
            gaps = _gaps(_stop_attempts(wire, before))
            assert len(gaps) >= 6
            assert all(gap <= 1.0 + 1e-6 for gap in gaps), gaps
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_a_stop_that_never_lands_after_reconnect_tells_the_user(transport: Transport) -> None:
    from treadcoach.link import StopUnconfirmedEvent

    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await _running(link)
            wire.answers[STOP] = FAILED  # from now on every Stop is refused
            before = len(wire.write_times)
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)
            seen: list[LinkEvent] = []
            async with asyncio.timeout(30):
                async for event in link.events():
                    seen.append(event)
                    if isinstance(event, LinkUpEvent):
                        break
            unconfirmed = [e for e in seen if isinstance(e, StopUnconfirmedEvent)]
            assert unconfirmed, "the user must be told the belt may still run"
            assert seen[-1] == LinkUpEvent(True, True, False, seen[-1].at)
            assert seen.index(unconfirmed[0]) < len(seen) - 1  # told before the link is up
            gaps = _gaps(wire.write_times[before:])
            assert len(gaps) >= 3
            assert all(gap <= 1.0 + 1e-6 for gap in gaps)  # retried at once, backoff <= 1 s
            assert treadmill.belt_speed_kmh > 0  # it really is running: hence the event

    on_virtual_time(scenario)


def test_leaving_while_down_waits_for_a_reconnect_as_slow_as_the_measured_one(
    transport: Transport,
) -> None:
    # Over a real stack at a 50 ms connection interval a connect with discovery takes seconds.
    wire = Wire(connect_delay_s=3.0)

    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            link = TreadmillLink(
                treadmill.address, client_backend=wire.client(client), scanner_backend=scanner
            )
            async with link:
                await _running(link)
                treadmill.inject("disconnect")
                await next_event(link, LinkDownEvent, within_s=2)
                assert link.reconnecting
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0
            assert link.belt_stopped_on_exit

    on_virtual_time(scenario)


def test_leaving_while_down_for_good_says_the_belt_may_be_running(transport: Transport) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with (
            sim.SimTreadmill() as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            link = TreadmillLink(
                treadmill.address, client_backend=wire.client(client), scanner_backend=scanner
            )
            async with link:
                await _running(link)
                wire.unreachable = True  # out of range from now on
                treadmill.inject("disconnect")
                await next_event(link, LinkDownEvent, within_s=2)
            assert link.belt_stopped_on_exit is False
            assert treadmill.belt_speed_kmh == pytest.approx(5.0)  # what the user must hear

    on_virtual_time(scenario)


def test_leaving_a_live_link_confirms_the_belt_stopped(transport: Transport) -> None:
    async def scenario() -> None:
        async with transport.link() as stack:
            _treadmill, link = stack.treadmill, stack.link
            await _running(link)
        assert link.belt_stopped_on_exit is True

    on_virtual_time(scenario)


def test_a_stop_acknowledged_but_ignored_after_reconnect_is_not_reported_as_stopped(
    transport: Transport,
) -> None:
    # The machine answers Stop 0x80 08 01 and runs on (TM11GY: trust Treadmill Data, not the
    # reply). Once telemetry has shown that, the Stop after a reconnect is no confirmation.
    from treadcoach.link import StopUnconfirmedEvent

    wire = Wire(answers={STOP: bytes([0x80, 0x08, 0x01])})

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await _running(link)
            await link.stop()
            await asyncio.sleep(10)
            assert link.belt_running  # telemetry says it runs on
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)
            seen: list[LinkEvent] = []
            async with asyncio.timeout(30):
                async for event in link.events():
                    seen.append(event)
                    if isinstance(event, LinkUpEvent):
                        break
            assert isinstance(seen[-1], LinkUpEvent)
            assert seen[-1].stopped_on_reconnect is False
            assert any(isinstance(e, StopUnconfirmedEvent) for e in seen)
            assert treadmill.belt_speed_kmh > 0
        assert link.belt_stopped_on_exit is False

    on_virtual_time(scenario)
