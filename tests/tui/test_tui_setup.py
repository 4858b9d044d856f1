"""The setup screen end to end: the choices `treadcoach run --sim` offers, picked with the keyboard,
start a real session on the simulator."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import OptionList
from tui_double import RecordingSpeaker

from treadcoach import clock
from treadcoach.coach.library import find_plan
from treadcoach.coach.state import Phase
from treadcoach.config import load_settings
from treadcoach.safety.reasons import StopReason
from treadcoach.session import SIM_DEVICE, Session, SessionOptions
from treadcoach.tui import Choice, SessionRequest, SetupChoices, TreadcoachApp, TuiSettings
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.screens.setup import SetupScreen

# As `run --sim` builds them: the suggested step first, then every plan the library lists, which
# includes "progression" again (that pair of ids crashed the screen with DuplicateID).
CHOICES = SetupChoices(
    devices=[Choice("Simulated treadmill", SIM_DEVICE)],
    plans=[
        Choice("Next progression step: Backward-walk starter", "progression", "first session"),
        Choice("Backward-walk starter", "backward-walk-starter"),
        Choice("Gentle intro", "gentle-intro"),
        Choice("Progression programme", "progression"),
    ],
    default_device=SIM_DEVICE,
    suggested_plan="progression",
)


async def _until(pilot: Pilot[object], condition, sim_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(sim_s / 0.2)):
        if condition():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"condition not met within {sim_s} sim seconds")


def test_a_plan_picked_with_the_keyboard_starts_a_session_on_the_simulator(tmp_path: Path) -> None:
    requests: list[SessionRequest] = []
    (tmp_path / "devices.toml").write_text("")  # the shipped defaults only
    SETTINGS = load_settings(tmp_path / "devices.toml")
    sessions: list[Session] = []

    def factory(request: SessionRequest) -> Session:
        requests.append(request)
        name = "backward-walk-starter" if request.plan == "progression" else request.plan
        session = Session(
            SessionOptions(plan=find_plan(name), sim=True, record=False, handle_signals=False),
            SETTINGS,
        )
        sessions.append(session)
        return session

    async def scenario() -> None:
        app = TreadcoachApp(
            setup=CHOICES,
            session_factory=factory,
            settings=TuiSettings(summary_delay_s=60, audio="none", handle_signals=False),
            speaker=RecordingSpeaker(),
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, SetupScreen)
            plans = app.screen.query_one("#plans", OptionList)
            assert [plans.get_option_at_index(i).id for i in range(plans.option_count)] == [
                "progression",
                "backward-walk-starter",
                "gentle-intro",
            ]
            await pilot.press("enter")  # the simulator (highlighted) -> focus moves to the plans
            await pilot.press("down", "enter")  # the second plan
            await _until(pilot, lambda: isinstance(app.screen, SessionScreen))
            session = sessions[0]
            await _until(pilot, lambda: session.state.phase is Phase.RUNNING)
            assert session.treadmill is not None
            await _until(pilot, lambda: session.treadmill.belt_speed_kmh > 0.5)  # type: ignore[union-attr]
            await pilot.press("space")
            await _until(pilot, lambda: not app.session_running)
        assert requests == [SessionRequest(device=SIM_DEVICE, plan="backward-walk-starter")]
        summary = sessions[0].controller.summary
        assert summary is not None
        assert summary.stop_reason is StopReason.KEY

    clock.run(scenario(), speedup=10.0)
