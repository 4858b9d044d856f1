"""The in-process fake (``sim.bleak_backend``) honours the ATT MTU as a real stack does."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient
from bumble_helpers import on_virtual_time

import sim
from sim.bleak_backend import SimBleakClient
from treadcoach.ftms import uuids


class SimClientAt247(SimBleakClient):
    att_mtu = 247  # what BlueZ negotiates with most treadmills


@pytest.mark.parametrize(("backend", "largest"), [(SimBleakClient, 20), (SimClientAt247, 244)])
def test_the_fake_splits_and_cuts_notifications_at_mtu_minus_3(
    backend: type[SimBleakClient], largest: int
) -> None:
    async def scenario() -> None:
        async with sim.SimTreadmill(runner=True) as treadmill:
            async with BleakClient(treadmill.address, backend=backend) as client:
                assert client.mtu_size == largest + 3
                packets: list[bytes] = []
                await client.start_notify(
                    uuids.TREADMILL_DATA_UUID, lambda _c, data: packets.append(bytes(data))
                )
                await asyncio.sleep(5)
                treadmill.inject("garbage")  # includes a record-and-a-half long packet
                await asyncio.sleep(10)
            assert packets
            assert all(len(p) <= largest for p in packets)
            split = any(p[0] & 0x01 for p in packets[:5])  # before the garbage
            assert split is (largest == 20)  # a 21+ byte record fits 244 bytes whole

    on_virtual_time(scenario)
