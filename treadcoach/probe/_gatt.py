"""The probe's raw GATT look, where the link has no API: read-only, before any command.

Lists the characteristics, reads every readable FTMS and Device Information one, and listens to
the notifiable ones for a few seconds (Treadmill Data as it comes off the air, before the
codec: the pace field width and vendor bytes show only here). It writes nothing but the CCCDs
that subscribing sets, so it cannot move the belt; every command goes through the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from treadcoach.errors import LinkError
from treadcoach.ftms import uuids
from treadcoach.link import find_treadmill, translate_bluetooth_errors
from treadcoach.probe._record import Packet, Survey

__all__ = ["SURVEYED", "survey"]

log = logging.getLogger(__name__)

#: the characteristics a treadmill's FTMS service may have, and the Device Information strings
SURVEYED: tuple[str, ...] = (
    uuids.FEATURE_UUID,
    uuids.TREADMILL_DATA_UUID,
    uuids.TRAINING_STATUS_UUID,
    uuids.SPEED_RANGE_UUID,
    uuids.INCLINATION_RANGE_UUID,
    uuids.CONTROL_POINT_UUID,
    uuids.MACHINE_STATUS_UUID,
    uuids.MANUFACTURER_NAME_UUID,
    uuids.MODEL_NUMBER_UUID,
    uuids.HARDWARE_REVISION_UUID,
    uuids.FIRMWARE_REVISION_UUID,
    uuids.SOFTWARE_REVISION_UUID,
)
_LISTENED = (uuids.TREADMILL_DATA_UUID, uuids.TRAINING_STATUS_UUID, uuids.MACHINE_STATUS_UUID)


async def survey(
    target: str,
    *,
    listen_s: float,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    find_timeout_s: float = 10.0,
) -> Survey:
    """Connect to ``target``, look, listen ``listen_s`` seconds, disconnect."""
    found = await find_treadmill(target, timeout_s=find_timeout_s, scanner_backend=scanner_backend)
    name = found.name or found.address
    extra = {"backend": client_backend} if client_backend is not None else {}
    client = BleakClient(found.device, **extra)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    packets: list[Packet] = []
    with translate_bluetooth_errors():
        try:
            await client.connect()
        except (BleakError, OSError) as error:
            raise LinkError(found.address, f"could not connect to {name}: {error}") from error
    try:
        chars: dict[str, tuple[str, ...]] = {}
        for service in client.services:
            for char in service.characteristics:
                chars.setdefault(char.uuid, tuple(char.properties))
        reads: dict[str, bytes] = {}
        errors: dict[str, str] = {}
        for uuid in SURVEYED:
            if "read" not in chars.get(uuid, ()):
                continue
            try:
                reads[uuid] = bytes(await client.read_gatt_char(uuid))
            except BleakError as error:
                errors[uuid] = str(error) or type(error).__name__
        for uuid in _LISTENED:
            props = chars.get(uuid, ())
            if "notify" in props or "indicate" in props:

                def heard(_char: object, data: bytearray, uuid: str = uuid) -> None:
                    packets.append(Packet(loop.time(), uuid, bytes(data)))

                try:
                    await client.start_notify(uuid, heard)
                except BleakError as error:
                    errors[uuid] = f"subscribing failed: {error}"
        await asyncio.sleep(listen_s)
    finally:
        with contextlib.suppress(BleakError, OSError, TimeoutError):
            async with asyncio.timeout(2.0):
                await client.disconnect()
    return Survey(
        name=name,
        address=found.address,
        characteristics=chars,
        reads=reads,
        read_errors=errors,
        packets=tuple(packets),
        listen_s=listen_s,
    )
