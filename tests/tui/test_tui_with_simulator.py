"""The app driving the real session controller against the simulated treadmill.

Each test runs the app (headless), a ``SessionController`` and a ``SimTreadmill`` on one loop whose
clock runs 10x faster than the wall (``treadcoach.clock``), through the real ``TreadmillLink`` over
the simulator's bleak backend. What happened to the belt is read from the simulator, not the UI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from textual.pilot import Pilot
from tui_double import RecordingSpeaker

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, backward_time_s, expand
from treadcoach.coach.state import Phase
from treadcoach.link import TreadmillLink
from treadcoach.safety.reasons import StopReason
from treadcoach.tui import TreadcoachApp, TuiSettings
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.widgets.countdown import Countdown

SPEEDUP = 10.0

PLAN = """
name = "tui-e2e"
title = "TUI end to end"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 12
speed = 3.0

[[segments]]
kind = "backward_walk"
duration = 30
speed = 3.0

[[segments]]
kind = "cooldown"
duration = 10
speed = 3.0
"""


@dataclass
class Seen:
    banners: list[str] = field(default_factory=list)
    countdowns: list[str] = field(default_factory=list)
    belt_kmh_before_stop: float = 0.0
    belt_target_after: float | None = None
    stop_reasons: list[StopReason] = field(default_factory=list)
    phase_after: Phase | None = None
    summary_reason: StopReason | None = None


Drive = Callable[
    [Pilot[object], TreadcoachApp, SimTreadmill, SessionController, Seen], Awaitable[None]
]


def _run(drive: Drive) -> Seen:
    seen = Seen()
    steps = expand(parse_plan(PLAN, "tui-e2e.toml"), Caps())

    async def scenario() -> None:
        async with SimTreadmill(name="SimTread") as treadmill:

            def link() -> TreadmillLink:
                return TreadmillLink(
                    treadmill.address,
                    client_backend=SimBleakClient,
                    scanner_backend=SimBleakScanner,
                )

            controller = SessionController(
                link,
                steps,
                SessionConfig(plan_name="tui-e2e", simulated=True),
                planned_backward_s=backward_time_s(steps),
            )
            controller.add_listener(
                lambda e: seen.stop_reasons.append(e.reason) if e.event == "stop" else None  # type: ignore[union-attr]
            )
            app = TreadcoachApp(
                session=controller,
                settings=TuiSettings(summary_delay_s=60, quit_wait_s=5.0),
                speaker=RecordingSpeaker(),
            )
            async with app.run_test(size=(80, 24)) as pilot:
                await drive(pilot, app, treadmill, controller, seen)
            seen.belt_target_after = treadmill.target_speed_kmh
            seen.phase_after = controller.state.phase
            if app.return_value is not None:
                seen.summary_reason = app.return_value.stop_reason

    clock.run(scenario(), speedup=SPEEDUP)
    return seen


async def _until(pilot: Pilot[object], condition: Callable[[], bool], sim_s: float = 60.0) -> None:
    """Poll every 0.2 sim-seconds until ``condition`` holds (or ``sim_s`` passed)."""
    for _ in range(int(sim_s / 0.2)):
        if condition():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"condition not met within {sim_s} sim seconds")


def _banner(app: TreadcoachApp) -> str:
    screen = app.screen
    if isinstance(screen, SessionScreen) and screen.view is not None:
        return screen.view.banner
    return ""


async def _belt_moving(pilot: Pilot[object], treadmill: SimTreadmill) -> None:
    await _until(pilot, lambda: treadmill.belt_speed_kmh > 1.0)


@pytest.mark.parametrize(
    ("key", "reason", "banner"),
    [
        ("space", StopReason.KEY, "STOPPED — STOP KEY"),
        ("d", StopReason.DIZZY, "STOPPED — YOU SAID YOU FELT DIZZY"),
    ],
)
def test_stop_key_stops_the_simulated_belt(key: str, reason: StopReason, banner: str) -> None:
    async def drive(pilot, app, treadmill, controller, seen) -> None:  # type: ignore[no-untyped-def]
        await _belt_moving(pilot, treadmill)
        seen.belt_kmh_before_stop = treadmill.belt_speed_kmh
        await pilot.press(key)
        await _until(pilot, lambda: controller.state.phase is Phase.STOPPED)
        await _until(pilot, lambda: treadmill.belt_speed_kmh == 0.0)
        seen.banners.append(_banner(app))

    seen = _run(drive)
    assert seen.belt_kmh_before_stop > 1.0
    assert seen.stop_reasons == [reason]
    assert seen.belt_target_after == 0.0
    assert seen.banners == [banner]


def test_quitting_stops_the_simulated_belt_before_leaving() -> None:
    async def drive(pilot, app, treadmill, controller, seen) -> None:  # type: ignore[no-untyped-def]
        await _belt_moving(pilot, treadmill)
        await pilot.press("ctrl+q")
        await _until(pilot, lambda: not app.is_running)

    seen = _run(drive)
    assert seen.stop_reasons == [StopReason.QUIT]
    assert seen.belt_target_after == 0.0
    assert seen.phase_after is Phase.STOPPED
    assert seen.summary_reason is StopReason.QUIT


def test_countdown_advances_and_the_turnaround_comes_before_walking_backward() -> None:
    async def drive(pilot, app, treadmill, controller, seen) -> None:  # type: ignore[no-untyped-def]
        def watch() -> bool:
            banner = _banner(app)
            if banner and (not seen.banners or seen.banners[-1] != banner):
                seen.banners.append(banner)
            value = (
                app.screen.query_one(Countdown).value
                if isinstance(app.screen, SessionScreen)
                else ""
            )
            if value and (not seen.countdowns or seen.countdowns[-1] != value):
                seen.countdowns.append(value)
            return banner == "BACKWARD WALK"

        await _until(pilot, watch, sim_s=90)
        await pilot.press("space")
        await _until(pilot, lambda: treadmill.belt_speed_kmh == 0.0)

    seen = _run(drive)
    warmup = [c for c in seen.countdowns if ":" in c][:3]
    assert len(warmup) >= 2
    assert warmup == sorted(warmup, reverse=True)  # mm:ss counting down
    first_backward = seen.banners.index("BACKWARD WALK")
    before = seen.banners[:first_backward]
    assert any(b.startswith("TURN AROUND IN") for b in before)
    assert before.index("WARM-UP") < next(
        i for i, b in enumerate(before) if b.startswith("TURN AROUND")
    )
    assert seen.belt_target_after == 0.0


def test_quitting_waits_for_standstill_and_says_so() -> None:
    seen_cue: list[str] = []
    belt_while_waiting: list[float] = []

    async def drive(pilot, app, treadmill, controller, seen) -> None:  # type: ignore[no-untyped-def]
        await _until(pilot, lambda: treadmill.belt_speed_kmh > 2.5)
        await pilot.press("q")
        await pilot.pause(0.3)
        assert app.is_running  # still here: the belt is still running down
        belt_while_waiting.append(treadmill.belt_speed_kmh)
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        assert screen.view is not None
        seen_cue.append(screen.view.cue)
        await _until(pilot, lambda: not app.is_running)
        seen.belt_kmh_before_stop = treadmill.belt_speed_kmh

    seen = _run(drive)
    assert belt_while_waiting[0] > 0.2
    assert seen_cue == ["Waiting for the belt to stand still, then quitting."]
    assert seen.belt_kmh_before_stop <= 0.2  # it left only once the belt stood still
    assert seen.summary_reason is StopReason.QUIT
