"""What the fake hides and a real stack shows: the link's timeouts against real BLE latency.

Each test is a scenario that holds over the in-process fake and breaks over bumble at a real
connection interval (issue 13). Each failed on the link before its rebuild (issue 12/13); they are
plain tests now.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bumble_helpers import on_virtual_time
from transports import TRANSPORTS, Transport

import sim
from treadcoach.errors import CommandSuperseded, LinkError
from treadcoach.link import LinkDownEvent, LinkUpEvent, TreadmillLink

STOP = bytes([0x08, 0x01])
AT_30_MS = Transport("bumble-30ms", 0.03)


async def _next(link: Any, kind: type, within_s: float = 60.0) -> Any:
    async with asyncio.timeout(within_s):
        async for event in link.events():
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the event stream ended before a {kind.__name__}")


async def _reconnected(link: Any, within_s: float = 60.0) -> None:
    """Wait for the link to come back after a drop (skipping the first connection's event)."""
    async with asyncio.timeout(within_s):
        async for event in link.events():
            if isinstance(event, LinkUpEvent) and event.reconnected:
                return
    raise AssertionError("the event stream ended before the link came back")


@pytest.mark.parametrize("transport", [*TRANSPORTS, AT_30_MS], ids=lambda t: t.id)
def test_a_stop_during_a_not_permitted_retry_supersedes_the_command_and_nothing_follows_it(
    transport: Transport,
) -> None:
    # speed is refused (0x05) for 2.5 s after Start on this profile, so set_speed sits in the
    # link's 0x05 retry loop (back off, Request Control, send again) when the Stop lands
    async def scenario() -> None:
        async with transport.link("speed_needs_running") as stack:
            link, writes = stack.link, stack.writes
            await link.start()
            in_flight = asyncio.ensure_future(link.set_speed(5.0))
            # the first 0x05 comes back, the link waits 0.5 s, then re-requests control:
            # land the Stop while that Request Control is on the air
            await asyncio.sleep(0.5 + 2 * (transport.interval_s or 0.0) + 0.001)
            before_stop = len(writes)
            stopped = link.stop()
            with pytest.raises(CommandSuperseded):
                await in_flight
            await stopped
            await asyncio.sleep(5)
            assert STOP in writes[before_stop:]
            after_stop = writes[writes.index(STOP, before_stop) :]
            assert all(w[0] != 0x02 for w in after_stop), after_stop  # no speed after the Stop
            assert stack.treadmill.target_speed_kmh == 0.0

    on_virtual_time(scenario)


def test_leaving_during_a_reconnect_waits_until_the_reconnect_stopped_the_belt(
    transport: Transport,
) -> None:
    async def scenario() -> None:
        async with sim.SimTreadmill() as treadmill, transport.backends(treadmill) as backends:
            client, scanner = backends[0], backends[1]
            link = TreadmillLink(treadmill.address, client_backend=client, scanner_backend=scanner)
            async with link:
                await link.start()
                await link.set_speed(5.0)
                await asyncio.sleep(8)
                treadmill.inject("disconnect")
                await _next(link, LinkDownEvent)
                # leave at once: the link is reconnecting, and only the reconnect can stop
                # the belt now
            await asyncio.sleep(15)  # the belt ramps down if (and only if) Stop reached it
            assert treadmill.belt_speed_kmh == 0.0, "the belt was left running"

    on_virtual_time(scenario)


class _LeakyClient:
    """Mixin: a bumble client backend that lets bumble's exceptions through untranslated, as a
    backend without ``bleak_errors`` would: a request cut off by a disconnect raises the bare
    ``CancelledError`` bumble's GATT client throws."""

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        _, peer = self._connected()  # type: ignore[attr-defined]
        await peer.write_value(characteristic.obj, bytes(data), with_response=response)


@pytest.mark.parametrize("leaky", [False, True], ids=["translating backend", "leaky backend"])
def test_an_unrequested_cancelled_error_from_the_backend_does_not_kill_the_command_worker(
    leaky: bool,
) -> None:
    transport = Transport("bumble-50ms", 0.05)

    async def scenario() -> None:
        def wrap(client: type) -> type:
            return type("Leaky", (_LeakyClient, client), {}) if leaky else client

        async with transport.link(wrap_client=wrap) as stack:
            await stack.link.start()
            in_flight = asyncio.ensure_future(stack.link.set_speed(4.0))
            await asyncio.sleep(0.01)  # written, not answered yet
            stack.treadmill.inject("disconnect")
            with pytest.raises(LinkError):
                await in_flight
            await _reconnected(stack.link)
            async with asyncio.timeout(30):  # loop time: a dead worker shows as TimeoutError
                await stack.link.start()
                assert await stack.link.set_speed(4.5) == 4.5

    on_virtual_time(scenario)
