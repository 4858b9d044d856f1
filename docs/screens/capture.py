"""Regenerate the screen captures in this folder from a real session against the simulator.

    .venv/bin/python docs/screens/capture.py

Runs the built-in backward-walk starter as a real Session (controller, link, simulated treadmill,
journal)
(headless, on a clock 60x faster than the wall) and saves the screens as SVG at 60x18, 80x24,
160x48 and 200x60: during the warm-up (forward), the turnaround countdown, the backward walk (its
cue ends with the safety sentence), the run-down after the stop key (belt speed falling), and the
summary.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from treadcoach import clock
from treadcoach.coach.library import find_plan
from treadcoach.config import load_settings
from treadcoach.session import Session, SessionOptions
from treadcoach.tui import TreadcoachApp, TuiSettings
from treadcoach.tui.audio import SilentSpeaker
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.screens.summary import SummaryScreen

HERE = Path(__file__).parent
PLAN = "backward-walk-starter"


async def _capture(size: tuple[int, int], data: Path) -> None:
    # A whole Session as `treadcoach run --sim` builds it (simulator, controller, journal), with
    # the shipped settings only, journaling into a throw-away folder.
    blank = data / "devices.toml"
    blank.write_text("")
    session = Session(
        SessionOptions(
            plan=find_plan(PLAN),
            sim=True,
            journal_path=data / f"history-{size[0]}x{size[1]}.sqlite3",
            handle_signals=False,
            hold_on_control_lost=True,
        ),
        load_settings(blank),
    )
    app = TreadcoachApp(
        session=session,
        settings=TuiSettings(summary_delay_s=1.0, handle_signals=False),
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

        def shot(name: str) -> None:
            app.clear_notifications()  # the session-start notice ("cues: ...") fades anyway
            app.refresh()
            app.save_screenshot(f"{name}-{tag}.svg", str(HERE))

        await until("WARM-UP")
        await asyncio.sleep(95)  # a minute and a half into the warm-up, belt at speed
        shot("forward")
        await until("TURN AROUND IN 4")
        shot("turnaround")
        await until("BACKWARD WALK")
        await asyncio.sleep(20)
        shot("backward")
        await pilot.press("space")
        await until("STOPPED")
        await pilot.pause(0.3)
        shot("stopped")  # the run-down: the belt's speed falling to standstill
        for _ in range(600):
            if isinstance(app.screen, SummaryScreen):
                break
            await pilot.pause(0.1)
        await pilot.pause(0.3)
        shot("summary")


async def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        for size in ((60, 18), (80, 24), (160, 48), (200, 60)):
            await _capture(size, Path(data))


if __name__ == "__main__":
    clock.run(main(), speedup=60)
