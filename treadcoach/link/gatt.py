"""Connecting to one FTMS treadmill and setting up its GATT: the link's bleak edge (asyncio).

``connect`` opens the connection (bleak-retry-connector, errors translated); ``set_up`` reads
what the machine says about itself and subscribes, in the order FTMS requires (the control
point's indications before its first write). What the values mean is decided elsewhere:
``ranges.effective_ranges``, ``observe.MachineView``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from treadcoach.errors import FtmsDecodeError, LinkError
from treadcoach.ftms import (
    InclinationRange,
    MachineFeatures,
    SpeedRange,
    TrainingStatus,
    decode_inclination_range,
    decode_machine_features,
    decode_speed_range,
    decode_training_status,
    uuids,
)
from treadcoach.link.bluetooth import bluetooth_unavailable
from treadcoach.link.timeouts import CONNECT_ATTEMPTS, DISCONNECT_TIMEOUT_S

__all__ = ["Gatt", "Handlers", "connect", "disconnect", "set_up"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Notify = Callable[[BleakGATTCharacteristic, bytearray], None]


@dataclass(frozen=True, slots=True)
class Handlers:
    """Where each notification goes, and what to do with a value that did not decode."""

    control_point: Notify
    treadmill_data: Notify
    machine_status: Notify
    training_status: Notify
    bad_read: Callable[[str, FtmsDecodeError, bytes], None]


@dataclass(frozen=True, slots=True)
class Gatt:
    """One set-up connection: the client, the characteristics written or read later, and what
    the machine said about itself (None where it has no such characteristic, or it was bad)."""

    client: BleakClient
    control_point: BleakGATTCharacteristic
    training_status_char: BleakGATTCharacteristic | None
    features: MachineFeatures | None
    speed_range: SpeedRange | None
    incline_range: InclinationRange | None
    training: TrainingStatus | None


async def connect(
    device: BLEDevice,
    *,
    name: str,
    backend: type[BaseBleakClient] | None,
    on_disconnected: Callable[[BleakClient], None],
) -> BleakClient:
    extra: dict[str, Any] = {} if backend is None else {"backend": backend}
    try:
        return await establish_connection(
            BleakClient,
            device,
            device.name or device.address,
            disconnected_callback=on_disconnected,
            max_attempts=CONNECT_ATTEMPTS,
            **extra,
        )
    except (BleakError, OSError) as error:
        unavailable = bluetooth_unavailable(error)
        if unavailable is not None:
            raise unavailable from error
        raise LinkError(
            device.address, f"could not connect to {name} ({device.address}): {error}"
        ) from error
    except asyncio.CancelledError as error:
        raise _leaked(error, device.address, f"connecting to {name}") from error


async def disconnect(client: BleakClient, name: str) -> None:
    """Disconnect, giving up after ``DISCONNECT_TIMEOUT_S`` (a hung stack must not hang us)."""
    try:
        async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
            await client.disconnect()
    except (BleakError, OSError, TimeoutError) as error:
        logger.info("%s: disconnect failed: %s", name, error)


async def set_up(client: BleakClient, *, name: str, address: str | None, on: Handlers) -> Gatt:
    """Read and subscribe; on any failure the client is disconnected and the error raised
    (a BleakError as LinkError)."""
    try:
        return await _set_up(client, name, address, on)
    except BaseException as error:
        with contextlib.suppress(BleakError, OSError, TimeoutError):
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await client.disconnect()
        if isinstance(error, BleakError):
            raise LinkError(
                address, f"setting up {name} after connecting failed: {error}"
            ) from error
        if isinstance(error, asyncio.CancelledError):
            raise _leaked(error, address, f"setting up {name}") from error
        raise


def _leaked(error: asyncio.CancelledError, address: str | None, doing: str) -> LinkError:
    """A CancelledError nobody asked for (bumble leaks its own) is a failure of this step, not
    the end of the task doing it (issue 13); a real cancellation goes on as it came."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise error
    return LinkError(address, f"{doing} failed: the Bluetooth stack cancelled it")


async def _set_up(client: BleakClient, name: str, address: str | None, on: Handlers) -> Gatt:
    services = client.services
    cp = services.get_characteristic(uuids.CONTROL_POINT_UUID)
    data = services.get_characteristic(uuids.TREADMILL_DATA_UUID)
    if cp is None or data is None:
        raise LinkError(
            address,
            f"{name} has no FTMS Treadmill Data or Control Point: it is not an FTMS treadmill "
            "we can drive",
        )

    async def read(uuid: str, decode: Callable[[bytes], T]) -> T | None:
        char = services.get_characteristic(uuid)
        if char is None or "read" not in char.properties:
            return None
        try:
            raw = bytes(await client.read_gatt_char(char))
        except BleakError as error:
            logger.info("%s: reading %s failed: %s", name, uuid, error)
            return None
        try:
            return decode(raw)
        except FtmsDecodeError as error:
            on.bad_read(uuid, error, raw)
            return None

    features = await read(uuids.FEATURE_UUID, decode_machine_features)
    speed_range = await read(uuids.SPEED_RANGE_UUID, decode_speed_range)
    incline_range = await read(uuids.INCLINATION_RANGE_UUID, decode_inclination_range)
    training = await read(uuids.TRAINING_STATUS_UUID, decode_training_status)
    # FTMS: the control point's indications must be on before the first write to it.
    await client.start_notify(cp, on.control_point)
    await client.start_notify(data, on.treadmill_data)
    status = services.get_characteristic(uuids.MACHINE_STATUS_UUID)
    if status is not None:
        await client.start_notify(status, on.machine_status)
    ts = services.get_characteristic(uuids.TRAINING_STATUS_UUID)
    if ts is not None and ("notify" in ts.properties or "indicate" in ts.properties):
        await client.start_notify(ts, on.training_status)
    return Gatt(client, cp, ts, features, speed_range, incline_range, training)
