"""The heart-rate strap over a real ATT/GATT stack (bumble), beside the treadmill on one radio.

The simulated strap is served by bumble's GATT server (``sim.bumble_peripheral``) on the same
in-process radio as the treadmill, at 0 and 50 ms connection events; ``link.strap`` reaches it
through the bumble adapter's bleak backends: advertising (0x180D in the PDU), connect, service
discovery, the CCCD write, notifications -- all the stack's own. Virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from bumble_helpers import on_virtual_time

from sim.bumble_peripheral import BumblePeripheral, advertising_data
from sim.strap import SimStrap
from sim.treadmill import SimTreadmill
from treadcoach.ftms.heart_rate import decode_heart_rate_measurement
from treadcoach.link import TelemetryEvent, TreadmillLink
from treadcoach.link.bumble._adapter import BumbleAdapter
from treadcoach.link.bumble.air import ConnectionEventLink, device_on_air
from treadcoach.link.strap import StrapDown, StrapReading, StrapUp, discover_straps, open_strap

INTERVALS = pytest.mark.parametrize("interval_s", [0.0, 0.05], ids=["0ms", "50ms"])


@dataclass
class Radio:
    treadmill: SimTreadmill
    strap: SimStrap
    adapter: BumbleAdapter
    air: ConnectionEventLink

    @property
    def backends(self) -> dict[str, Any]:
        return {
            "client_backend": self.adapter.client_backend,
            "scanner_backend": self.adapter.scanner_backend,
        }


@contextlib.asynccontextmanager
async def radio(interval_s: float) -> AsyncIterator[Radio]:
    """A treadmill and a strap, each a bumble peripheral, and our central, on one radio."""
    air = ConnectionEventLink(interval_s)
    async with (
        SimTreadmill() as treadmill,
        SimStrap(name="SimHR Air", effort=treadmill) as strap,
        BumblePeripheral(treadmill, device_on_air(air, treadmill.address, treadmill.name)),
        BumblePeripheral(strap, device_on_air(air, strap.address, strap.name)),
        BumbleAdapter.on_air(air) as adapter,
    ):
        yield Radio(treadmill, strap, adapter, air)


def test_the_straps_advertisement_names_the_heart_rate_service() -> None:
    async def scenario() -> bytes:
        async with SimStrap(name="SimHR Air") as strap:
            return advertising_data(strap)

    data = on_virtual_time(scenario)
    assert bytes([0x03, 0x03, 0x0D, 0x18]) in data  # complete list of 16-bit UUIDs: 0x180D
    assert b"SimHR Air" in data
    assert len(data) <= 31


@INTERVALS
def test_the_strap_is_found_by_name_and_notifies_over_att_beside_the_treadmill(
    interval_s: float,
) -> None:
    async def scenario() -> tuple[list[str | None], list[StrapReading], list[bytes], int]:
        async with radio(interval_s) as r:
            found = await discover_straps(timeout_s=3, scanner_backend=r.adapter.scanner_backend)
            readings: list[StrapReading] = []
            async with (
                TreadmillLink(r.treadmill.address, **r.backends) as treadmill,
                open_strap("simhr", **r.backends) as strap,
            ):
                await treadmill.start()
                await treadmill.set_speed(3.0)
                r.strap.backward = True
                async with asyncio.timeout(60):
                    async for event in strap.events():
                        if isinstance(event, StrapReading):
                            readings.append(event)
                            if len(readings) == 30:
                                break
                telemetry = []
                async with asyncio.timeout(10):
                    async for event in treadmill.events():
                        if isinstance(event, TelemetryEvent):
                            telemetry.append(event)
                            break
                sent = [p for _, p in r.strap.sent]
            return [f.name for f in found], readings, sent, r.air.delivered

    names, readings, sent, delivered = on_virtual_time(scenario)
    assert names == ["SimHR Air"]  # the treadmill (0x1826) is not a strap
    assert delivered > 0  # over the radio, not the fake backend
    # what went over ATT is what the strap sent, decoded by the codec
    assert [r.measurement for r in readings] == [
        decode_heart_rate_measurement(p) for p in sent[: len(readings)]
    ]
    assert readings[-1].bpm > readings[0].bpm  # walking backward at 3 km/h: the pulse rises
    assert all(r.contact for r in readings)


@INTERVALS
def test_a_strap_dropped_over_the_air_reconnects_on_its_own(interval_s: float) -> None:
    async def scenario() -> list[object]:
        async with radio(interval_s) as r, open_strap(r.strap.address, **r.backends) as strap:
            events: list[object] = []
            async with asyncio.timeout(120):
                async for event in strap.events():
                    events.append(event)
                    ups = [e for e in events if isinstance(e, StrapUp)]
                    if len(ups) == 1 and isinstance(event, StrapReading) and not r.strap.fault_log:
                        r.strap.inject("drop")  # the strap's side drops the connection
                    if len(ups) == 2 and isinstance(event, StrapReading):
                        break
            assert strap.connected
            assert strap.connections == 2
            return events

    events = on_virtual_time(scenario)
    kinds = [type(e) for e in events]
    down = kinds.index(StrapDown)
    assert StrapUp in kinds[:down]
    second_up = kinds.index(StrapUp, down)
    up = events[second_up]
    assert isinstance(up, StrapUp)
    assert up.reconnected
    assert StrapReading in kinds[second_up:]


def test_sim_strap_ble_serves_the_strap_on_its_own_controller_over_hci() -> None:
    """``treadcoach sim --strap --ble T1 --strap-ble T2``: the treadmill and the strap each on a
    controller of their own (two dongles), reached as a phone app would, over HCI transports
    (real sockets, so real time: a few seconds)."""
    from test_ble_cli import hci_over_tcp

    from sim.standalone import StandaloneOptions, run_standalone
    from treadcoach.clock import run
    from treadcoach.link.bumble.cli import ble_backends

    async def scenario() -> tuple[list[str], list[StrapReading]]:
        air = ConnectionEventLink(0.0)
        lines: list[str] = []
        async with (
            hci_over_tcp(air, "F0:0D:00:00:0D:01") as treadmill_side,
            hci_over_tcp(air, "F0:0D:00:00:0D:02") as strap_side,
            hci_over_tcp(air, "C0:7C:00:00:0D:03") as central_side,
            asyncio.TaskGroup() as group,
        ):
            options = StandaloneOptions(
                address="F0:0D:00:00:0D:01",
                ble=treadmill_side,
                strap=True,
                strap_ble=strap_side,
                duration_s=30,
            )
            served = group.create_task(run_standalone(options, lines.append))
            client, scanner = ble_backends("bumble:" + central_side)
            readings: list[StrapReading] = []
            async with open_strap("SimHR", client_backend=client, scanner_backend=scanner) as s:
                async with asyncio.timeout(20):
                    async for event in s.events():
                        if isinstance(event, StrapReading):
                            readings.append(event)
                            if len(readings) == 3:
                                break
            served.cancel()
        return lines, readings

    lines, readings = run(scenario())
    assert any(line.startswith("simulated heart-rate strap 'SimHR") for line in lines)
    assert len(readings) == 3
    assert all(r.contact and 30 <= r.bpm <= 250 for r in readings)
    assert any("strap" in line and "[connected]" in line for line in lines)
