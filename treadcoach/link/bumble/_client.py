"""bleak client backend over a bumble ``Device`` (see ``_adapter.BumbleAdapter``).

Behaves as bleak on BlueZ / CoreBluetooth does where a client can tell:

* ``connect`` finds the address (by scanning when no ``BLEDevice`` was given), connects,
  requests an ATT MTU of 247 (what BlueZ and CoreBluetooth ask for), and discovers services,
  characteristics and descriptors into bleak's objects, with bleak's property names;
  an address nobody answers for raises ``BleakDeviceNotFoundError`` (bounded by ``timeout``,
  also where the controller never completes the connection cancel);
* the disconnected callback runs on every disconnect: ours, the peer's, a lost controller;
* failures come out as bleak's types (``_errors.bleak_errors``): ATT errors as
  ``BleakGATTProtocolError``, timeouts as ``TimeoutError``, a request the dropping link
  cancelled as ``BleakError`` -- never a stray ``CancelledError`` that would look to the caller
  like its own task being cancelled;
* a write without response is refused (``BleakError``) where the characteristic lacks that
  property or the payload exceeds MTU - 3 (an ATT Write Command cannot be split);
* unknown keyword arguments (``bluez=``, ``winrt=``, ``dangerous_use_bleak_cache=``) are
  accepted and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final

from bleak.args import SizedBuffer
from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID
from bumble.device import Connection, Peer
from bumble.gatt_client import CharacteristicProxy

from treadcoach.link.bumble._adapter import BumbleAdapter
from treadcoach.link.bumble._errors import bleak_errors

__all__ = ["REQUESTED_MTU", "BumbleBleakClient"]

log = logging.getLogger(__name__)

#: the ATT MTU BlueZ and CoreBluetooth request on connect (a 251-byte LE data PDU less L2CAP)
REQUESTED_MTU: Final = 247


def _uuid_str(uuid: UUID) -> str:
    return normalize_uuid_str(uuid.to_hex_str("-").lower())


class BumbleBleakClient(BaseBleakClient):
    """A GATT client over the adapter's bumble ``Device``; see the module docstring."""

    adapter: ClassVar[BumbleAdapter]  # set on the subclass ``BumbleAdapter.client_backend``

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        disconnected_callback: Callable[[], None] | None = None,
        services: Iterable[str] | None = None,
        *,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        device = address_or_ble_device if isinstance(address_or_ble_device, BLEDevice) else None
        self._device_name = device.name if device is not None else None
        details = device.details if device is not None else None
        self._bumble_address: hci.Address | None = (
            details if isinstance(details, hci.Address) else None
        )
        self._wanted = None if services is None else [normalize_uuid_str(s) for s in services]
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._gone: asyncio.Event | None = None

    # --- connection ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._device_name or self.address

    @property
    def mtu_size(self) -> int:
        if self._connection is None:
            return 23
        return int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout") or self._timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        address = self._bumble_address or await self.adapter.resolve(self.address, timeout)
        connection = await self.adapter.connect(address, max(0.0, deadline - loop.time()))
        self._attach(connection)
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                await self._set_up(connection, pair)
        except BaseException:
            await self._hang_up()
            raise

    def _attach(self, connection: Connection) -> None:
        self._connection = connection
        self._peer = Peer(connection)
        self._gone = asyncio.Event()
        connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection())
        self.adapter.register(self)

    async def _set_up(self, connection: Connection, pair: bool) -> None:
        peer = self._peer
        assert peer is not None
        with bleak_errors(f"setting up {self.address}"):
            if pair:
                await connection.pair()
            try:
                await peer.request_mtu(REQUESTED_MTU)
            except ATT_Error as error:  # a server that refuses the exchange keeps 23
                log.info("%s: MTU exchange refused (%s); using 23", self.address, error)
            self.services = await self._discover(peer)

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        wanted = [UUID(u) for u in self._wanted] if self._wanted is not None else ()
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services(wanted):
            bleak_service = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in await peer.discover_characteristics(service=service):
                properties = sorted(gatt_char_props_to_strs(int(char.properties)))
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    _uuid_str(char.uuid),
                    properties,
                    self._max_write_without_response,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)  # also adds it to its service
                for descriptor in await peer.discover_descriptors(char):
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            _uuid_str(descriptor.type),
                            bleak_char,
                        )
                    )
        return collection

    def _max_write_without_response(self) -> int:
        return self.mtu_size - 3

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        gone = self._gone
        with bleak_errors(f"disconnecting from {self.address}"):
            with contextlib.suppress(hci.HCI_Error):  # already going / gone
                await connection.disconnect()
            if gone is not None:
                await gone.wait()

    async def _hang_up(self) -> None:
        with contextlib.suppress(BleakError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self.disconnect()
        self.connection_lost("the connect did not complete")

    def _on_disconnection(self) -> None:
        self.connection_lost("disconnected")

    def connection_lost(self, reason: str) -> None:
        """The connection is gone (either side hung up, or the controller went away)."""
        if self._connection is None:
            return
        log.debug("%s: %s", self.address, reason)
        self._connection = None
        self._peer = None
        self.services = None
        self.adapter.unregister(self)
        if self._gone is not None:
            self._gone.set()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._connected()[0]
        with bleak_errors(f"pairing with {self.address}"):
            await connection.pair()

    async def unpair(self) -> None:
        raise BleakError("unpairing is not supported by the bumble backend")

    # --- I/O ---------------------------------------------------------------------------------

    def _connected(self) -> tuple[Connection, Peer]:
        if self._connection is None or self._peer is None:
            raise BleakError("Not connected")
        return self._connection, self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        _, peer = self._connected()
        with bleak_errors(f"reading {characteristic.uuid}"):
            return bytearray(await peer.read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        _, peer = self._connected()
        with bleak_errors(f"reading descriptor {descriptor.uuid}"):
            return bytearray(await peer.read_value(descriptor.obj))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        connection, peer = self._connected()
        payload = bytes(data)
        if not response:
            if "write-without-response" not in characteristic.properties:
                raise BleakError(
                    f"characteristic {characteristic.uuid} does not support write without response"
                )
            limit = int(connection.att_mtu) - 3
            if len(payload) > limit:
                raise BleakError(
                    f"a write without response carries at most {limit} bytes at MTU "
                    f"{connection.att_mtu}, not {len(payload)}"
                )
        with bleak_errors(f"writing {characteristic.uuid}"):
            await peer.write_value(characteristic.obj, payload, with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        _, peer = self._connected()
        with bleak_errors(f"writing descriptor {descriptor.uuid}"):
            await peer.write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        _, peer = self._connected()
        char: CharacteristicProxy[bytes] = characteristic.obj
        if not ({"notify", "indicate"} & set(characteristic.properties)):
            raise BleakError(
                f"characteristic {characteristic.uuid} does not support notifications or indications"
            )

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        # like every bleak backend: notifications when the characteristic offers both
        with bleak_errors(f"subscribing to {characteristic.uuid}"):
            await peer.subscribe(char, deliver, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        _, peer = self._connected()
        with bleak_errors(f"unsubscribing from {characteristic.uuid}"):
            await peer.unsubscribe(characteristic.obj)
