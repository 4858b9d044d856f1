"""A simulated treadmill (or heart-rate strap) as a real BLE peripheral, on the bumble stack.

    async with SimTreadmill() as treadmill, BumblePeripheral(treadmill, device):
        ...  # a central reaches it over HCI: an in-process bumble link, or a real controller

    async with SimStrap(effort=treadmill) as strap, BumblePeripheral(strap, strap_device):
        ...  # the Heart Rate Service (0x180D) over the same stack, on a device of its own

    async with serving(treadmill, "usb:0"):  # a USB dongle: phone apps see an FTMS treadmill
        ...

Where ``sim.bleak_backend`` short-cuts the radio, this serves the same treadmill through a real
ATT/GATT server (bumble's), so advertising PDUs, attribute handles, the MTU exchange, CCCD
writes, write responses and indication confirmations are the stack's own. ``device`` is a
``bumble.device.Device`` (not powered on yet). Where bumble's server is laxer than a real
treadmill's, this one is strict:

* a Write Command (write without response) to a characteristic without that property -- the
  control point -- is dropped, as a real server does (a command has no response to refuse it
  with); ``refused_commands`` counts them;
* a CCCD write must match the characteristic's properties: indications on a notify-only
  characteristic (or the reverse, or reserved bits) are refused with ATT error 0xFD (CCCD
  improperly configured), never turned into the other kind;
* a control-point write while the previous procedure's indication is not yet confirmed is
  refused with ATT error 0xFE, Procedure Already In Progress (FTMS 1.0 section 4.16.1, CSS Part B
  section 1.2), and the request is discarded;
* the advertisement fits the 31 bytes of a legacy PDU: flags, the services (0x1826 with FTMS
  service data; a strap's 0x180D) and the name (shortened when the whole name does not fit);
  the scan response carries the complete name; the GAP Device Name is the device's name;
* it advertises every 100 ms by default (``advertising_interval_ms``) and again after a central
  leaves; leaving the block disconnects every central and powers the device off;
* Treadmill Data notifications follow the negotiated MTU (``SimLink.att_mtu``): a record is
  split with More Data only when it does not fit in MTU - 3 bytes.

FTMS characteristics use their 16-bit UUIDs on the wire, as the SIG assigns them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from types import TracebackType
from typing import Any, Final

from bumble import hci
from bumble.att import ATT_Error, AttributeValueV2
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    GATT_DEVICE_NAME_CHARACTERISTIC,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)

from sim.errors import AttError, SimConfigError
from sim.gatt import GATT_TABLE, CharacteristicSpec, ServiceSpec
from sim.link import CCCD_INDICATE, CCCD_NOTIFY, SimLink
from sim.strap import SimStrap
from sim.treadmill import SimTreadmill
from treadcoach.ftms import uuids

__all__ = [
    "ADVERTISING_INTERVAL_MS",
    "ATT_CCCD_IMPROPERLY_CONFIGURED",
    "ATT_PROCEDURE_ALREADY_IN_PROGRESS",
    "LEGACY_ADVERTISING_MAX",
    "BumblePeripheral",
    "advertising_data",
    "scan_response_data",
    "serving",
]

log = logging.getLogger(__name__)

ADVERTISING_INTERVAL_MS: Final = 100.0
LEGACY_ADVERTISING_MAX: Final = 31  # bytes of AD structures in a legacy advertising PDU
ATT_CCCD_IMPROPERLY_CONFIGURED: Final = 0xFD  # CSS Part B 1.2
ATT_PROCEDURE_ALREADY_IN_PROGRESS: Final = 0xFE  # CSS Part B 1.2; FTMS 4.16.1
ATT_UNLIKELY_ERROR: Final = 0x0E

_PROPERTIES = {
    "read": Characteristic.Properties.READ,
    "write": Characteristic.Properties.WRITE,
    "write-without-response": Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "notify": Characteristic.Properties.NOTIFY,
    "indicate": Characteristic.Properties.INDICATE,
}


def _uuid(uuid: str) -> UUID:
    """A SIG-assigned UUID in its 16-bit form (what goes on the wire), others as given."""
    if uuid.lower().endswith(uuids.uuid16(0)[8:]) and uuid.startswith("0000"):
        return UUID.from_16_bits(int(uuid[4:8], 16))
    return UUID(uuid)


def _ad(structures: list[tuple[int, bytes]]) -> bytes:
    return bytes(AdvertisingData(structures))


def _uuid16_bytes(uuid: str) -> bytes:
    return int(uuid[4:8], 16).to_bytes(2, "little")


def advertising_data(device: SimTreadmill | SimStrap) -> bytes:
    """The advertisement, within 31 bytes: flags, the 16-bit services (0x1826 / 0x180D), their
    service data (FTMS), the (short) name."""
    adv = device.advertisement()
    fixed: list[tuple[int, bytes]] = [
        (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
        (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            b"".join(_uuid16_bytes(u) for u in adv.service_uuids),
        ),
        *(
            (AdvertisingData.SERVICE_DATA_16_BIT_UUID, _uuid16_bytes(uuid) + data)
            for uuid, data in adv.service_data.items()
        ),
    ]
    room = LEGACY_ADVERTISING_MAX - len(_ad(fixed)) - 2  # 2: length and type of the name
    name = adv.local_name.encode()
    if len(name) <= room:
        return _ad([*fixed, (AdvertisingData.COMPLETE_LOCAL_NAME, name)])
    short = _truncate_utf8(name, room)
    return _ad([*fixed, (AdvertisingData.SHORTENED_LOCAL_NAME, short)])


def scan_response_data(treadmill: SimTreadmill | SimStrap) -> bytes:
    """The scan response: the complete name (as much of it as 31 bytes hold)."""
    name = _truncate_utf8(treadmill.name.encode(), LEGACY_ADVERTISING_MAX - 2)
    return _ad([(AdvertisingData.COMPLETE_LOCAL_NAME, name)])


def _truncate_utf8(data: bytes, size: int) -> bytes:
    return data[:size].decode("utf-8", "ignore").encode()


class BumblePeripheral:
    """Serves ``treadmill`` (a ``SimTreadmill``, or a ``SimStrap``: the same GATT face) from
    ``device``'s GATT server and advertises it, while inside."""

    def __init__(
        self,
        treadmill: SimTreadmill | SimStrap,
        device: Device,
        *,
        advertising_interval_ms: float = ADVERTISING_INTERVAL_MS,
    ) -> None:
        self.treadmill = treadmill
        self.device = device
        self.advertising_interval_ms = advertising_interval_ms
        self._characteristics: dict[str, Characteristic[bytes]] = {}
        self._links: dict[Connection, SimLink] = {}
        # connections whose control-point procedure awaits its indication's confirmation
        self._pending: set[Connection] = set()
        self._stack = contextlib.AsyncExitStack()
        self._tasks: asyncio.TaskGroup | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._closing = False
        #: Write Commands dropped because the characteristic has no write-without-response
        self.refused_commands = 0

    async def __aenter__(self) -> BumblePeripheral:
        self._tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
        table = self.treadmill.gatt_table if isinstance(self.treadmill, SimStrap) else GATT_TABLE
        self.device.add_services([self._service(spec) for spec in table])
        self._name_gap_service()
        self._guard_write_commands()
        self._watch_confirmations()
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self.device.power_on()
        await self._advertise()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        try:
            with contextlib.suppress(Exception):
                await self.device.stop_advertising()
            for connection in list(self._links) + [
                c for c in self.device.connections.values() if c not in self._links
            ]:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2.0):
                        await connection.disconnect()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self.device.power_off()
        finally:
            self._tasks = None
            # a notification or indication still waiting for a link that is gone
            for task in self._running:
                task.cancel()
            await self._stack.aclose()

    async def _advertise(self) -> None:
        await self.device.start_advertising(
            advertising_data=advertising_data(self.treadmill),
            scan_response_data=scan_response_data(self.treadmill),
            advertising_interval_min=self.advertising_interval_ms,
            advertising_interval_max=self.advertising_interval_ms,
            auto_restart=True,
        )

    # --- the GATT table ------------------------------------------------------------------------

    def _service(self, spec: ServiceSpec) -> Service:
        return Service(_uuid(spec.uuid), [self._characteristic(c) for c in spec.characteristics])

    def _characteristic(self, spec: CharacteristicSpec) -> Characteristic[bytes]:
        props = Characteristic.Properties(0)
        for name in spec.properties:
            props |= _PROPERTIES[name]
        permissions = Characteristic.READABLE | Characteristic.WRITEABLE
        value = CharacteristicValue(
            read=lambda connection: self._read(spec.uuid),
            write=lambda connection, data: self._write(connection, spec.uuid, data),
        )
        characteristic: Characteristic[bytes] = Characteristic(
            _uuid(spec.uuid), props, permissions, value
        )
        if spec.notifiable:  # our own CCCD (bumble would add a lax one): checked, then bumble's
            characteristic.descriptors = [self._cccd(characteristic, spec)]
            characteristic.on(
                Characteristic.EVENT_SUBSCRIPTION,
                lambda bearer, notify, indicate: self._on_subscription(
                    bearer, spec.uuid, notify, indicate
                ),
            )
        self._characteristics[spec.uuid] = characteristic
        return characteristic

    def _cccd(self, characteristic: Characteristic[bytes], spec: CharacteristicSpec) -> Descriptor:
        allowed = (CCCD_NOTIFY if "notify" in spec.properties else 0) | (
            CCCD_INDICATE if "indicate" in spec.properties else 0
        )
        server = self.device.gatt_server

        def write(bearer: Any, value: bytes) -> None:
            bits = int.from_bytes(bytes(value[:2]), "little") if len(value) == 2 else -1
            if bits < 0 or bits & ~allowed:
                raise ATT_Error(
                    ATT_CCCD_IMPROPERLY_CONFIGURED,
                    message=f"CCCD value {bytes(value).hex()} not allowed on {spec.uuid}",
                )
            server.write_cccd(bearer, characteristic, bytes(value))

        return Descriptor(
            GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
            Descriptor.READABLE | Descriptor.WRITEABLE,
            AttributeValueV2(lambda bearer: server.read_cccd(bearer, characteristic), write=write),
        )

    def _name_gap_service(self) -> None:
        for attribute in self.device.gatt_server.attributes:
            if getattr(attribute, "type", None) == GATT_DEVICE_NAME_CHARACTERISTIC:
                attribute.value = self.treadmill.name.encode()[:248]

    def _guard_write_commands(self) -> None:
        """Drop Write Commands to characteristics without write-without-response."""
        server = self.device.gatt_server
        original = server.on_att_write_command

        def on_att_write_command(bearer: Any, request: Any) -> None:
            attribute = server.get_attribute(request.attribute_handle)
            if isinstance(attribute, Characteristic) and not (
                attribute.properties & Characteristic.Properties.WRITE_WITHOUT_RESPONSE
            ):
                self.refused_commands += 1
                log.warning(
                    "%s: dropped a write without response to %s (not permitted)",
                    self.treadmill.name,
                    attribute.uuid,
                )
                return
            original(bearer, request)

        # bumble's server dispatches ATT PDUs by looking the handler up on the instance
        server.on_att_write_command = on_att_write_command

    def _watch_confirmations(self) -> None:
        """A procedure ends when its indication is confirmed: at that PDU, not a loop turn
        later when the indicating task resumes (the next write may be right behind it)."""
        server = self.device.gatt_server
        original = server.on_att_handle_value_confirmation

        def on_att_handle_value_confirmation(bearer: Any, confirmation: Any) -> None:
            # the control point is the only characteristic here that indicates
            self._pending.discard(getattr(bearer, "connection", bearer))
            original(bearer, confirmation)

        server.on_att_handle_value_confirmation = on_att_handle_value_confirmation  # type: ignore[method-assign]

    def _read(self, uuid: str) -> bytes:
        try:
            return self.treadmill.read(uuid)
        except AttError as exc:
            raise ATT_Error(exc.code, message=exc.reason) from exc

    def _write(self, connection: Connection, uuid: str, data: bytes) -> None:
        link = self._links.get(connection)
        if link is None:
            raise ATT_Error(ATT_UNLIKELY_ERROR, message="no simulated link for this connection")
        if uuid == uuids.CONTROL_POINT_UUID and connection in self._pending:
            raise ATT_Error(
                ATT_PROCEDURE_ALREADY_IN_PROGRESS,
                message="the previous control point procedure is not complete",
            )
        try:
            self.treadmill.write(link, uuid, bytes(data))
        except AttError as exc:
            raise ATT_Error(exc.code, message=exc.reason) from exc
        if uuid == uuids.CONTROL_POINT_UUID:
            self._pending.add(connection)  # until the indication it answers is confirmed

    # --- connections ---------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if self._closing:
            self._spawn(connection.disconnect())
            return
        try:
            link = self.treadmill.connect(on_lost=lambda: self._drop(connection))
        except Exception:
            log.warning("refusing a second central on %s", self.treadmill.name)
            self._spawn(connection.disconnect())
            return
        self._links[connection] = link
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection)
        )
        connection.on(
            Connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
            lambda: setattr(link, "att_mtu", connection.att_mtu),
        )

    def _on_disconnection(self, connection: Connection) -> None:
        self._pending.discard(connection)
        link = self._links.pop(connection, None)
        if link is not None:
            self.treadmill.disconnect(link)

    def _drop(self, connection: Connection) -> None:
        """The treadmill dropped the link (a ``disconnect`` fault or power-off)."""
        self._links.pop(connection, None)
        self._pending.discard(connection)
        self._spawn(connection.disconnect())

    def _on_subscription(self, bearer: Any, uuid: str, notify: bool, indicate: bool) -> None:
        connection = getattr(bearer, "connection", bearer)
        link = self._links.get(connection)
        if link is None:
            return
        if not (notify or indicate):
            link.unsubscribe(uuid)
            return
        characteristic = self._characteristics[uuid]

        def send(data: bytearray) -> None:
            if not indicate:
                self._spawn(self.device.notify_subscriber(connection, characteristic, bytes(data)))
            elif uuid == uuids.CONTROL_POINT_UUID:
                self._spawn(self._indicate_control_point(connection, characteristic, bytes(data)))
            else:
                self._spawn(
                    self.device.indicate_subscriber(connection, characteristic, bytes(data))
                )

        link.subscribe(
            uuid, send, (CCCD_INDICATE if indicate else 0) | (CCCD_NOTIFY if notify else 0)
        )

    async def _indicate_control_point(
        self, connection: Connection, characteristic: Characteristic[bytes], data: bytes
    ) -> None:
        try:
            await self.device.indicate_subscriber(connection, characteristic, data)
        finally:  # confirmed (or the link is gone): the next procedure may start
            self._pending.discard(connection)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self._tasks is None:
            coro.close()
            return

        async def quietly() -> None:
            # the connection may drop under a notification: that is the central's problem
            with contextlib.suppress(Exception):
                await coro

        task = self._tasks.create_task(quietly())
        self._running.add(task)
        task.add_done_callback(self._running.discard)


@contextlib.asynccontextmanager
async def serving(
    treadmill: SimTreadmill | SimStrap,
    transport_spec: str,
    *,
    advertising_interval_ms: float = ADVERTISING_INTERVAL_MS,
) -> AsyncIterator[BumblePeripheral]:
    """Serve ``treadmill`` (running, inside its ``async with``) on a real controller --
    ``usb:0``, ``serial:/dev/ttyACM0``, ``tcp-client:HOST:PORT``... -- while inside."""
    from bumble.transport import open_transport

    from treadcoach.clock import ScaledEventLoop, VirtualEventLoop

    if isinstance(asyncio.get_running_loop(), ScaledEventLoop | VirtualEventLoop):
        raise SimConfigError(
            "--ble", "a real Bluetooth treadmill runs on real time: drop --speedup"
        )
    try:
        transport = await open_transport(transport_spec)
    except Exception as error:  # bumble raises many kinds (USB, serial, OS, value)
        raise SimConfigError(
            "--ble",
            f"cannot open the Bluetooth controller {transport_spec!r}: {error} "
            "(see docs/bluetooth.md: dongle permissions, kernel driver, firmware)",
        ) from error
    try:
        address = hci.Address(treadmill.address)  # a static random address (F0:0D:...)
        device = Device.with_hci(treadmill.name, address, transport.source, transport.sink)
        async with BumblePeripheral(
            treadmill, device, advertising_interval_ms=advertising_interval_ms
        ) as peripheral:
            yield peripheral
    finally:
        await transport.close()
