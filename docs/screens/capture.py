"""Regenerate the screen captures in this folder from a real session against the simulator.

    .venv/bin/python docs/screens/capture.py

Runs the built-in backward-walk starter with the real controller, link and simulated treadmill
(headless, on a clock 60x faster than the wall) and saves the session screen as SVG at 80x24 and
160x48: during the warm-up (forward), during the turnaround countdown, and after the stop key.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.library import find_plan
from treadcoach.coach.schedule import Caps, backward_time_s, expand
from treadcoach.link import TreadmillLink
from treadcoach.tui import TreadcoachApp, TuiSettings
from treadcoach.tui.audio import SilentSpeaker
from treadcoach.tui.screens.session import SessionScreen

HERE = Path(__file__).parent
PLAN = "backward-walk-starter"


async def _capture(size: tuple[int, int]) -> None:
    steps = expand(find_plan(PLAN), Caps())
    async with SimTreadmill(name="SimTread") as treadmill:

        def link() -> TreadmillLink:
            return TreadmillLink(
                treadmill.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
            )

        controller = SessionController(
            link,
            steps,
            SessionConfig(plan_name=PLAN, simulated=True),
            planned_backward_s=backward_time_s(steps),
        )
        app = TreadcoachApp(
            session=controller,
            settings=TuiSettings(summary_delay_s=600),
            speaker=SilentSpeaker(),
        )
        tag = f"{size[0]}x{size[1]}"

        def banner() -> str:
            screen = app.screen
            return screen.view.banner if isinstance(screen, SessionScreen) and screen.view else ""

        async with app.run_test(size=size) as pilot:

            async def until(condition: str, limit_s: float = 900.0) -> None:
                for _ in range(int(limit_s / 0.1)):
                    if banner().startswith(condition):
                        return
                    await pilot.pause(0.1)
                raise RuntimeError(f"never saw {condition!r}")

            await until("WARM-UP")
            await asyncio.sleep(95)  # a minute and a half into the warm-up, belt at speed
            app.save_screenshot(f"forward-{tag}.svg", str(HERE))
            await until("TURN AROUND IN 4")
            app.save_screenshot(f"turnaround-{tag}.svg", str(HERE))
            await until("BACKWARD WALK")
            await asyncio.sleep(20)
            await pilot.press("space")
            await until("STOPPED")
            await pilot.pause(0.5)
            app.save_screenshot(f"stopped-{tag}.svg", str(HERE))


async def main() -> None:
    for size in ((80, 24), (160, 48)):
        await _capture(size)


if __name__ == "__main__":
    clock.run(main(), speedup=60)
