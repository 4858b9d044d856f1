"""bleak custom backends that reach the simulated treadmills in this process.

    BleakScanner(backend=SimBleakScanner)                 # hears every running SimTreadmill
    BleakClient(address_or_device, backend=SimBleakClient)

Unmodified bleak code -- ``find_device_by_filter``, ``start_notify``, ``write_gatt_char``,
bleak-retry-connector's ``establish_connection`` -- runs against them, so an FTMS app is tested
on the same code path that drives a real treadmill. They behave like bleak on BlueZ where it
matters to a client:

* the scanner "hears" each advertising treadmill every 0.1 s (loop time): local name, service
  0x1826 and its FTMS service data ``01 01 00`` (available, treadmill);
* ``connect`` on an address nobody advertises raises ``BleakDeviceNotFoundError``; a treadmill
  takes one central at a time (a second gets ``BleakError``);
* notifications reach the callback bleak's ``BleakClient.start_notify`` hands the backend (it
  takes the ``bytearray`` only; bleak adds the characteristic), soon after the event, never
  inside the write that caused it;
* a write to the control point before its indications are enabled raises
  ``BleakGATTProtocolError`` 0xFD (CCCD improperly configured), as FTMS requires; writing or
  reading a characteristic without that property raises 0x03 / 0x02; a write without response to
  the control point (which has no such property) raises ``BleakError``, as BlueZ refuses it;
* the disconnected callback runs on every disconnect, ours or the treadmill's, and ``services``
  is reset, as on BlueZ; after a disconnect the same client (or a new one) can connect again;
* the ATT MTU is ``att_mtu`` (23, BlueZ's before an exchange; a subclass may set 247): the
  treadmill splits Treadmill Data to fit MTU - 3 bytes, longer notifications are truncated to
  MTU - 3 as a real GATT server truncates them, and a write without response longer than
  MTU - 3 is refused;
* unknown keyword arguments (``bluez=``, ``winrt=``, ``_is_retry_client=``,
  ``dangerous_use_bleak_cache=``...) are accepted and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import (
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from sim import registry
from sim.errors import AttError, SimError
from sim.gatt import CCCD_UUID, CharacteristicSpec
from sim.link import CCCD_INDICATE, CCCD_NOTIFY, SimLink
from sim.quirks import gatt_table
from sim.strap import SimStrap
from sim.treadmill import SimTreadmill

__all__ = [
    "ADVERTISING_INTERVAL_S",
    "SimBleakClient",
    "SimBleakScanner",
    "SimDeviceDetails",
    "use_sim_backends",
]

log = logging.getLogger(__name__)

ADVERTISING_INTERVAL_S = 0.1
ATT_MTU = 23  # the default MTU, as BlueZ reports it


@dataclass(frozen=True, slots=True)
class SimDeviceDetails:
    """``BLEDevice.details`` of a simulated treadmill (deliberately not BlueZ's dict form, so
    bleak-retry-connector does not look for it on D-Bus)."""

    address: str
    simulated: bool = True


class SimBleakScanner(BaseBleakScanner):
    """Scanner backend: reports the running simulated treadmills as advertisements."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="sim scanner")

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            await asyncio.wait([listener])  # without swallowing a cancellation of our own

    async def _listen(self) -> None:
        while True:
            for treadmill in registry.advertising():
                self._hear(treadmill)
            await asyncio.sleep(ADVERTISING_INTERVAL_S)

    def _hear(self, treadmill: SimTreadmill | SimStrap) -> None:
        adv = treadmill.advertisement()
        service_uuids = list(adv.service_uuids)
        if not self.is_allowed_uuid(service_uuids):
            return
        data = AdvertisementData(
            local_name=adv.local_name,
            manufacturer_data={},
            service_data=dict(adv.service_data),
            service_uuids=service_uuids,
            tx_power=adv.tx_power,
            rssi=adv.rssi,
            platform_data=(treadmill.address,),
        )
        device = self.create_or_update_device(
            treadmill.address,
            treadmill.address,
            adv.local_name,
            SimDeviceDetails(treadmill.address),
            data,
        )
        self.call_detection_callbacks(device, data)


class SimBleakClient(BaseBleakClient):
    """Client backend: a GATT connection to a simulated treadmill in this process."""

    #: the ATT MTU of every connection this backend makes (see the module docstring)
    att_mtu: ClassVar[int] = ATT_MTU

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
        self._device_name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._wanted_services = None if services is None else {s.lower() for s in services}
        self._treadmill: SimTreadmill | SimStrap | None = None
        self._link: SimLink | None = None

    # --- connection ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        if self._treadmill is not None:
            return self._treadmill.name
        return self._device_name or self.address

    @property
    def mtu_size(self) -> int:
        return self.att_mtu

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.connected

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self.is_connected:
            return
        treadmill = registry.lookup(self.address)
        if treadmill is None:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        try:
            link = treadmill.connect(on_lost=self._on_link_lost)
        except SimError as exc:
            raise BleakError(str(exc)) from exc
        link.att_mtu = self.att_mtu
        self._treadmill, self._link = treadmill, link
        self.services = self._discover_services()
        log.debug("connected to simulated treadmill %s (%s)", treadmill.name, self.address)

    async def disconnect(self) -> None:
        link, treadmill = self._link, self._treadmill
        if link is None or treadmill is None or not link.connected:
            return
        treadmill.disconnect(link)
        self._on_link_lost()

    def _on_link_lost(self) -> None:
        if self._link is None:
            return
        self._link = None
        self.services = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        log.debug("pairing with a simulated treadmill is not needed; ignored")

    async def unpair(self) -> None:
        log.debug("unpairing a simulated treadmill is not needed; ignored")

    def _discover_services(self) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        handle = 0
        device = self._treadmill
        if isinstance(device, SimStrap):
            table = device.gatt_table
        else:
            table = gatt_table(device.profile if device is not None else None)
        for spec in table:
            if self._wanted_services is not None and spec.uuid not in self._wanted_services:
                handle += 1 + 3 * len(spec.characteristics)
                continue
            handle += 1
            service = BleakGATTService(spec, handle, spec.uuid)
            collection.add_service(service)
            for char_spec in spec.characteristics:
                handle += 2  # declaration, then value
                char = BleakGATTCharacteristic(
                    char_spec,
                    handle,
                    char_spec.uuid,
                    list(char_spec.properties),  # type: ignore[arg-type]
                    lambda: self.att_mtu - 3,
                    service,
                )
                collection.add_characteristic(char)  # also adds it to its service
                if char_spec.notifiable:
                    handle += 1
                    collection.add_descriptor(BleakGATTDescriptor(None, handle, CCCD_UUID, char))
        return collection

    # --- I/O -----------------------------------------------------------------------------------

    def _connected_link(self) -> tuple[SimTreadmill | SimStrap, SimLink]:
        if self._link is None or self._treadmill is None or not self._link.connected:
            raise BleakError("Not connected")
        return self._treadmill, self._link

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        treadmill, _ = self._connected_link()
        if "read" not in characteristic.properties:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
        return bytearray(_att(treadmill.read, characteristic.uuid))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        _, link = self._connected_link()
        if descriptor.uuid != CCCD_UUID:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
        return bytearray(link.cccd.get(descriptor.characteristic_uuid, 0).to_bytes(2, "little"))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        treadmill, link = self._connected_link()
        props = characteristic.properties
        if not response and "write-without-response" not in props:
            raise BleakError(
                f"characteristic {characteristic.uuid} does not support write without response"
            )
        if not response and len(data) > self.att_mtu - 3:
            raise BleakError(
                f"a write without response carries at most {self.att_mtu - 3} bytes at MTU "
                f"{self.att_mtu}, not {len(data)}"
            )
        if "write" not in props and "write-without-response" not in props:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        _att(treadmill.write, link, characteristic.uuid, bytes(data))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        # bleak's BleakClient refuses CCCD writes before they get here; a backend-level caller
        # (or a test) may still configure notifications this way, with nowhere to deliver them.
        _, link = self._connected_link()
        if descriptor.uuid != CCCD_UUID:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        value = int.from_bytes(bytes(data)[:2], "little")
        if value:
            link.subscribe(descriptor.characteristic_uuid, None, value)
        else:
            link.unsubscribe(descriptor.characteristic_uuid)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        _, link = self._connected_link()
        spec = characteristic.obj
        if not isinstance(spec, CharacteristicSpec) or not spec.notifiable:
            raise BleakError(
                f"characteristic {characteristic.uuid} does not support notifications or indications"
            )
        # like every backend: notifications when the characteristic has both
        cccd = CCCD_NOTIFY if "notify" in spec.properties else CCCD_INDICATE
        limit = self.att_mtu - 3

        def deliver(data: bytearray) -> None:
            # a GATT server sends at most MTU - 3 bytes of a value (the rest is cut off)
            callback(data[:limit])

        link.subscribe(characteristic.uuid, deliver, cccd)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        _, link = self._connected_link()
        link.unsubscribe(characteristic.uuid)


def _att(operation: Callable[..., Any], *args: Any) -> Any:
    """Run a treadmill GATT operation, turning its ATT refusal into bleak's error for one."""
    try:
        return operation(*args)
    except AttError as exc:
        raise BleakGATTProtocolError(exc.code) from exc


@contextlib.contextmanager
def use_sim_backends() -> Iterator[None]:
    """Make the simulator bleak's default backend in this process, while inside.

    For apps that build ``BleakClient(...)``/``BleakScanner(...)`` without a ``backend=`` seam
    (pyftms passes its options to bleak in a way that cannot carry one): every client and scanner
    created inside reaches the simulated treadmills instead of the radio. Test-only: it swaps
    bleak's platform lookup, process-wide, and restores it on exit.
    """
    import bleak

    def client_backend() -> tuple[type[BaseBleakClient], str]:
        return SimBleakClient, SimBleakClient.__name__

    def scanner_backend() -> tuple[type[BaseBleakScanner], str]:
        return SimBleakScanner, SimBleakScanner.__name__

    # BleakClient/BleakScanner look these up in bleak's own namespace when no backend is given
    swaps = {
        "get_platform_client_backend_type": client_backend,
        "get_platform_scanner_backend_type": scanner_backend,
    }
    saved = {name: getattr(bleak, name) for name in swaps}
    for name, replacement in swaps.items():
        setattr(bleak, name, replacement)
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(bleak, name, original)
