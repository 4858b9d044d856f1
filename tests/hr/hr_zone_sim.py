"""The zone simulation of docs/heart-rate.md: the HR coach steering a simulated treadmill.

Everything but the session controller is real: a ``SimTreadmill`` commanded over FTMS through
bleak's backend seam, a ``SimStrap`` whose pulse follows that belt (backward walking), the strap
link (``treadcoach.link.strap``) delivering 0x2A37 notifications, and the pure HR coach. A
stand-in governor applies each decision the way the module docstring of
``treadcoach.coach.heart_rate`` says, ramping at the controller's rates (1.0 km/h/s up, 2.0
down). Virtual time: 15 simulated minutes in well under a second.

    PYTHONPATH=. python tests/hr/hr_zone_sim.py      # prints the table
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

from sim.bleak_backend import SimBleakClient, SimBleakScanner
from sim.strap import SimStrap
from sim.treadmill import SimTreadmill
from treadcoach import clock
from treadcoach.coach.heart_rate import HeartRateCoach, HrZone, SpeedBounds, ZoneState
from treadcoach.ftms import uuids
from treadcoach.link.strap import open_strap

CP = uuids.CONTROL_POINT_UUID
RAMP_UP_KMH_PER_S = 1.0
RAMP_DOWN_KMH_PER_S = 2.0
DEMO_ZONE = HrZone(105, 115)


@dataclass(frozen=True, slots=True)
class Row:
    t_s: float
    bpm: int | None  # what the strap link delivered (None: not trusted)
    commanded_kmh: float
    belt_kmh: float
    zone_state: ZoneState | None
    limit_kmh: float | None
    stop: bool = False


async def zone_session(
    *,
    zone: HrZone | None = DEMO_ZONE,
    strap_faults: tuple[str, ...] = (),
    hr_max_bpm: int = 150,
    start_kmh: float = 2.0,
    floor_kmh: float = 1.0,
    cap_kmh: float = 4.83,
    minutes: float = 15.0,
) -> list[Row]:
    """One backward-walking segment steered by ``zone``; a row per second."""
    rows: list[Row] = []
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    def on_indication(_: BleakGATTCharacteristic, data: bytearray) -> None:
        answers.put_nowait(bytes(data))

    async def command(client: BleakClient, payload: bytes) -> None:
        await client.write_gatt_char(CP, payload, response=True)
        async with asyncio.timeout(2):
            answer = await answers.get()
        assert answer[2] == 0x01, answer.hex()

    async with (
        SimTreadmill() as treadmill,
        SimStrap(effort=treadmill, faults=strap_faults) as strap,
        BleakClient(treadmill.address, backend=SimBleakClient) as client,
        open_strap(
            strap.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
        ) as link,
    ):
        strap.backward = True
        await client.start_notify(CP, on_indication)
        await command(client, b"\x00")  # Request Control
        await command(client, b"\x07")  # Start
        coach = HeartRateCoach(hr_max_bpm)
        coach.begin_step(zone, start_kmh)
        bounds = SpeedBounds(floor_kmh, cap_kmh)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        commanded = 0.0
        sent = -1.0
        for n in range(int(minutes * 60)):
            await asyncio.sleep(max(0.0, t0 + n + 1 - loop.time()))
            decision = coach.update(loop.time(), link.latest, commanded, bounds)
            if decision.stop:  # the controller would stop the belt here (hr_ceiling)
                rows.append(
                    Row(
                        loop.time() - t0,
                        decision.bpm,
                        0.0,
                        treadmill.belt_speed_kmh,
                        None,
                        None,
                        True,
                    )
                )
                break
            goal = decision.goal_kmh if decision.goal_kmh is not None else start_kmh
            if decision.limit_kmh is not None:
                goal = min(goal, decision.limit_kmh)
            goal = min(goal, cap_kmh)
            if goal > commanded:
                commanded = min(goal, commanded + RAMP_UP_KMH_PER_S)
            else:
                commanded = max(goal, commanded - RAMP_DOWN_KMH_PER_S)
            # FTMS carries 0.01 km/h; round down so a cap is never exceeded (invariant 1)
            raw = math.floor(commanded * 100 + 1e-6)
            if raw != sent:
                await command(client, b"\x02" + raw.to_bytes(2, "little"))
                sent = raw
            rows.append(
                Row(
                    t_s=loop.time() - t0,
                    bpm=decision.bpm,
                    commanded_kmh=raw / 100,
                    belt_kmh=treadmill.belt_speed_kmh,
                    zone_state=decision.zone_state,
                    limit_kmh=decision.limit_kmh,
                )
            )
    return rows


def run_zone_session(**kwargs: object) -> list[Row]:
    async def main() -> list[Row]:
        return await zone_session(**kwargs)  # type: ignore[arg-type]

    return clock.run(main(), speedup=math.inf)


def table(rows: list[Row], every_s: int = 30) -> str:
    lines = [
        "| t (min:s) | HR (bpm) | commanded (km/h) | belt (km/h) | zone |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        if round(row.t_s) % every_s == 0:
            m, s = divmod(round(row.t_s), 60)
            lines.append(
                f"| {m}:{s:02d} | {row.bpm if row.bpm is not None else '-'} | "
                f"{row.commanded_kmh:.2f} | {row.belt_kmh:.2f} | {row.zone_state or '-'} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print("Backward walk from 2.0 km/h, zone 105-115 bpm, cap 4.83 km/h:\n")
    print(table(run_zone_session()))
    print("\nBackward walk from 4.83 km/h (too hard), zone 95-105 bpm:\n")
    print(table(run_zone_session(zone=HrZone(95, 105), start_kmh=4.83)))
