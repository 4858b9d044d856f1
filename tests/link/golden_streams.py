"""Golden streams for refactoring the stop path: every control-point write and every session
event, for each built-in plan x a set of simulator faults, on virtual time (deterministic).

Not a test (pytest does not collect it): run it on two trees and diff the outputs, e.g.

    git archive OLD | tar -x -C /tmp/old
    (cd /tmp/old && PYTHONPATH=$PWD python tests/link/golden_streams.py) > old.txt
    PYTHONPATH=$PWD python tests/link/golden_streams.py > new.txt
    diff old.txt new.txt      # an extraction commit must show no difference

Lines: ``<t> W <hex>`` for a write, ``<t> E <event repr>`` for a session event, and the belt's
final target per run.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.library import builtin_plans, find_plan
from treadcoach.coach.schedule import Caps, backward_time_s, expand
from treadcoach.ftms import uuids
from treadcoach.link import TreadmillLink

FAULTS: list[tuple[str, ...]] = [
    (),
    ("disconnect@120",),
    ("control_lost@100",),
    ("nack@50",),
    ("safety_key@200",),
    ("stale@150",),
    ("ignore_speed@90",),
    ("garbage@60",),
    ("disconnect@30", "nack@31"),
]


def stream(plan_name: str, faults: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    steps = expand(find_plan(plan_name), Caps())

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()

        class Recording(SimBleakClient):
            async def write_gatt_char(self, char: Any, data: Any, response: bool) -> None:
                if char.uuid == uuids.CONTROL_POINT_UUID:
                    out.append(f"{loop.time() - t0:.3f} W {bytes(data).hex()}")
                await super().write_gatt_char(char, data, response)

        async with SimTreadmill(name="SimTread", faults=faults) as treadmill:

            def link() -> TreadmillLink:
                return TreadmillLink(
                    treadmill.address,
                    client_backend=Recording,
                    scanner_backend=SimBleakScanner,
                    max_reconnect_s=20.0,
                )

            controller = SessionController(
                link,
                steps,
                SessionConfig(plan_name=plan_name, simulated=True),
                planned_backward_s=backward_time_s(steps),
            )
            controller.add_listener(lambda e: out.append(f"{loop.time() - t0:.3f} E {e!r}"))
            await controller.run()
            out.append(f"belt {treadmill.target_speed_kmh}")

    clock.run(scenario(), speedup=math.inf)
    return out


def main() -> None:
    for plan in builtin_plans():
        for faults in FAULTS:
            print(f"=== {plan.name} {faults}")
            print("\n".join(stream(plan.name, faults)))


if __name__ == "__main__":
    main()
