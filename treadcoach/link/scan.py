"""Discovery: FTMS machines advertising service 0x1826, narrowed to treadmills.

The machine type comes from the FTMS service data in the advertisement (flags u8, machine type
u16). A machine that advertises the service but no service data is kept with its type unknown:
plenty of treadmills leave it out, and hiding them would make "my treadmill is not found" the
first thing a user meets.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from treadcoach.errors import DeviceNotFound, FtmsDecodeError
from treadcoach.ftms import decode_service_data
from treadcoach.ftms.uuids import FTMS_SERVICE_UUID
from treadcoach.link.bluetooth import translate_bluetooth_errors

__all__ = [
    "FoundTreadmill",
    "ProfileLookup",
    "discover_treadmills",
    "find_treadmill",
    "is_address",
    "name_matches",
]

logger = logging.getLogger(__name__)

#: ``(advertised name, address) -> devices.toml profile name or None``
ProfileLookup = Callable[[str | None, str], str | None]

_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
# CoreBluetooth (macOS) identifies peripherals by a UUID instead of a MAC address.
_CB_UUID = re.compile(r"^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


def is_address(text: str) -> bool:
    """True for a Bluetooth address (``AA:BB:..``) or a macOS peripheral UUID, not a name."""
    return bool(_MAC.match(text) or _CB_UUID.match(text))


def name_matches(name: str | None, pattern: str) -> bool:
    """Case-insensitive: a glob when ``pattern`` has ``*?[``, otherwise a name prefix."""
    if not name:
        return False
    lowered, pat = name.lower(), pattern.lower()
    if any(c in pat for c in "*?["):
        return fnmatch.fnmatchcase(lowered, pat)
    return lowered.startswith(pat)


@dataclass(frozen=True, slots=True)
class FoundTreadmill:
    """One FTMS machine heard advertising.

    ``is_treadmill`` / ``available`` are None when the advertisement carried no FTMS service
    data (type unknown). ``known_profile`` names the devices.toml entry that matches it, if any.
    """

    name: str | None
    address: str
    rssi: int | None
    is_treadmill: bool | None
    available: bool | None
    known_profile: str | None
    device: BLEDevice

    @property
    def type_label(self) -> str:
        if self.is_treadmill is None:
            return "unknown"
        return "treadmill" if self.is_treadmill else "other FTMS"


def _found(
    device: BLEDevice, adv: AdvertisementData, profile_lookup: ProfileLookup | None
) -> FoundTreadmill:
    is_treadmill: bool | None = None
    available: bool | None = None
    raw = adv.service_data.get(FTMS_SERVICE_UUID)
    if raw is not None:
        try:
            data = decode_service_data(bytes(raw))
        except FtmsDecodeError as exc:
            logger.info("%s: unreadable FTMS service data, type unknown: %s", device.address, exc)
        else:
            is_treadmill, available = data.is_treadmill, data.available
    name = adv.local_name or device.name
    known = profile_lookup(name, device.address) if profile_lookup is not None else None
    return FoundTreadmill(
        name=name,
        address=device.address,
        rssi=adv.rssi,
        is_treadmill=is_treadmill,
        available=available,
        known_profile=known,
        device=device,
    )


def _wanted(
    found: FoundTreadmill, name_pattern: str | None, address: str | None, other_machines: bool
) -> bool:
    if found.is_treadmill is False and not other_machines:
        return False
    if address is not None and found.address.upper() != address.upper():
        return False
    return name_pattern is None or name_matches(found.name, name_pattern)


async def discover_treadmills(
    *,
    timeout_s: float = 5.0,
    name_pattern: str | None = None,
    address: str | None = None,
    other_machines: bool = False,
    scanner_backend: type[BaseBleakScanner] | None = None,
    profile_lookup: ProfileLookup | None = None,
) -> list[FoundTreadmill]:
    """Scan for ``timeout_s`` seconds; treadmills (and unknown-type FTMS machines), loudest first.

    ``name_pattern`` (prefix or glob) and ``address`` narrow the result; ``other_machines`` also
    keeps bikes, rowers... Raises ``BluetoothUnavailable`` when this computer cannot scan.
    """
    with translate_bluetooth_errors():
        async with BleakScanner(
            service_uuids=[FTMS_SERVICE_UUID], backend=scanner_backend
        ) as scanner:
            await asyncio.sleep(timeout_s)
    seen = scanner.discovered_devices_and_advertisement_data
    found = [_found(device, adv, profile_lookup) for device, adv in seen.values()]
    found = [f for f in found if _wanted(f, name_pattern, address, other_machines)]
    found.sort(key=lambda f: (-(f.rssi if f.rssi is not None else -999), f.address))
    return found


async def find_treadmill(
    name_or_address: str,
    *,
    timeout_s: float = 10.0,
    scanner_backend: type[BaseBleakScanner] | None = None,
    profile_lookup: ProfileLookup | None = None,
) -> FoundTreadmill:
    """The first treadmill heard whose address is, or whose name matches, ``name_or_address``.

    Returns as soon as it is heard. Raises ``DeviceNotFound`` after ``timeout_s`` seconds, or
    ``BluetoothUnavailable``.
    """
    by_address = is_address(name_or_address)

    def wanted(device: BLEDevice, adv: AdvertisementData) -> bool:
        if FTMS_SERVICE_UUID not in [u.lower() for u in adv.service_uuids]:
            return False
        found = _found(device, adv, None)
        if by_address:
            return _wanted(found, None, name_or_address, other_machines=True)
        return _wanted(found, name_or_address, None, other_machines=False)

    with translate_bluetooth_errors():
        async with BleakScanner(
            service_uuids=[FTMS_SERVICE_UUID], backend=scanner_backend
        ) as scanner:
            try:
                async with asyncio.timeout(timeout_s):
                    async for device, adv in scanner.advertisement_data():
                        if wanted(device, adv):
                            return _found(device, adv, profile_lookup)
            except TimeoutError:
                pass
    what = "address" if by_address else "name"
    raise DeviceNotFound(
        name_or_address if by_address else None,
        f"no FTMS treadmill with {what} {name_or_address!r} was heard within {timeout_s:g} s; "
        "check that it is switched on, awake, and not connected to another app",
    )
