"""The app against a scripted session: countdown, banners, cues, and the keys that must always work."""

from __future__ import annotations

from dataclasses import replace

import pytest
from doubles import FakeSessionHandle
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from tui_double import (
    BACKWARD,
    TURN_IN,
    TURN_OUT,
    WARMUP,
    RecordingSpeaker,
    running,
)

from treadcoach.coach.events import SegmentStarted, Summary
from treadcoach.coach.state import LinkState, Phase
from treadcoach.errors import ConfigError
from treadcoach.safety.reasons import StopReason
from treadcoach.tui import Choice, SessionRequest, SetupChoices, TreadcoachApp, TuiSettings
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.screens.setup import SetupScreen
from treadcoach.tui.screens.summary import SummaryScreen
from treadcoach.tui.widgets.countdown import Countdown

FAST = TuiSettings(summary_delay_s=0, quit_wait_s=2.0)

CHOICES = SetupChoices(
    devices=[
        Choice("Simulated treadmill", "sim"),
        Choice("KS-ST A1 (C4:12:..)", "C4:12:34:56:78:9A"),
    ],
    plans=[
        Choice("Backward-walk starter", "backward-walk-starter", "22 min · 3 min backward"),
        Choice("Retro intervals", "retro-intervals"),
    ],
    default_device="sim",
    suggested_plan="retro-intervals",
    suggested_reason="Last time: 2:30 backward, so 3:00 today.",
)


def _banner(app: TreadcoachApp) -> str:
    screen = app.screen
    assert isinstance(screen, SessionScreen)
    assert screen.view is not None
    return screen.view.banner


def _countdown(app: TreadcoachApp) -> str:
    return app.screen.query_one(Countdown).value


async def _settle(pilot: Pilot[object]) -> None:
    await pilot.pause()
    await pilot.pause()


async def test_countdown_follows_the_session_state() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=125.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert _countdown(app) == "02:05"
        shown = []
        for remaining in (124.2, 123.9, 60.0, 0.5):
            session.set_state(running(BACKWARD, TURN_OUT, remaining=remaining))
            await _settle(pilot)
            shown.append(_countdown(app))
        assert shown == ["02:05", "02:04", "01:00", "00:01"]


async def test_the_tick_repaints_a_state_that_changed_without_an_event() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=125.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        session.set_state_quietly(running(BACKWARD, TURN_OUT, remaining=42.0))
        for _ in range(40):  # the tick is 5 Hz; give it up to 2 s
            await pilot.pause(0.05)
            if _countdown(app) == "00:42":
                break
        assert _countdown(app) == "00:42"


async def test_backward_segment_is_preceded_by_its_turnaround_banner() -> None:
    timeline = [
        running(WARMUP, TURN_IN, remaining=2.0),
        running(TURN_IN, BACKWARD, remaining=7.0),
        running(TURN_IN, BACKWARD, remaining=5.0, turnaround_countdown_s=5),
        running(TURN_IN, BACKWARD, remaining=3.5, turnaround_countdown_s=4),
        running(TURN_IN, BACKWARD, remaining=0.5, turnaround_countdown_s=1),
        running(BACKWARD, TURN_OUT, remaining=150.0),
    ]
    session = FakeSessionHandle(timeline[0])
    speaker = RecordingSpeaker()
    app = TreadcoachApp(session=session, settings=FAST, speaker=speaker)
    async with app.run_test(size=(80, 24)) as pilot:
        banners = []
        tones = []
        for state in timeline:
            seg = state.segment
            assert seg is not None
            session.set_state(
                state,
                event=SegmentStarted(
                    t=0,
                    index=seg.index,
                    kind=seg.kind,
                    target_kmh=seg.target_kmh,
                    duration_s=seg.duration_s,
                ),
            )
            await _settle(pilot)
            banners.append(_banner(app))
            tones.append(sorted(app.screen.classes))
        assert banners == [
            "WARM-UP",
            "SLOWING — GET READY TO TURN",
            "TURN AROUND IN 5",
            "TURN AROUND IN 4",
            "TURN AROUND IN 1",
            "BACKWARD WALK",
        ]
        assert tones[1] == tones[2] == ["-turnaround"]
        assert tones[-1] == ["-backward"]
        assert "Backward walk, 2 minutes 30." in speaker.texts


@pytest.mark.parametrize("key", ["space", "ctrl+c"])
async def test_stop_key_on_the_session_screen_stops_and_shows_why(key: str) -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    speaker = RecordingSpeaker()
    settings = replace(FAST, summary_delay_s=30)
    app = TreadcoachApp(session=session, settings=settings, speaker=speaker)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        await _settle(pilot)
        assert session.calls == [("stop", StopReason.KEY, "")]
        assert _banner(app) == "STOPPED — STOP KEY"
        assert "-stopped" in app.screen.classes
        assert speaker.said[-1].kind == "stop"


async def test_a_configured_stop_key_replaces_space() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    settings = replace(FAST, stop_key="f5")
    app = TreadcoachApp(session=session, settings=settings, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        await _settle(pilot)
        assert session.calls == []
        await pilot.press("f5")
        await _settle(pilot)
        assert session.calls == [("stop", StopReason.KEY, "")]


async def test_the_dizzy_key_stops_the_belt_as_dizzy_and_says_so() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    settings = replace(FAST, summary_delay_s=30)
    app = TreadcoachApp(session=session, settings=settings, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        keys = str(app.screen.query_one("#status-keys", Static).render())
        assert "D dizzy" in keys
        await pilot.press("d")
        await _settle(pilot)
        assert session.calls == [("stop", StopReason.DIZZY, "dizzy key")]
        assert _banner(app) == "STOPPED — YOU SAID YOU FELT DIZZY"


async def test_the_dizzy_key_while_an_ordinary_stop_runs_down_upgrades_it() -> None:
    # The stop is under way (the session has not returned): "d" still reaches the session, so
    # the controller can record the stop as dizzy.
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0), stop_takes_s=30)
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        await _settle(pilot)
        await pilot.press("D")  # caps lock on
        await _settle(pilot)
        assert session.calls == [
            ("stop", StopReason.KEY, ""),
            ("stop", StopReason.DIZZY, "dizzy key"),
        ]


@pytest.mark.parametrize(("stop_key", "pause_key"), [("d", "p"), ("space", "d")])
async def test_a_stop_or_pause_key_set_to_d_keeps_its_meaning(
    stop_key: str, pause_key: str
) -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    settings = replace(FAST, stop_key=stop_key, pause_key=pause_key, summary_delay_s=30)
    app = TreadcoachApp(session=session, settings=settings, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        assert "dizzy" not in str(app.screen.query_one("#status-keys", Static).render())
        await pilot.press("d")
        await _settle(pilot)
        assert session.calls[0][:2] in {("stop", StopReason.KEY), ("pause", StopReason.KEY)}


async def test_stop_key_with_an_input_focused_on_setup_stops_and_types_nothing() -> None:
    # A finished session, then "n" back to setup: the stop key still reaches the session.
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(
        session=session,
        setup=CHOICES,
        session_factory=lambda request: FakeSessionHandle(),
        settings=FAST,
        speaker=RecordingSpeaker(),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(Summary(t=60, completed=True, plan="starter"))
        await _settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        await pilot.press("n")
        await _settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        field = app.screen.query_one("#plan-file", Input)
        field.focus()
        await pilot.press("a", "space", "b")
        await _settle(pilot)
        assert app.focused is field
        assert field.value == "ab"
        assert session.calls == [("stop", StopReason.KEY, "")]


async def test_stop_key_with_nothing_running_types_nothing_and_says_so() -> None:
    app = TreadcoachApp(
        setup=CHOICES,
        session_factory=lambda r: FakeSessionHandle(),
        settings=FAST,
        speaker=RecordingSpeaker(),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.screen.query_one("#plan-file", Input)
        field.focus()
        await pilot.press("space")
        await _settle(pilot)
        assert field.value == ""
        assert any(
            "nothing" in str(n.message) or "no belt" in str(n.message) for n in app._notifications
        )
        # with no session the dizzy key is an ordinary key: it types
        await pilot.press("d")
        await _settle(pilot)
        assert field.value == "d"


async def test_stop_key_on_the_summary_with_the_table_focused_reaches_the_session() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(
            Summary(t=60, completed=True, plan="starter", planned_backward_s=180, backward_s=180)
        )
        await _settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        assert isinstance(app.focused, DataTable)
        await pilot.press("space")
        await _settle(pilot)
        assert session.calls == [("stop", StopReason.KEY, "")]


async def test_setup_pick_starts_the_session_the_factory_built() -> None:
    built: list[SessionRequest] = []
    started = FakeSessionHandle(running(WARMUP, TURN_IN, remaining=300.0))

    def factory(request: SessionRequest) -> FakeSessionHandle:
        built.append(request)
        return started

    app = TreadcoachApp(
        setup=CHOICES, session_factory=factory, settings=FAST, speaker=RecordingSpeaker()
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await pilot.click("#start")
        await _settle(pilot)
        assert built == [SessionRequest(device="sim", plan="retro-intervals")]
        assert isinstance(app.screen, SessionScreen)
        assert _countdown(app) == "05:00"
        await pilot.press("space")
        await _settle(pilot)
        assert started.calls == [("stop", StopReason.KEY, "")]


async def test_quitting_stops_the_belt_first_and_waits_for_the_stop() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0), stop_takes_s=0.2)
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause(1.0)
    assert session.calls == [("stop", StopReason.QUIT, "")]
    # run() returned its summary: the app waited for the stop rather than cancelling the session
    assert session.run_returned
    assert not session.run_cancelled
    assert isinstance(app.return_value, Summary)
    assert app.return_value.stop_reason is StopReason.QUIT


async def test_q_quits_too_but_types_into_a_focused_input() -> None:
    app = TreadcoachApp(
        setup=CHOICES,
        session_factory=lambda r: FakeSessionHandle(),
        settings=FAST,
        speaker=RecordingSpeaker(),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.screen.query_one("#plan-file", Input)
        field.focus()
        await pilot.press("q", "p")
        await _settle(pilot)
        assert field.value == "qp"
        assert app.is_running


async def test_pause_key_pauses_then_resumes() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await _settle(pilot)
        assert _banner(app) == "PAUSED"
        await pilot.press("p")
        await _settle(pilot)
    assert session.calls == [("pause", StopReason.KEY), ("resume", StopReason.KEY)]


async def test_take_control_key_asks_only_after_the_console_took_control() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")  # we have control: nothing to take back
        await _settle(pilot)
        assert session.calls == []
        session.set_state(replace(session.state, link=LinkState.NO_CONTROL, phase=Phase.PAUSED))
        await _settle(pilot)
        await pilot.press("c")
        await _settle(pilot)
    assert session.calls == [("control_back",)]


async def test_mute_key_silences_cues() -> None:
    session = FakeSessionHandle(running(WARMUP, TURN_IN, remaining=10.0))
    speaker = RecordingSpeaker()
    app = TreadcoachApp(session=session, settings=FAST, speaker=speaker)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        await _settle(pilot)
        session.set_state(running(WARMUP, TURN_IN, remaining=2.5))
        await _settle(pilot)
        assert speaker.said == []
        assert speaker.hushed == 1
        await pilot.press("m")
        session.set_state(running(WARMUP, TURN_IN, remaining=1.5))
        await _settle(pilot)
        assert speaker.texts == ["2"]


async def test_mph_user_reads_mph() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0, speed_kmh=4.83))
    app = TreadcoachApp(
        session=session, settings=replace(FAST, units="mph"), speaker=RecordingSpeaker()
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        assert screen.view is not None
        assert (screen.view.target, screen.view.actual) == ("2.0 mph", "3.0 mph")
        rendered = str(screen.query_one("#target").render())
        assert "2.0 mph" in rendered


@pytest.mark.parametrize("size", [(60, 18), (80, 24), (160, 48)])
async def test_the_heart_readout_shows_the_zone_then_the_straps_trouble(
    size: tuple[int, int],
) -> None:
    strap = running(
        BACKWARD,
        TURN_OUT,
        remaining=90.0,
        heart_rate_bpm=136,
        strap_connected=True,
        hr_signal="ok",
        hr_zone_bpm=(115, 130),
        hr_zone_state="above",
    )
    session = FakeSessionHandle(strap)
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=size) as pilot:
        await _settle(pilot)
        screen = app.screen
        heart = screen.query_one("#heart", Static)
        assert heart.display
        assert "136 · zone 115-130 ↑" in str(heart.render())
        banner, countdown = _banner(app), _countdown(app)
        session.set_state(replace(strap, hr_signal="stale", hr_holding=True))
        await _settle(pilot)
        # the whole note is on screen (not cut), in the alert colour
        assert "HR stale: holding speed" in str(heart.render())
        assert heart.content_size.width >= len("HR stale: holding speed")
        assert "-hr-alert" in screen.classes
        assert (_banner(app), _countdown(app)) == (banner, countdown)
        session.set_state(replace(strap, strap_connected=False))
        await _settle(pilot)
        assert "strap reconnecting" in str(heart.render())


async def test_without_a_strap_or_a_belt_pulse_no_heart_readout_is_shown() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0, heart_rate_bpm=None))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert not app.screen.query_one("#heart", Static).display
        session.set_state(replace(session.state, heart_rate_bpm=97))  # the belt reports one
        await _settle(pilot)
        heart = app.screen.query_one("#heart", Static)
        assert heart.display
        assert "97 bpm" in str(heart.render())


async def test_finished_plan_shows_planned_against_done() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=1.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        session.set_state(
            replace(session.state, phase=Phase.FINISHED, stop_reason=StopReason.PLAN_END)
        )
        session.finish(
            Summary(
                t=1300,
                completed=True,
                plan="backward-walk starter",
                duration_s=1300,
                distance_m=2100,
                planned_backward_s=180,
                backward_s=175,
                stop_reason=StopReason.PLAN_END,
            )
        )
        await _settle(pilot)
        assert isinstance(app.screen, SummaryScreen)
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert ["Backward time", "03:00", "02:55"] in rows
        assert ["Distance", "", "2.10 km"] in rows


def test_the_app_needs_something_to_show() -> None:
    with pytest.raises(ValueError, match="needs a session"):
        TreadcoachApp()


def test_setting_the_same_key_twice_is_refused_with_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must differ"):
        TuiSettings(stop_key="p")
    with pytest.raises(ConfigError, match=r"inputs.pause_key: 'q' is taken \(quit\)"):
        TuiSettings(pause_key="q")


async def test_the_session_starts_by_saying_which_voice_the_cues_use() -> None:
    session = FakeSessionHandle(running(WARMUP, TURN_IN, remaining=100.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert [n.message for n in app._notifications] == ["cues: recorded by the test"]
