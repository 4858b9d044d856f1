"""The simulator through bleak's backend seam, driven with plain bleak calls only."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak_retry_connector import establish_connection
from sim_helpers import (
    CP,
    REQUEST_CONTROL,
    START,
    STOP,
    TD,
    TS,
    connect,
    set_speed,
    virtual,
)

from sim import AddressInUse, SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner, use_sim_backends
from treadcoach import clock
from treadcoach.ftms import decode_speed_range, decode_training_status, uuids
from treadcoach.ftms.enums import MachineStatusOp, TrainingStatusCode

FTMS = uuids.FTMS_SERVICE_UUID


def test_scanner_finds_the_treadmill_by_ftms_service_with_its_service_data() -> None:
    async def scenario() -> None:
        async with SimTreadmill(name="Garage Treadmill", address="F0:0D:00:00:10:01"):
            async with BleakScanner(service_uuids=[FTMS], backend=SimBleakScanner) as scanner:
                device, adv = await anext(scanner.advertisement_data())
            assert device.address == "F0:0D:00:00:10:01"
            assert device.name == adv.local_name == "Garage Treadmill"
            assert FTMS in adv.service_uuids
            assert adv.service_data[FTMS] == bytes.fromhex("01 01 00")

    virtual(scenario)


def test_find_device_by_filter_on_service_uuid_returns_a_connectable_device() -> None:
    async def scenario() -> None:
        async with SimTreadmill(name="T") as treadmill:
            device = await BleakScanner.find_device_by_filter(
                lambda d, adv: FTMS in adv.service_uuids, timeout=5, backend=SimBleakScanner
            )
            assert device is not None
            assert device.address == treadmill.address
            async with BleakClient(device, backend=SimBleakClient) as client:
                assert client.is_connected
                assert client.name == "T"

    virtual(scenario)


def test_scanner_filtering_on_another_service_hears_nothing() -> None:
    async def scenario() -> None:
        async with SimTreadmill():
            found = await BleakScanner.find_device_by_filter(
                lambda d, adv: True,
                timeout=2,
                service_uuids=[uuids.uuid16(0x180D)],
                backend=SimBleakScanner,
            )
            assert found is None

    virtual(scenario)


def test_treadmill_stops_advertising_when_its_block_ends() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            address = treadmill.address
        assert (
            await BleakScanner.find_device_by_address(address, 1, backend=SimBleakScanner) is None
        )
        with pytest.raises(BleakDeviceNotFoundError):
            await BleakClient(address, backend=SimBleakClient).connect()

    virtual(scenario)


def test_gatt_table_has_ftms_and_device_information_with_cccds() -> None:
    async def scenario() -> None:
        async with SimTreadmill(), BleakClient(_only_address(), backend=SimBleakClient) as client:
            ftms = client.services.get_service(FTMS)
            assert ftms is not None
            props = {c.uuid: set(c.properties) for c in ftms.characteristics}
            assert props[uuids.FEATURE_UUID] == {"read"}
            assert props[TD] == {"notify"}
            assert props[TS] == {"read", "notify"}
            assert props[uuids.SPEED_RANGE_UUID] == {"read"}
            assert props[uuids.INCLINATION_RANGE_UUID] == {"read"}
            assert props[CP] == {"write", "indicate"}
            assert props[uuids.MACHINE_STATUS_UUID] == {"notify"}
            for char in ftms.characteristics:
                cccds = [d for d in char.descriptors if d.uuid == uuids.uuid16(0x2902)]
                assert len(cccds) == (1 if props[char.uuid] & {"notify", "indicate"} else 0)
            manufacturer = await client.read_gatt_char(uuids.MANUFACTURER_NAME_UUID)
            assert manufacturer.decode() == "treadcoach"
            speed_range = decode_speed_range(await client.read_gatt_char(uuids.SPEED_RANGE_UUID))
            assert (speed_range.min_kmh, speed_range.max_kmh) == (0.8, 16.0)

    virtual(scenario)


def test_services_filter_limits_discovery_like_bleak_on_bluez() -> None:
    async def scenario() -> None:
        async with (
            SimTreadmill(),
            BleakClient(_only_address(), services=[FTMS], backend=SimBleakClient) as client,
        ):
            assert [s.uuid for s in client.services] == [FTMS]

    virtual(scenario)


def test_control_point_write_before_indications_are_enabled_is_an_att_error() -> None:
    async def scenario() -> None:
        async with SimTreadmill(), BleakClient(_only_address(), backend=SimBleakClient) as client:
            with pytest.raises(BleakGATTProtocolError) as caught:
                await client.write_gatt_char(CP, REQUEST_CONTROL, response=True)
            assert caught.value.code == 0xFD

    virtual(scenario)


def test_commands_are_refused_until_request_control() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            assert await central.command(START) == b"\x80\x07\x05"
            assert await central.command(set_speed(3)) == b"\x80\x02\x05"
            assert await central.command(REQUEST_CONTROL) == b"\x80\x00\x01"
            assert await central.command(START) == b"\x80\x07\x01"
            await asyncio.sleep(3)
            assert treadmill.belt_speed_kmh == pytest.approx(0.8)

    virtual(scenario)


def test_belt_ramps_to_3_mph_at_the_configured_rate_then_stops() -> None:
    async def scenario() -> None:
        async with SimTreadmill(notify_hz=10) as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await asyncio.sleep(1.0)  # belt at its start speed, 0.8 km/h
            t0 = clock.now()
            assert await central.command(set_speed(4.83)) == b"\x80\x02\x01"
            await asyncio.sleep(8)
            ramp = [(t - t0, r.speed_kmh) for t, r in central.telemetry(since=t0)]
            # 0.8 km/h per second from 0.8: 4.83 is reached after about 5.04 s
            for t, speed in ramp:
                assert speed == pytest.approx(min(4.83, 0.8 + 0.8 * t), abs=0.011)
            assert ramp[-1][1] == 4.83
            assert treadmill.belt_speed_kmh == pytest.approx(4.83)

            assert await central.command(STOP) == b"\x80\x08\x01"
            await asyncio.sleep(7)
            assert central.speeds()[-1] == 0.0
            ops = [s.op for s in central.statuses()]
            assert ops == [
                MachineStatusOp.STARTED_OR_RESUMED_BY_USER,
                MachineStatusOp.TARGET_SPEED_CHANGED,
                MachineStatusOp.STOPPED_OR_PAUSED_BY_USER,
            ]
            assert central.statuses()[1].target_speed_kmh == 4.83

    virtual(scenario)


def test_notifications_arrive_as_bleak_delivers_them_at_the_configured_rate() -> None:
    async def scenario() -> None:
        async with SimTreadmill(notify_hz=1.0) as treadmill:
            central = await connect(treadmill.address)
            await asyncio.sleep(10.5)
            stamps = [t for t, _ in central.received[TD]]
            assert len(stamps) == 10
            assert all(b - a == pytest.approx(1.0) for a, b in itertools.pairwise(stamps))

    virtual(scenario)


def test_treadmill_data_with_a_runner_is_split_over_more_data_packets() -> None:
    async def scenario() -> None:
        async with SimTreadmill(runner=True) as treadmill:
            central = await connect(treadmill.address)
            await central.take_control_and_start()
            await central.command(set_speed(6.0))
            await asyncio.sleep(120)
            packets = [p for _, p in central.received[TD]]
            assert all(len(p) <= 20 for p in packets)
            assert any(p[0] & 0x01 for p in packets)  # More Data fragments
            _, last = central.telemetry()[-1]
            assert last.heart_rate_bpm is not None
            assert last.heart_rate_bpm > 100
            # the last record may be one period (1.7 m at 6 km/h) old, and is whole metres
            assert last.distance_m == pytest.approx(treadmill.distance_m, abs=2.7)

    virtual(scenario)


def test_training_status_follows_the_belt() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            idle = decode_training_status(await central.client.read_gatt_char(TS))
            assert idle.status == TrainingStatusCode.IDLE
            await central.take_control_and_start()
            await asyncio.sleep(0)
            _, pushed = central.received[TS][-1]
            assert decode_training_status(pushed).status == TrainingStatusCode.MANUAL_MODE

    virtual(scenario)


def test_client_disconnect_fires_the_callback_and_reconnect_works() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            await central.client.disconnect()
            assert central.disconnects
            assert not central.client.is_connected
            assert not treadmill.connected
            with pytest.raises(BleakError):
                await central.client.read_gatt_char(TS)
            again = await connect(treadmill.address)
            assert await again.command(REQUEST_CONTROL) == b"\x80\x00\x01"

    virtual(scenario)


def test_treadmill_takes_one_central_at_a_time() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            await connect(treadmill.address)
            with pytest.raises(BleakError, match="already connected"):
                await connect(treadmill.address)

    virtual(scenario)


def test_several_treadmills_run_at_once_with_distinct_names_and_addresses() -> None:
    async def scenario() -> None:
        async with (
            SimTreadmill(name="A") as a,
            SimTreadmill(name="B") as b,
            SimTreadmill(name="C", profile="min_speed_1") as c,
        ):
            found = await BleakScanner.discover(
                timeout=1, return_adv=True, service_uuids=[FTMS], backend=SimBleakScanner
            )
            assert {adv.local_name for _, adv in found.values()} == {"A", "B", "C"}
            assert len({a.address, b.address, c.address}) == 3
            centrals = [await connect(t.address) for t in (a, b, c)]
            for central, kmh in zip(centrals, (2.0, 3.0, 4.0), strict=True):
                await central.take_control_and_start()
                await central.command(set_speed(kmh))
            await asyncio.sleep(10)
            assert [a.belt_speed_kmh, b.belt_speed_kmh, c.belt_speed_kmh] == [2.0, 3.0, 4.0]

    virtual(scenario)


def test_bleak_retry_connector_establishes_a_connection_through_the_backend() -> None:
    async def scenario() -> None:
        async with SimTreadmill(name="MyRun") as treadmill:
            device = await BleakScanner.find_device_by_address(
                treadmill.address, 5, backend=SimBleakScanner
            )
            assert device is not None
            lost: list[BleakClient] = []
            client = await establish_connection(
                BleakClient, device, "MyRun", lost.append, backend=SimBleakClient
            )
            assert client.is_connected
            model = await client.read_gatt_char(uuids.MODEL_NUMBER_UUID)
            assert model.decode() == "SimTread"
            treadmill.inject("disconnect")
            await asyncio.sleep(0.1)
            assert lost == [client]

    virtual(scenario)


def _only_address() -> str:
    from sim import registry

    (treadmill,) = registry.advertising()
    return treadmill.address


def test_use_sim_backends_reaches_the_simulator_from_apps_without_a_backend_seam() -> None:
    import bleak

    lookup = bleak.get_platform_client_backend_type

    async def scenario() -> None:
        async with SimTreadmill(name="Hard-coded app") as treadmill:
            with use_sim_backends():
                # the way pyftms calls bleak: no backend=, options under a literal "kwargs="
                device = await BleakScanner.find_device_by_filter(
                    lambda d, adv: FTMS in adv.service_uuids, 2, kwargs={}
                )
                assert device is not None
                client = await establish_connection(
                    BleakClient, device, "app", services=[FTMS], kwargs={}
                )
                assert client.is_connected
                assert client.backend_id == "SimBleakClient"
                await client.disconnect()
            assert treadmill.name == device.name

    virtual(scenario)
    assert bleak.get_platform_client_backend_type is lookup


def test_cccd_descriptors_read_back_what_start_notify_enabled() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            central = await connect(treadmill.address)
            client = central.client
            cccd = {
                char.uuid: await client.read_gatt_descriptor(char.descriptors[0])
                for char in client.services.characteristics.values()
                if char.descriptors
            }
            assert cccd[TD] == b"\x01\x00"  # notifications
            assert cccd[CP] == b"\x02\x00"  # indications
            await client.stop_notify(TD)
            td = client.services.get_characteristic(TD)
            assert td is not None
            assert await client.read_gatt_descriptor(td.descriptors[0]) == b"\x00\x00"

    virtual(scenario)


def test_async_notification_callbacks_work_as_bleak_wraps_them() -> None:
    async def scenario() -> None:
        async with SimTreadmill() as treadmill:
            got: list[bytearray] = []

            async def on_data(_: object, data: bytearray) -> None:
                got.append(data)

            async with BleakClient(treadmill.address, backend=SimBleakClient) as client:
                await client.start_notify(TD, on_data)
                await asyncio.sleep(3.5)
            assert len(got) == 3

    virtual(scenario)


def test_two_treadmills_cannot_share_an_address() -> None:
    async def scenario() -> None:
        async with SimTreadmill(address="F0:0D:00:00:99:01"):
            with pytest.raises(AddressInUse):
                async with SimTreadmill(address="f0:0d:00:00:99:01"):
                    pass

    virtual(scenario)
