"""``start_toggles`` machines (Start on a running belt pauses it, TM11GY): Start only to a belt
known stopped -- two standstill records in a row, or Training Status idle (issue 12 j)."""

from __future__ import annotations

import asyncio
from typing import Any

from link_helpers import Wire, on_virtual_time
from transports import Transport

import sim
from treadcoach.ftms import TreadmillData, encode_treadmill_data, uuids
from treadcoach.link import GenericProfile, TreadmillLink

START = bytes([0x07])
#: what ``Transport.backends`` yields: (client, scanner, peripheral, adapter, air)
Backends = tuple[Any, ...]
TOGGLES = GenericProfile(start_toggles=True)


async def _belt_left_running(treadmill: sim.SimTreadmill, backends: Backends) -> None:
    """Another session started the belt and lost its link: the belt runs on, nobody connected."""
    client, scanner, *_ = backends
    first = TreadmillLink(
        treadmill.address, client_backend=client, scanner_backend=scanner, reconnect=False
    )
    async with first:
        await first.start()
        await first.set_speed(3.0)
        await asyncio.sleep(10)
        treadmill.inject("disconnect")
        await asyncio.sleep(1)
    assert treadmill.state is sim.RunState.RUNNING


def _blind_wire() -> Wire:
    # no Training Status at connect, and telemetry late: the link has not seen the belt yet
    return Wire(
        unreadable={uuids.TRAINING_STATUS_UUID},
        muted={uuids.TREADMILL_DATA_UUID, uuids.TRAINING_STATUS_UUID},
    )


def _link(treadmill: sim.SimTreadmill, wire: Wire, backends: Backends) -> TreadmillLink:
    client, scanner, *_ = backends
    return TreadmillLink(
        treadmill.address,
        profile=TOGGLES,
        client_backend=wire.client(client),
        scanner_backend=scanner,
    )


def test_start_toggles_sends_no_start_before_the_belt_state_is_seen(transport: Transport) -> None:
    wire = _blind_wire()

    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="start_toggle") as treadmill,
            transport.backends(treadmill) as backends,
        ):
            await _belt_left_running(treadmill, backends)
            async with _link(treadmill, wire, backends) as link:
                outcome = await asyncio.gather(link.start(), return_exceptions=True)
                await asyncio.sleep(5)
                assert START not in wire.writes
                assert treadmill.state is sim.RunState.RUNNING  # not toggled into a pause
                from treadcoach.errors import BeltStateUnknown

                assert isinstance(outcome[0], BeltStateUnknown)
                treadmill.inject("disconnect")  # leave it to the console (no parting Stop)

    on_virtual_time(scenario)


def test_start_toggles_one_zero_frame_is_not_a_stopped_belt(transport: Transport) -> None:
    wire = _blind_wire()

    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="start_toggle") as treadmill,
            transport.backends(treadmill) as backends,
        ):
            await _belt_left_running(treadmill, backends)
            async with _link(treadmill, wire, backends) as link:
                # a lone 0 km/h frame (Merach sends them while running)
                zero = encode_treadmill_data(TreadmillData(speed_kmh=0.0))
                wire.notify(uuids.TREADMILL_DATA_UUID, zero)
                await asyncio.sleep(0.1)
                assert link.belt_speed_kmh == 0.0
                outcome = await asyncio.gather(link.start(), return_exceptions=True)
                assert START not in wire.writes
                assert treadmill.state is sim.RunState.RUNNING
                assert isinstance(outcome[0], Exception)
                treadmill.inject("disconnect")

    on_virtual_time(scenario)


def test_start_toggles_starts_after_two_standstill_records(transport: Transport) -> None:
    # telemetry muted while connecting too: at a long connection interval the connect takes
    # longer than two 1 Hz records, and the belt would be known before start() is called
    wire = _blind_wire()

    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="start_toggle") as treadmill,
            transport.backends(treadmill) as backends,
            _link(treadmill, wire, backends) as link,
        ):
            assert link.belt_running is None
            wire.muted.discard(uuids.TREADMILL_DATA_UUID)  # the standstill records come now
            assert await link.start() is True
            assert wire.writes.count(START) == 1
            await asyncio.sleep(5)
            assert treadmill.state is sim.RunState.RUNNING

    on_virtual_time(scenario)


def test_start_toggles_starts_a_belt_whose_training_status_is_idle(transport: Transport) -> None:
    wire = Wire()

    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="start_toggle") as treadmill,
            transport.backends(treadmill) as backends,
            _link(treadmill, wire, backends) as link,
        ):
            assert await link.start() is True
            assert wire.writes.count(START) == 1

    on_virtual_time(scenario)
