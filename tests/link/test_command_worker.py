"""The command worker and the stop path under a real stack's timing and failures: a backend that
leaks CancelledError (issue 13), a Stop landing during a 0x05 retry, and a stop input in the same
loop turn as queued commands (issue 12 g)."""

from __future__ import annotations

import asyncio

import pytest
from link_helpers import Wire, next_event, on_virtual_time, once
from transports import Transport

from treadcoach.errors import CommandSuperseded, LinkError

RC, STOP, START = bytes([0x00]), bytes([0x08, 0x01]), bytes([0x07])


def _opcodes(writes: list[bytes]) -> list[int]:
    return [w[0] for w in writes]


def test_worker_survives_a_cancelled_error_it_did_not_ask_for(transport: Transport) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            _treadmill, link = stack.treadmill, stack.link
            await link.start()
            # bumble lets its own CancelledError out of write_gatt_char: nobody cancelled us
            wire.write_raises.append(asyncio.CancelledError())
            with pytest.raises(LinkError):
                await link.set_speed(4.0)
            async with asyncio.timeout(30):  # the next command is served, not hung forever
                assert await link.set_speed(5.0) == 5.0

    on_virtual_time(scenario)


def test_stop_survives_a_cancelled_error_it_did_not_ask_for(transport: Transport) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            wire.write_raises.append(asyncio.CancelledError())
            before = len(wire.writes)
            async with asyncio.timeout(30):
                await link.stop()  # the failed write is retried, the caller is not cancelled
            assert wire.writes[before:] == [STOP, STOP]
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_stop_landing_during_a_0x05_retry_supersedes_the_command_in_flight(
    transport: Transport,
) -> None:
    # A 30 ms connection interval: every write takes a while, so the Stop is still out when the
    # retry's Request Control is answered.
    wire = Wire(write_delay_s=0.03)
    stops: list[asyncio.Future[None]] = []

    async def scenario() -> None:
        async with transport.link("speed_needs_running", wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            # speed is answered 0x05 for 2.5 s after Start; the retry asks for control first,
            # and the user's Stop lands while that Request Control is out
            wire.before_write = once(lambda _: stops.append(link.stop()), RC)
            with pytest.raises(CommandSuperseded):
                await link.set_speed(5.0)
            await stops[0]
            assert 0x02 not in _opcodes(wire.writes[wire.writes.index(STOP) :])
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_stop_in_the_same_turn_as_a_queued_and_a_coalesced_speed_writes_stop_and_no_speed(
    transport: Transport,
) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(3.0)
            await asyncio.sleep(10)
            before = len(wire.writes)
            queued = asyncio.ensure_future(link.set_speed(5.0))
            coalesced = asyncio.ensure_future(link.set_speed(6.0))  # folds into the queued one
            await asyncio.sleep(0)  # both callers have run; the worker has not
            assert len(wire.writes) == before  # nothing written yet
            stopped = link.stop()  # the stop input, in this same loop turn
            await stopped
            for caller in (queued, coalesced):
                with pytest.raises(CommandSuperseded):
                    await caller
            await asyncio.sleep(10)
            assert wire.writes[before:] == [STOP]
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_stop_while_start_waits_for_the_belt_state_means_start_is_never_written(
    transport: Transport,
) -> None:
    from treadcoach.ftms import uuids

    # no Training Status at connect and telemetry late: Start waits to learn the belt state
    wire = Wire(unreadable={uuids.TRAINING_STATUS_UUID})

    async def scenario() -> None:
        async with transport.link(notify_hz=0.05, wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            assert link.belt_running is None
            before = len(wire.writes)
            start = asyncio.ensure_future(link.start())
            await asyncio.sleep(0.5)
            assert not start.done()
            await link.stop()
            with pytest.raises(CommandSuperseded):
                await start
            await asyncio.sleep(30)
            assert START not in wire.writes[before:]
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_reconnect_survives_a_cancelled_error_it_did_not_ask_for(transport: Transport) -> None:
    from treadcoach.link import LinkDownEvent, LinkUpEvent

    wire = Wire()

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(10)
            wire.connect_raises.append(asyncio.CancelledError())  # leaked by the stack
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)
            up = await next_event(link, LinkUpEvent, within_s=30)  # the next attempt came
            assert up.stopped_on_reconnect
            await asyncio.sleep(20)
            assert treadmill.belt_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_a_cancelled_error_leaked_by_the_first_connect_is_a_link_error(
    transport: Transport,
) -> None:
    wire = Wire(connect_raises=[asyncio.CancelledError()])

    async def scenario() -> None:
        with pytest.raises(LinkError):
            async with transport.link(wrap_client=wire.client):
                pass  # pragma: no cover - the connect fails

    on_virtual_time(scenario)
