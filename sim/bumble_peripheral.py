"""A simulated treadmill as a real BLE peripheral, on the bumble Bluetooth stack (optional).

    async with SimTreadmill() as treadmill, BumblePeripheral(treadmill, device):
        ...  # a central reaches it over HCI: bumble's in-memory LocalLink, or a real controller

Where ``sim.bleak_backend`` short-cuts the radio, this serves the same treadmill through a real
ATT/GATT server (bumble's), so advertising PDUs, attribute handles, CCCD writes, write responses
and indication confirmations are the stack's own. ``device`` is a ``bumble.device.Device``
(not powered on yet); attach it to a bumble ``LocalLink`` for in-process end-to-end tests, or to
an HCI transport (USB dongle, ``hci-socket``) to appear as a treadmill to a phone app.

Needs ``bumble`` (``pip install bumble``), which treadcoach does not require.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any

from bumble.att import ATT_Error  # type: ignore[import-not-found, unused-ignore]
from bumble.core import UUID, AdvertisingData  # type: ignore[import-not-found, unused-ignore]
from bumble.device import Connection, Device  # type: ignore[import-not-found, unused-ignore]
from bumble.gatt import (  # type: ignore[import-not-found, unused-ignore]
    Characteristic,
    CharacteristicValue,
    Service,
)

from sim.errors import AttError
from sim.gatt import GATT_TABLE, CharacteristicSpec
from sim.link import SimLink
from sim.treadmill import SimTreadmill
from treadcoach.ftms import uuids

__all__ = ["BumblePeripheral", "advertising_data"]

log = logging.getLogger(__name__)

_PROPERTIES = {
    "read": Characteristic.Properties.READ,
    "write": Characteristic.Properties.WRITE,
    "notify": Characteristic.Properties.NOTIFY,
    "indicate": Characteristic.Properties.INDICATE,
}


def _short(uuid: str) -> int:
    return int(uuid[4:8], 16)


def advertising_data(treadmill: SimTreadmill) -> bytes:
    """The treadmill's advertisement as raw AD structures: flags, 0x1826, service data, name."""
    adv = treadmill.advertisement()
    service_data = adv.service_data[uuids.FTMS_SERVICE_UUID]
    ftms = _short(uuids.FTMS_SERVICE_UUID).to_bytes(2, "little")
    return bytes(
        AdvertisingData(
            [
                (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
                (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, ftms),
                (AdvertisingData.SERVICE_DATA_16_BIT_UUID, ftms + service_data),
                (AdvertisingData.COMPLETE_LOCAL_NAME, adv.local_name.encode()),
            ]
        )
    )


class BumblePeripheral:
    """Serves ``treadmill`` from ``device``'s GATT server and advertises it, while inside."""

    def __init__(self, treadmill: SimTreadmill, device: Any) -> None:
        self.treadmill = treadmill
        self.device: Device = device
        self._characteristics: dict[str, Any] = {}
        self._links: dict[Any, SimLink] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> BumblePeripheral:
        self.device.add_services([self._service(spec) for spec in GATT_TABLE])
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)
        await self.device.power_on()
        await self._advertise()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.device.stop_advertising()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def _advertise(self) -> None:
        await self.device.start_advertising(
            advertising_data=advertising_data(self.treadmill), auto_restart=True
        )

    # --- the GATT table ------------------------------------------------------------------------

    def _service(self, spec: Any) -> Any:
        return Service(UUID(spec.uuid), [self._characteristic(c) for c in spec.characteristics])

    def _characteristic(self, spec: CharacteristicSpec) -> Any:
        props = Characteristic.Properties(0)
        for name in spec.properties:
            props |= _PROPERTIES[name]
        permissions = Characteristic.READABLE | Characteristic.WRITEABLE
        value = CharacteristicValue(
            read=lambda connection: self._read(spec.uuid),
            write=lambda connection, data: self._write(connection, spec.uuid, data),
        )
        characteristic = Characteristic(UUID(spec.uuid), props, permissions, value)
        if spec.notifiable:  # bumble adds the CCCD; mirror its writes into the treadmill's link
            characteristic.on(
                characteristic.EVENT_SUBSCRIPTION,
                lambda bearer, notify, indicate: self._on_subscription(
                    bearer, spec.uuid, notify, indicate
                ),
            )
        self._characteristics[spec.uuid] = characteristic
        return characteristic

    def _read(self, uuid: str) -> bytes:
        try:
            return self.treadmill.read(uuid)
        except AttError as exc:
            raise ATT_Error(exc.code, message=exc.reason) from exc

    def _write(self, connection: Connection, uuid: str, data: bytes) -> None:
        link = self._links.get(connection)
        if link is None:
            raise ATT_Error(0x0E, message="no simulated link for this connection")
        try:
            self.treadmill.write(link, uuid, bytes(data))
        except AttError as exc:
            raise ATT_Error(exc.code, message=exc.reason) from exc

    # --- connections ---------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        try:
            link = self.treadmill.connect(on_lost=lambda: self._drop(connection))
        except Exception:
            log.warning("refusing a second central on %s", self.treadmill.name)
            self._spawn(connection.disconnect())
            return
        self._links[connection] = link
        connection.on(
            connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection)
        )

    def _on_disconnection(self, connection: Connection) -> None:
        link = self._links.pop(connection, None)
        if link is not None:
            self.treadmill.disconnect(link)

    def _drop(self, connection: Connection) -> None:
        """The treadmill dropped the link (a ``disconnect`` fault or power-off)."""
        self._links.pop(connection, None)
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
            if indicate:
                self._spawn(
                    self.device.indicate_subscriber(connection, characteristic, bytes(data))
                )
            else:
                self._spawn(self.device.notify_subscriber(connection, characteristic, bytes(data)))

        link.subscribe(uuid, send, (0x02 if indicate else 0) | (0x01 if notify else 0))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
