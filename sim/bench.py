"""``treadcoach bench sim45``: a 45-minute session against the simulator on the virtual clock.

Connects with bleak through ``SimBleakClient``, requests control, starts, changes speed a few
times, and consumes 45 minutes of 1 Hz Treadmill Data (decoded, fragments merged). Reports wall
seconds (median of ``n`` runs), virtual seconds and notification counts. Target: < 1 s wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import time
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from sim.bleak_backend import SimBleakClient
from sim.treadmill import SimTreadmill
from treadcoach import clock
from treadcoach.ftms import FtmsDecodeError, TreadmillDataAssembler, uuids

__all__ = ["bench"]

SESSION_S = 45 * 60
# (minute, km/h): warm up, a few backward-walk-like steps, cool down
SPEEDS = ((0, 3.0), (5, 3.22), (15, 4.83), (25, 3.22), (35, 4.0), (42, 2.5))


async def _session() -> dict[str, Any]:
    async with SimTreadmill(name="bench") as treadmill:
        notifications = 0
        records = 0
        indications: asyncio.Queue[bytes] = asyncio.Queue()
        assembler = TreadmillDataAssembler()

        def on_data(_: BleakGATTCharacteristic, data: bytearray) -> None:
            nonlocal notifications, records
            notifications += 1
            with contextlib.suppress(FtmsDecodeError):  # none expected; counted by records
                records += assembler.feed(bytes(data)) is not None

        async def command(client: BleakClient, request: bytes) -> None:
            await client.write_gatt_char(uuids.CONTROL_POINT_UUID, request, response=True)
            reply = await asyncio.wait_for(indications.get(), 2)
            if reply[2] != 0x01:
                raise RuntimeError(f"the simulator refused {request.hex()}: {reply.hex()}")

        t0 = clock.now()
        async with BleakClient(treadmill.address, backend=SimBleakClient) as client:
            await client.start_notify(
                uuids.CONTROL_POINT_UUID, lambda _, data: indications.put_nowait(bytes(data))
            )
            await client.start_notify(uuids.TREADMILL_DATA_UUID, on_data)
            await command(client, b"\x00")
            await command(client, b"\x07")
            for minute, kmh in SPEEDS:
                await asyncio.sleep(max(0.0, t0 + minute * 60 - clock.now()))
                await command(client, b"\x02" + round(kmh * 100).to_bytes(2, "little"))
            await asyncio.sleep(max(0.0, t0 + SESSION_S - clock.now()))
            await command(client, b"\x08\x01")
        return {
            "virtual_s": round(clock.now() - t0, 3),
            "notifications": notifications,
            "records": records,
            "distance_m": round(treadmill.distance_m, 1),
        }


def bench(options: Any) -> dict[str, Any]:
    runs = max(1, getattr(options, "n", None) or 5)
    walls: list[float] = []
    result: dict[str, Any] = {}
    for _ in range(runs):
        wall = time.perf_counter()
        result = clock.run(_session(), speedup=math.inf)
        walls.append(time.perf_counter() - wall)
    return {
        "n": runs,
        "wall_s": round(statistics.median(walls), 4),
        "wall_s_max": round(max(walls), 4),
        "target_wall_s": 1.0,
        **result,
    }
