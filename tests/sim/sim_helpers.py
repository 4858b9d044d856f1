"""A minimal FTMS central made of plain bleak calls, for driving the simulator in tests.

Deliberately not treadcoach.link: these tests show the simulator works for any bleak app.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice

from sim.bleak_backend import SimBleakClient
from treadcoach import clock
from treadcoach.ftms import (
    MachineStatus,
    TreadmillData,
    TreadmillDataAssembler,
    decode_machine_status,
    uuids,
)

T = TypeVar("T")

CP = uuids.CONTROL_POINT_UUID
TD = uuids.TREADMILL_DATA_UUID
MS = uuids.MACHINE_STATUS_UUID
TS = uuids.TRAINING_STATUS_UUID

REQUEST_CONTROL = b"\x00"
RESET = b"\x01"
START = b"\x07"
STOP = b"\x08\x01"
PAUSE = b"\x08\x02"


def set_speed(kmh: float) -> bytes:
    return b"\x02" + round(kmh * 100).to_bytes(2, "little")


def set_incline(pct: float) -> bytes:
    return b"\x03" + round(pct * 10).to_bytes(2, "little", signed=True)


def virtual(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on the virtual clock: simulated minutes cost milliseconds."""

    async def main() -> T:
        return await scenario()

    return clock.run(main(), speedup=math.inf)


@dataclass
class Central:
    """A connected bleak client plus every notification it received, stamped with loop time."""

    client: BleakClient
    received: dict[str, list[tuple[float, bytes]]] = field(default_factory=dict)
    indications: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    disconnects: list[float] = field(default_factory=list)

    def on_notify(self, char: BleakGATTCharacteristic, data: bytearray) -> None:
        assert isinstance(data, bytearray)  # as bleak delivers it
        self.received.setdefault(char.uuid, []).append((clock.now(), bytes(data)))
        if char.uuid == CP:
            self.indications.put_nowait(bytes(data))

    def on_disconnect(self, client: BleakClient) -> None:
        self.disconnects.append(clock.now())

    async def subscribe(self) -> None:
        for uuid in (CP, TD, MS, TS):
            await self.client.start_notify(uuid, self.on_notify)

    async def command(self, request: bytes) -> bytes:
        """Write ``request`` to the control point; its indication ``[0x80, op, result]``."""
        await self.client.write_gatt_char(CP, request, response=True)
        async with asyncio.timeout(2):
            return await self.indications.get()

    async def take_control_and_start(self) -> None:
        assert await self.command(REQUEST_CONTROL) == b"\x80\x00\x01"
        assert await self.command(START) == b"\x80\x07\x01"

    def telemetry(self, since: float = -math.inf) -> list[tuple[float, TreadmillData]]:
        """Decoded Treadmill Data records (fragments merged) received after ``since``."""
        out = []
        assembler = TreadmillDataAssembler()
        for t, packet in self.received.get(TD, []):
            try:
                record = assembler.feed(packet)
            except ValueError:
                continue
            if record is not None and t > since:
                out.append((t, record))
        return out

    def statuses(self) -> list[MachineStatus]:
        return [decode_machine_status(data) for _, data in self.received.get(MS, [])]

    def speeds(self, since: float = -math.inf) -> list[float]:
        return [r.speed_kmh for _, r in self.telemetry(since) if r.speed_kmh is not None]


async def connect(target: BLEDevice | str, **kwargs: Any) -> Central:
    holder: list[Central] = []
    client = BleakClient(
        target,
        disconnected_callback=lambda c: holder[0].on_disconnect(c),
        backend=SimBleakClient,
        **kwargs,
    )
    central = Central(client)
    holder.append(central)
    await client.connect()
    await central.subscribe()
    return central


__all__ = [
    "CP",
    "MS",
    "PAUSE",
    "REQUEST_CONTROL",
    "RESET",
    "START",
    "STOP",
    "TD",
    "TS",
    "Central",
    "connect",
    "set_incline",
    "set_speed",
    "virtual",
]
