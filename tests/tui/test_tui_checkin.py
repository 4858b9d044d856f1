"""The after-session check-in screen: RPE and pain, skippable, validated, saved once, never early."""

from __future__ import annotations

from dataclasses import replace

import pytest
from doubles import FakeSessionHandle
from textual.pilot import Pilot
from textual.widgets import Static
from tui_double import BACKWARD, TURN_OUT, RecordingSpeaker, running

from treadcoach.coach.events import Summary
from treadcoach.errors import JournalUnreadable
from treadcoach.history.checkin import CheckIn
from treadcoach.safety.reasons import StopReason
from treadcoach.tui import TreadcoachApp, TuiSettings
from treadcoach.tui.screens.checkin import CheckInScreen, NumberInput
from treadcoach.tui.screens.session import SessionScreen
from treadcoach.tui.screens.summary import SummaryScreen

FAST = TuiSettings(summary_delay_s=0, quit_wait_s=2.0, handle_signals=False)
SUMMARY = Summary(t=300, completed=True, plan="starter", duration_s=300, distance_m=250)


class Saved:
    """The app's ``save_checkin``: records each call; raises ``error`` if set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[CheckIn] = []
        self.error = error

    def __call__(self, checkin: CheckIn) -> None:
        self.calls.append(checkin)
        if self.error is not None:
            raise self.error


async def _until(pilot: Pilot[object], condition: object, tries: int = 200) -> None:
    for _ in range(tries):  # up to 10 s on a loaded box; usually at once
        if callable(condition) and condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


async def _checkin_up(pilot: Pilot[object]) -> CheckInScreen:
    await _until(pilot, lambda: isinstance(pilot.app.screen, CheckInScreen))
    screen = pilot.app.screen
    assert isinstance(screen, CheckInScreen)
    return screen


def _app(session: FakeSessionHandle, saved: Saved | None, **settings: object) -> TreadcoachApp:
    return TreadcoachApp(
        session=session,
        settings=replace(FAST, **settings),  # type: ignore[arg-type]
        speaker=RecordingSpeaker(),
        save_checkin=saved,
    )


def _text(screen: CheckInScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_after_the_summary_it_asks_rpe_then_pain_and_saves_once() -> None:
    session, saved = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0)), Saved()
    app = _app(session, saved)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        screen = await _checkin_up(pilot)
        # over the summary, which is there underneath
        assert isinstance(app.screen_stack[-2], SummaryScreen)
        assert screen.asking == "rpe"
        await pilot.press("1", "3", "enter")
        assert screen.asking == "pain"
        await pilot.press("2", "enter")
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert saved.calls == [CheckIn(rpe=13, pain=2)]
        assert app.checkin == CheckIn(rpe=13, pain=2)
        assert any("Check-in saved" in n.message for n in app._notifications)


async def test_the_rpe_scale_shows_borgs_anchor_words() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = _app(session, Saved())
    async with app.run_test(size=(80, 30)) as pilot:
        session.finish(SUMMARY)
        screen = await _checkin_up(pilot)
        shown = " ".join(str(w.render()) for w in screen.query(".scale"))
        for anchor in [
            "6 no exertion",
            "9 very light",
            "11 light",
            "13 somewhat hard",
            "15 hard",
            "17 very hard",
            "19 extremely hard",
            "20 maximal",
            "0 no pain",
            "10 worst imaginable",
        ]:
            assert anchor in shown


@pytest.mark.parametrize(
    ("keys", "checkin"),
    [
        (["escape", "3", "enter"], CheckIn(rpe=None, pain=3)),  # RPE skipped with Esc
        (["enter", "0", "enter"], CheckIn(rpe=None, pain=0)),  # ... or with an empty Enter
        (["1", "5", "enter", "escape"], CheckIn(rpe=15, pain=None)),  # pain skipped
        (["6", "enter", "1", "0", "enter"], CheckIn(rpe=6, pain=10)),  # the scales' ends
    ],
)
async def test_either_answer_may_be_skipped(keys: list[str], checkin: CheckIn) -> None:
    session, saved = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0)), Saved()
    app = _app(session, saved)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        await _checkin_up(pilot)
        await pilot.press(*keys)
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
    assert saved.calls == [checkin]


@pytest.mark.parametrize("skip", [["enter", "enter"], ["escape", "escape"]])
async def test_both_skipped_saves_nothing(skip: list[str]) -> None:
    session, saved = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0)), Saved()
    app = _app(session, saved)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        await _checkin_up(pilot)
        await pilot.press(*skip)
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
    assert saved.calls == []


async def test_an_answer_off_the_scale_is_refused_inline_and_asked_again() -> None:
    session, saved = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0)), Saved()
    app = _app(session, saved)
    async with app.run_test(size=(80, 30)) as pilot:
        session.finish(SUMMARY)
        screen = await _checkin_up(pilot)
        await pilot.press("2", "5", "enter")
        assert screen.asking == "rpe"
        assert "RPE must be a whole number from 6 to 20" in _text(screen, "#rpe-error")
        rpe = screen.query_one("#rpe", NumberInput)
        rpe.value = ""
        await pilot.press("5", "enter")
        assert screen.asking == "rpe"
        assert "not 5" in _text(screen, "#rpe-error")
        rpe.value = ""
        await pilot.press("1", "2", "enter")
        assert screen.asking == "pain"
        assert _text(screen, "#rpe-error") == ""
        await pilot.press("1", "1", "enter")
        assert "pain must be a whole number from 0 to 10" in _text(screen, "#pain-error")
        screen.query_one("#pain", NumberInput).value = ""
        await pilot.press("4", "enter")
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
    assert saved.calls == [CheckIn(rpe=12, pain=4)]


async def test_letters_do_not_type_into_the_answers() -> None:
    session, saved = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0)), Saved()
    app = _app(session, saved)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        screen = await _checkin_up(pilot)
        await pilot.press("x", "1", "space", "d", "4")
        assert screen.query_one("#rpe", NumberInput).value == "14"


async def test_a_history_error_is_shown_not_raised() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    saved = Saved(JournalUnreadable("/tmp/history.sqlite", "the disk is full"))
    app = _app(session, saved)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        await _checkin_up(pilot)
        await pilot.press("1", "3", "enter", "enter")
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert app.is_running
        assert saved.calls == [CheckIn(rpe=13, pain=None)]
        assert app.checkin is None
        assert app.checkin_error is not None
        assert "the disk is full" in app.checkin_error
        assert any("the disk is full" in n.message for n in app._notifications)
    assert app.failure is None


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_quitting_works_from_the_checkin(key: str) -> None:
    session, saved = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0)), Saved()
    app = _app(session, saved)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        await _checkin_up(pilot)
        await pilot.press(key)
        await _until(pilot, lambda: not app.is_running)
    assert saved.calls == []
    assert app.return_value == SUMMARY


async def test_never_before_the_session_has_stopped_the_belt() -> None:
    # The stop is under way for a while (the belt runs down): no check-in until run() returns.
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0), stop_takes_s=0.5)
    app = _app(session, Saved())
    seen: list[type] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        while app.session_running:
            seen.append(type(app.screen))
            await pilot.pause(0.02)
        await _checkin_up(pilot)
    assert session.calls == [("stop", StopReason.KEY, "")]
    assert seen  # it was watched while the belt ran down
    assert set(seen) == {SessionScreen}


async def test_no_checkin_while_the_belt_may_still_be_running() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = _app(session, Saved())
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY.model_copy(update={"completed": False, "belt_may_be_running": True}))
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        for _ in range(5):
            await pilot.pause(0.02)
        assert isinstance(app.screen, SummaryScreen)


async def test_without_save_checkin_there_is_no_checkin() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = _app(session, None)
    async with app.run_test(size=(80, 24)) as pilot:
        session.finish(SUMMARY)
        await _until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        for _ in range(5):
            await pilot.pause(0.02)
        assert isinstance(app.screen, SummaryScreen)
