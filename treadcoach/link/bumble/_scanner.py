"""bleak scanner backend over a bumble ``Device`` (one shared scan per adapter)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bumble import hci

from treadcoach.link.bumble._adapter import BumbleAdapter
from treadcoach.link.bumble._advertising import ParsedAdvertisement

__all__ = ["BumbleBleakScanner"]


class BumbleBleakScanner(BaseBleakScanner):
    """Reports what the adapter's controller hears, as bleak on BlueZ does (advertisement and
    scan response merged per address; ``BLEDevice.details`` is bumble's typed address)."""

    adapter: ClassVar[BumbleAdapter]  # set on the subclass ``BumbleAdapter.scanner_backend``

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"
        self._scanning = False

    async def start(self) -> None:
        self.seen_devices = {}
        if not self._scanning:
            self._scanning = True
            await self.adapter.start_scan(self._heard, active=self._active)

    async def stop(self) -> None:
        if self._scanning:
            self._scanning = False
            await self.adapter.stop_scan(self._heard)

    def _heard(self, address: hci.Address, parsed: ParsedAdvertisement, rssi: int) -> None:
        if not self.is_allowed_uuid(parsed.service_uuids):
            return
        key = address.to_string(False)
        data = AdvertisementData(
            local_name=parsed.local_name,
            manufacturer_data=dict(parsed.manufacturer_data),
            service_data=dict(parsed.service_data),
            service_uuids=list(parsed.service_uuids),
            tx_power=parsed.tx_power,
            rssi=rssi,
            platform_data=(address,),
        )
        device = self.create_or_update_device(key, key, parsed.local_name, address, data)
        self.call_detection_callbacks(device, data)
