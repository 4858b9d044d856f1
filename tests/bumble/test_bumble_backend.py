"""The bleak backend on bumble (``treadcoach.link.bumble``), seen through bleak's own API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bumble_helpers import on_virtual_time

pytest.importorskip("bumble")

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

import sim
from sim.bumble_peripheral import BumblePeripheral
from treadcoach.ftms import uuids
from treadcoach.link.bumble import (
    REQUESTED_MTU,
    BumbleAdapter,
    ConnectionEventLink,
    device_on_air,
)

NOBODY = "F0:0D:00:00:0F:FF"


@contextlib.asynccontextmanager
async def treadmill_on_air(
    interval_s: float = 0.0, **treadmill: Any
) -> AsyncIterator[tuple[sim.SimTreadmill, BumblePeripheral, BumbleAdapter]]:
    air = ConnectionEventLink(interval_s)
    async with sim.SimTreadmill(**treadmill) as tm:
        device = device_on_air(air, tm.address, tm.name)
        async with BumblePeripheral(tm, device) as peripheral, BumbleAdapter.on_air(air) as adapter:
            yield tm, peripheral, adapter


@contextlib.asynccontextmanager
async def client_on_air(
    interval_s: float = 0.0, **treadmill: Any
) -> AsyncIterator[tuple[sim.SimTreadmill, BumblePeripheral, BumbleAdapter, BleakClient]]:
    """A treadmill on the in-process radio and a bleak client connected to it over bumble."""
    async with treadmill_on_air(interval_s, **treadmill) as (tm, peripheral, adapter):
        device = await found(adapter, tm.address)
        async with BleakClient(device, backend=adapter.client_backend) as client:
            yield tm, peripheral, adapter, client


@contextlib.asynccontextmanager
async def client_to(adapter: BumbleAdapter, address: str) -> AsyncIterator[BleakClient]:
    async with BleakClient(await found(adapter, address), backend=adapter.client_backend) as client:
        yield client


async def found(adapter: BumbleAdapter, address: str) -> BLEDevice:
    device = await BleakScanner.find_device_by_address(
        address, timeout=5, backend=adapter.scanner_backend
    )
    assert device is not None
    return device


def test_discovery_maps_to_bleak_objects_with_bleak_property_names() -> None:
    async def scenario() -> None:
        async with client_on_air() as (tm, _, _adapter, client):
            services = client.services
            cp = services.get_characteristic(uuids.CONTROL_POINT_UUID)
            td = services.get_characteristic(uuids.TREADMILL_DATA_UUID)
            ts = services.get_characteristic(uuids.TRAINING_STATUS_UUID)
            assert cp is not None
            assert td is not None
            assert ts is not None
            assert sorted(cp.properties) == ["indicate", "write"]
            assert td.properties == ["notify"]
            assert sorted(ts.properties) == ["notify", "read"]
            assert cp.service_uuid == uuids.FTMS_SERVICE_UUID
            assert [d.uuid for d in cp.descriptors] == [uuids.uuid16(0x2902)]
            assert services.get_service(uuids.DEVICE_INFORMATION_SERVICE_UUID) is not None
            name = services.get_characteristic(uuids.uuid16(0x2A00))
            assert name is not None
            assert bytes(await client.read_gatt_char(name)).decode() == tm.name

    on_virtual_time(scenario)


def test_connect_requests_mtu_247_and_the_treadmill_fills_it() -> None:
    async def scenario() -> None:
        async with client_on_air(runner=True) as (_tm, _, _adapter, client):
            assert client.mtu_size == REQUESTED_MTU
            td = client.services.get_characteristic(uuids.TREADMILL_DATA_UUID)
            assert td is not None
            assert td.max_write_without_response_size == REQUESTED_MTU - 3
            packets: list[bytes] = []
            await client.start_notify(td, lambda _c, data: packets.append(bytes(data)))
            await asyncio.sleep(5)
            assert packets
            # a whole record per notification: no More Data split at MTU 247
            assert all(p[0] & 0x01 == 0 for p in packets)
            assert max(len(p) for p in packets) > 20

    on_virtual_time(scenario)


def test_disconnect_callback_runs_on_our_disconnect_and_on_the_peers() -> None:
    async def scenario() -> None:
        async with treadmill_on_air() as (tm, _, adapter):
            calls: list[str] = []
            device = await found(adapter, tm.address)
            client = BleakClient(
                device,
                disconnected_callback=lambda c: calls.append("ours"),
                backend=adapter.client_backend,
            )
            await client.connect()
            await client.disconnect()
            assert calls == ["ours"]
            assert not client.is_connected
            await client.connect()  # the same client connects again
            assert client.is_connected
            tm.inject("disconnect")  # the treadmill hangs up
            await asyncio.sleep(1)
            assert calls == ["ours", "ours"]
            assert not client.is_connected

    on_virtual_time(scenario)


def test_an_att_error_is_a_bleak_gatt_protocol_error_with_its_code() -> None:
    async def scenario() -> None:
        async with client_on_air() as (_tm, _, _adapter, client):
            with pytest.raises(BleakGATTProtocolError) as caught:  # indications not enabled
                await client.write_gatt_char(uuids.CONTROL_POINT_UUID, b"\x00", response=True)
            assert caught.value.code == 0xFD

    on_virtual_time(scenario)


def test_write_without_response_is_refused_without_the_property() -> None:
    async def scenario() -> None:
        async with client_on_air() as (_tm, peripheral, _adapter, client):
            with pytest.raises(BleakError, match="write without response"):
                await client.write_gatt_char(uuids.CONTROL_POINT_UUID, b"\x00", response=False)
            assert peripheral.refused_commands == 0  # refused before it went on the air

    on_virtual_time(scenario)


def _device(link: LocalLink, address: str, controller_class: type = Controller) -> Device:
    controller = controller_class("c" + address[-2:], link=link, public_address=address)
    return Device(
        name="d", address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller))
    )


def _custom_peripheral(link: LocalLink, address: str, value: CharacteristicValue) -> Device:
    device = _device(link, address)
    props = (
        Characteristic.Properties.READ
        | Characteristic.Properties.WRITE
        | Characteristic.Properties.WRITE_WITHOUT_RESPONSE
    )
    char = Characteristic(
        UUID.from_16_bits(0xFFF1),
        props,
        Characteristic.READABLE | Characteristic.WRITEABLE,
        value,
    )
    device.add_services([Service(UUID.from_16_bits(0xFFF0), [char])])
    return device


def test_write_without_response_longer_than_mtu_minus_3_is_refused() -> None:
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)
        written: list[bytes] = []
        peripheral = _custom_peripheral(
            air,
            "F0:0D:00:00:0A:01",
            CharacteristicValue(write=lambda c, v: written.append(bytes(v))),
        )
        await peripheral.power_on()
        await peripheral.start_advertising(
            auto_restart=True, advertising_interval_min=100, advertising_interval_max=100
        )
        async with (
            BumbleAdapter.on_air(air) as adapter,
            client_to(adapter, "F0:0D:00:00:0A:01") as client,
        ):
            char = client.services.get_characteristic(uuids.uuid16(0xFFF1))
            assert char is not None
            assert "write-without-response" in char.properties
            await client.write_gatt_char(char, bytes(244), response=False)
            with pytest.raises(BleakError, match="at most 244 bytes"):
                await client.write_gatt_char(char, bytes(245), response=False)
            await asyncio.sleep(0.1)
            assert [len(w) for w in written] == [244]

    on_virtual_time(scenario)


def test_a_gatt_request_nobody_answers_is_a_timeout_error() -> None:
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)

        async def never(connection: Any) -> bytes:
            await asyncio.Event().wait()
            return b""

        peripheral = _custom_peripheral(air, "F0:0D:00:00:0A:02", CharacteristicValue(read=never))
        await peripheral.power_on()
        await peripheral.start_advertising(
            auto_restart=True, advertising_interval_min=100, advertising_interval_max=100
        )
        async with (
            BumbleAdapter.on_air(air) as adapter,
            client_to(adapter, "F0:0D:00:00:0A:02") as client,
        ):
            with pytest.raises(TimeoutError):  # bumble's own timeout (30 s), as the built-in
                await client.read_gatt_char(uuids.uuid16(0xFFF1))

    on_virtual_time(scenario)


def test_a_request_cut_off_by_a_disconnect_is_a_bleak_error_not_a_cancellation() -> None:
    async def scenario() -> None:
        async with client_on_air(interval_s=0.05) as (tm, _, _adapter, client):
            read = asyncio.ensure_future(client.read_gatt_char(uuids.FEATURE_UUID))
            await asyncio.sleep(0.01)  # written, not answered: the link drops under it
            tm.inject("disconnect")
            with pytest.raises(BleakError):
                await read
            assert not read.cancelled()

    on_virtual_time(scenario)


def test_a_requested_cancellation_still_cancels() -> None:
    async def scenario() -> None:
        async with client_on_air(interval_s=0.05) as (_tm, _, _adapter, client):
            read = asyncio.ensure_future(client.read_gatt_char(uuids.FEATURE_UUID))
            await asyncio.sleep(0.01)
            read.cancel()
            with pytest.raises(asyncio.CancelledError):
                await read
            # and the client is still good for the next request
            assert await client.read_gatt_char(uuids.FEATURE_UUID)

    on_virtual_time(scenario)


@pytest.mark.parametrize("controller", ["air", "stock bumble"])
def test_connecting_to_an_address_nobody_answers_is_device_not_found(controller: str) -> None:
    # bumble's stock virtual controller never completes LE Create Connection Cancel: the connect
    # must still end, within its timeout, as BleakDeviceNotFoundError
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)
        if controller == "air":
            adapter_cm = BumbleAdapter.on_air(air)
        else:
            adapter_cm = BumbleAdapter(_device(air, "C0:7C:00:00:00:09"))
        async with adapter_cm as adapter:
            ghost = BLEDevice(NOBODY, "ghost", hci.Address(NOBODY))
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(BleakDeviceNotFoundError):
                await BleakClient(ghost, backend=adapter.client_backend, timeout=5).connect()
            assert loop.time() - started <= 5 + 2 * 1.0  # timeout + the bounded cancel waits
            assert adapter.cancel_unanswered is (controller != "air")
            with pytest.raises(BleakDeviceNotFoundError):  # by address: never heard
                await BleakClient(NOBODY, backend=adapter.client_backend, timeout=3).connect()

    on_virtual_time(scenario)


def test_after_a_cancelled_connect_the_same_adapter_connects_again() -> None:
    async def scenario() -> None:
        async with treadmill_on_air() as (tm, _, adapter):
            ghost = BLEDevice(NOBODY, "ghost", hci.Address(NOBODY))
            with pytest.raises(BleakDeviceNotFoundError):
                await BleakClient(ghost, backend=adapter.client_backend, timeout=2).connect()
            async with BleakClient(
                await found(adapter, tm.address), backend=adapter.client_backend
            ) as client:
                assert client.is_connected

    on_virtual_time(scenario)


def test_the_scanner_keeps_every_service_data_and_manufacturer_data_entry() -> None:
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)
        advertiser = _device(air, "F0:0D:00:00:0A:03")
        await advertiser.power_on()
        adv = AdvertisingData(
            [
                (AdvertisingData.FLAGS, b"\x06"),
                (AdvertisingData.SERVICE_DATA_16_BIT_UUID, b"\x26\x18\x01\x01\x00"),
                (AdvertisingData.SERVICE_DATA_16_BIT_UUID, b"\x0a\x18\x42"),
                (AdvertisingData.MANUFACTURER_SPECIFIC_DATA, b"\x59\x00\x01\x02"),
                (AdvertisingData.SHORTENED_LOCAL_NAME, b"Tread"),
            ]
        )
        rsp = AdvertisingData(
            [
                (AdvertisingData.MANUFACTURER_SPECIFIC_DATA, b"\x4c\x00\x09"),
                (AdvertisingData.COMPLETE_LOCAL_NAME, b"Treadmill Deluxe"),
            ]
        )
        await advertiser.start_advertising(
            advertising_data=bytes(adv),
            scan_response_data=bytes(rsp),
            auto_restart=True,
            advertising_interval_min=100,
            advertising_interval_max=100,
        )
        async with BumbleAdapter.on_air(air, address="C0:7C:00:00:00:02") as adapter:
            seen: dict[str, Any] = {}

            def heard(device: BLEDevice, data: Any) -> None:
                seen[device.address] = data

            async with BleakScanner(heard, backend=adapter.scanner_backend):
                await asyncio.sleep(1)
            data = seen["F0:0D:00:00:0A:03"]
            assert data.service_data == {
                uuids.FTMS_SERVICE_UUID: b"\x01\x01\x00",
                uuids.DEVICE_INFORMATION_SERVICE_UUID: b"\x42",
            }
            assert data.manufacturer_data == {0x0059: b"\x01\x02", 0x004C: b"\x09"}
            assert data.local_name == "Treadmill Deluxe"

    on_virtual_time(scenario)
