"""The simulator as a real GATT server (``sim.bumble_peripheral``): strict where bumble is lax.

A raw bumble central (no bleak) on the in-process radio, so each test sees the ATT PDUs' own
outcomes: error codes, dropped commands, advertising PDUs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bumble_helpers import on_virtual_time

pytest.importorskip("bumble")

from bleak import BleakScanner
from bumble.att import ATT_Error
from bumble.core import UUID
from bumble.device import Device, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR

import sim
from sim.bumble_peripheral import (
    ATT_CCCD_IMPROPERLY_CONFIGURED,
    ATT_PROCEDURE_ALREADY_IN_PROGRESS,
    LEGACY_ADVERTISING_MAX,
    BumblePeripheral,
    advertising_data,
    scan_response_data,
)
from treadcoach.ftms import uuids
from treadcoach.link.bumble import (
    BumbleAdapter,
    ConnectionEventLink,
    device_on_air,
    parse_advertising_data,
)

LONG_NAME = "Garage Treadmill Pro 3000 XL"  # 28 bytes: the whole name cannot ride in the ADV


@contextlib.asynccontextmanager
async def central_and_treadmill(
    interval_s: float = 0.0, **treadmill: Any
) -> AsyncIterator[tuple[sim.SimTreadmill, BumblePeripheral, Device, ConnectionEventLink]]:
    air = ConnectionEventLink(interval_s)
    async with sim.SimTreadmill(**treadmill) as tm:
        # the device's own name is not the treadmill's: the peripheral must name GAP itself
        device = device_on_air(air, tm.address, "bumble device")
        async with BumblePeripheral(tm, device) as peripheral:
            central = device_on_air(air, "C0:7C:00:00:00:0A", "raw central")
            await central.power_on()
            yield tm, peripheral, central, air


async def connect(central: Device, tm: sim.SimTreadmill, *, mtu: int | None = 247) -> Peer:
    heard: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_adv(adv: Any) -> None:
        if adv.address.to_string(False) == tm.address and not heard.done():
            heard.set_result(adv.address)

    central.on(Device.EVENT_ADVERTISEMENT, on_adv)
    await central.start_scanning()
    address = await asyncio.wait_for(heard, 5)
    await central.stop_scanning()
    peer = Peer(await central.connect(address))
    if mtu is not None:
        await peer.request_mtu(mtu)
    await peer.discover_services()
    await peer.discover_characteristics()
    for char in peer.get_characteristics_by_uuid(UUID(uuids.CONTROL_POINT_UUID)):
        await char.discover_descriptors()
    return peer


def char(peer: Peer, uuid: str) -> Any:
    (found,) = peer.get_characteristics_by_uuid(UUID(uuid))
    return found


def test_the_advertisement_fits_31_bytes_with_the_full_name_in_the_scan_response() -> None:
    async def scenario() -> None:
        async with sim.SimTreadmill(name=LONG_NAME) as tm:
            adv, rsp = advertising_data(tm), scan_response_data(tm)
            assert len(adv) <= LEGACY_ADVERTISING_MAX
            assert len(rsp) <= LEGACY_ADVERTISING_MAX
            parsed = parse_advertising_data(adv)
            assert parsed.complete_name is None
            assert parsed.shortened_name
            assert LONG_NAME.startswith(parsed.shortened_name)
            assert parsed.service_uuids == [uuids.FTMS_SERVICE_UUID]
            assert parsed.service_data == {uuids.FTMS_SERVICE_UUID: b"\x01\x01\x00"}
            assert parse_advertising_data(rsp).complete_name == LONG_NAME

            # on the air, a bleak scan hears the full name
            air = ConnectionEventLink(0.0)
            async with (
                BumblePeripheral(tm, device_on_air(air, tm.address, tm.name)),
                BumbleAdapter.on_air(air) as adapter,
            ):
                device = await BleakScanner.find_device_by_address(
                    tm.address, timeout=5, backend=adapter.scanner_backend
                )
                assert device is not None
                assert device.name == LONG_NAME

    on_virtual_time(scenario)


def test_the_gap_device_name_is_the_treadmills_name() -> None:
    async def scenario() -> None:
        async with central_and_treadmill(name=LONG_NAME) as (tm, _, central, _air):
            peer = await connect(central, tm)
            name = char(peer, uuids.uuid16(0x2A00))
            assert bytes(await name.read_value()).decode() == LONG_NAME

    on_virtual_time(scenario)


def test_it_advertises_every_100_ms_by_default() -> None:
    async def scenario() -> None:
        async with central_and_treadmill() as (tm, _, central, _air):
            heard: list[float] = []
            loop = asyncio.get_running_loop()

            def on_adv(adv: Any) -> None:
                if not adv.is_scan_response and adv.address.to_string(False) == tm.address:
                    heard.append(loop.time())

            central.on(Device.EVENT_ADVERTISEMENT, on_adv)
            await central.start_scanning()
            await asyncio.sleep(1.0)
            await central.stop_scanning()
            gaps = [b - a for a, b in itertools.pairwise(heard)]
            assert len(heard) >= 9
            assert all(g == pytest.approx(0.1) for g in gaps)

    on_virtual_time(scenario)


def test_a_write_without_response_to_the_control_point_is_dropped() -> None:
    async def scenario() -> None:
        async with central_and_treadmill() as (tm, peripheral, central, _air):
            peer = await connect(central, tm)
            cp = char(peer, uuids.CONTROL_POINT_UUID)
            answers: list[bytes] = []
            await cp.subscribe(lambda v: answers.append(bytes(v)), prefer_notify=False)
            await cp.write_value(b"\x00", with_response=True)  # control granted
            await cp.write_value(b"\x07", with_response=False)  # Start, as a Write Command
            await asyncio.sleep(2)
            assert peripheral.refused_commands == 1
            assert tm.state is sim.RunState.IDLE  # the belt did not start
            assert answers == [b"\x80\x00\x01"]  # and nothing answered the dropped one

    on_virtual_time(scenario)


@pytest.mark.parametrize(
    ("uuid", "bits"),
    [
        (uuids.TREADMILL_DATA_UUID, b"\x02\x00"),  # indications on a notify-only characteristic
        (uuids.CONTROL_POINT_UUID, b"\x01\x00"),  # notifications on an indicate-only one
        (uuids.MACHINE_STATUS_UUID, b"\x05\x00"),  # a reserved bit
    ],
)
def test_a_cccd_value_the_characteristic_does_not_support_is_refused(
    uuid: str, bits: bytes
) -> None:
    async def scenario() -> None:
        async with central_and_treadmill() as (tm, _, central, _air):
            peer = await connect(central, tm)
            target = char(peer, uuid)
            await target.discover_descriptors()
            cccd = target.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)
            with pytest.raises(ATT_Error) as caught:
                await cccd.write_value(bits, with_response=True)
            assert caught.value.error_code == ATT_CCCD_IMPROPERLY_CONFIGURED
            assert bytes(await cccd.read_value()) == b"\x00\x00"  # nothing was enabled

    on_virtual_time(scenario)


def test_a_control_point_write_while_a_procedure_is_pending_is_refused_0xfe() -> None:
    async def scenario() -> None:
        async with central_and_treadmill(interval_s=0.03) as (tm, _, central, _air):
            peer = await connect(central, tm)
            cp = char(peer, uuids.CONTROL_POINT_UUID)
            await cp.subscribe(lambda v: None, prefer_notify=False)
            confirm = peer.gatt_client.send_confirmation
            held: list[Any] = []
            peer.gatt_client.send_confirmation = held.append  # the central sits on the confirm
            await cp.write_value(b"\x00", with_response=True)
            await asyncio.sleep(0.2)  # the indication arrived, unconfirmed
            with pytest.raises(ATT_Error) as caught:
                await cp.write_value(b"\x07", with_response=True)
            assert caught.value.error_code == ATT_PROCEDURE_ALREADY_IN_PROGRESS
            assert tm.state is sim.RunState.IDLE  # discarded
            confirm(held.pop())  # procedure complete: the next write is taken
            peer.gatt_client.send_confirmation = confirm
            await asyncio.sleep(0.1)
            await cp.write_value(b"\x07", with_response=True)
            await asyncio.sleep(0.2)
            assert tm.state is sim.RunState.RUNNING

    on_virtual_time(scenario)


@pytest.mark.parametrize(("mtu", "largest"), [(None, 20), (247, 244)])
def test_treadmill_data_follows_the_negotiated_mtu(mtu: int | None, largest: int) -> None:
    async def scenario() -> None:
        async with central_and_treadmill(runner=True) as (tm, _, central, _air):
            peer = await connect(central, tm, mtu=mtu)
            packets: list[bytes] = []
            await char(peer, uuids.TREADMILL_DATA_UUID).subscribe(
                lambda v: packets.append(bytes(v))
            )
            await asyncio.sleep(5)
            assert packets
            assert all(len(p) <= largest for p in packets)
            more_data = [p for p in packets if p[0] & 0x01]
            if mtu is None:  # a 21+ byte record does not fit 20 bytes: split with More Data
                assert more_data
            else:  # it fits: never split
                assert not more_data

    on_virtual_time(scenario)


def test_leaving_disconnects_every_central_and_powers_off() -> None:
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)
        async with sim.SimTreadmill() as tm:
            device = device_on_air(air, tm.address, tm.name)
            central = device_on_air(air, "C0:7C:00:00:00:0B", "raw central")
            await central.power_on()
            async with BumblePeripheral(tm, device):
                peer = await connect(central, tm)
                gone = asyncio.Event()
                peer.connection.on("disconnection", lambda _reason: gone.set())
            await asyncio.wait_for(gone.wait(), 2)
            assert not device.powered_on
            assert not tm.connected

    on_virtual_time(scenario)
