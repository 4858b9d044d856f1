"""Helpers for the link tests (imported as ``link_helpers``; conftest.py fixes ``import sim``)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sim
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.clock import run
from treadcoach.link import LinkEvent, TreadmillLink

T = TypeVar("T")
E = TypeVar("E")


def on_virtual_time(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on the virtual clock (no sleeping, no wall time)."""

    async def main() -> T:
        return await scenario()

    return run(main(), speedup=math.inf)


@asynccontextmanager
async def sim_link(
    sim_profile: str | sim.Profile = "standard",
    *,
    notify_hz: float = 1.0,
    client_backend: type[SimBleakClient] = SimBleakClient,
    **link_kwargs: Any,
) -> AsyncIterator[tuple[sim.SimTreadmill, TreadmillLink]]:
    """A simulated treadmill and a link connected to it through the bleak backends."""
    async with sim.SimTreadmill(profile=sim_profile, notify_hz=notify_hz) as treadmill:
        link = TreadmillLink(
            treadmill.address,
            client_backend=client_backend,
            scanner_backend=SimBleakScanner,
            **link_kwargs,
        )
        async with link:
            yield treadmill, link


async def next_event(link: TreadmillLink, kind: type[E], within_s: float = 60.0) -> E:
    """The next event of type ``kind`` from the link (earlier events of other types skipped)."""
    async with asyncio.timeout(within_s):
        async for event in link.events():
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the event stream ended before a {kind.__name__}")


async def collect(link: TreadmillLink, for_s: float) -> list[LinkEvent]:
    """Every event the link yields during the next ``for_s`` seconds (loop clock)."""
    events: list[LinkEvent] = []
    try:
        async with asyncio.timeout(for_s):
            async for event in link.events():
                events.append(event)
    except TimeoutError:
        pass
    return events


def recording_client() -> tuple[type[SimBleakClient], list[bytes]]:
    """The simulator's client backend, noting every control-point write (an observation of
    what went on the air through bleak's seam; nothing of the link is replaced)."""
    from treadcoach.ftms import uuids

    writes: list[bytes] = []

    class RecordingSimClient(SimBleakClient):
        async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
            if characteristic.uuid == uuids.CONTROL_POINT_UUID:
                writes.append(bytes(data))
            await super().write_gatt_char(characteristic, data, response)

    return RecordingSimClient, writes
