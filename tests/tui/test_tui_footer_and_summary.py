"""The footer says which keys work right now; the summary says planned against done and whether
it was saved; the safety sentence is never cut; a big terminal gets a big summary."""

from __future__ import annotations

from dataclasses import replace

from doubles import FakeSessionHandle
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from tui_double import BACKWARD, TURN_OUT, WARMUP, RecordingSpeaker, running

from treadcoach.coach.events import Fault, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.library import find_plan
from treadcoach.coach.schedule import expand
from treadcoach.coach.state import LinkState, Phase
from treadcoach.safety.reasons import StopReason
from treadcoach.tui import TreadcoachApp, TuiSettings
from treadcoach.tui.screens.summary import SummaryScreen

FAST = TuiSettings(summary_delay_s=0, quit_wait_s=2.0, handle_signals=False)


async def _settle(pilot: Pilot[object]) -> None:
    await pilot.pause()
    await pilot.pause()


def _text(app: TreadcoachApp, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render())


def _shown(widget: Static) -> str:
    """The text as drawn in the widget's own cells (so a cut-off line is cut here too)."""
    width, height = widget.outer_size
    lines = widget.render_lines(Region(0, 0, width, height))
    return " ".join(" ".join(strip.text.split()) for strip in lines)


async def test_the_footer_offers_the_keys_that_work_now() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(100, 24)) as pilot:
        await _settle(pilot)
        keys = _text(app, "#status-keys")
        assert "P pause" in keys
        assert "Q/ctrl+q quit" in keys
        assert "take control" not in keys
        await pilot.press("p")
        await _settle(pilot)
        assert "P resume" in _text(app, "#status-keys")
        session.set_state(replace(session.state, link=LinkState.NO_CONTROL, phase=Phase.PAUSED))
        await _settle(pilot)
        assert "C take control" in _text(app, "#status-keys")


async def test_a_journal_fault_shows_not_saved_on_the_screen_and_the_summary() -> None:
    session = FakeSessionHandle(running(WARMUP, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        assert not app.screen.has_class("-not-saved")
        session.emit(Fault(t=3.0, kind="journal", detail="disk full"))
        await _settle(pilot)
        assert app.screen.has_class("-not-saved")
        await pilot.press("space")
        for _ in range(200):  # up to 10 s on a loaded box; the summary usually shows at once
            await pilot.pause(0.05)
            if isinstance(app.screen, SummaryScreen):
                break
        assert isinstance(app.screen, SummaryScreen)
        assert app.screen.has_class("-not-saved")
        rows = _rows(app)
        assert rows["History"][1].startswith("NOT SAVED")


def _rows(app: TreadcoachApp) -> dict[str, tuple[str, str]]:
    table = app.screen.query_one(DataTable)
    rows = {}
    for index in range(table.row_count):
        what, planned, done = (str(c) for c in table.get_row_at(index))
        rows[what] = (planned, done)
    return rows


class FactsSession(FakeSessionHandle):
    """A scripted session that also knows its plan's totals and its journal id."""

    planned_duration_s = 600.0
    planned_distance_m = 700.0
    saved_as: int | None = 42
    recording = True


async def test_the_summary_says_planned_and_done_speed_heart_rate_and_where_it_was_saved() -> None:
    session = FactsSession(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        for bpm in (110, 120, 130):
            session.emit(Telemetry(t=1.0, speed_kmh=3.0, distance_m=10.0, heart_rate_bpm=bpm))
        await _settle(pilot)
        session.finish(
            Summary(
                t=300.0,
                completed=False,
                plan="backward-walk-starter",
                duration_s=300.0,
                distance_m=250.0,
                planned_backward_s=120.0,
                backward_s=60.0,
                backward_distance_m=40.0,
                stop_reason=StopReason.KEY,
            )
        )
        for _ in range(200):  # up to 10 s on a loaded box; the summary usually shows at once
            await pilot.pause(0.05)
            if isinstance(app.screen, SummaryScreen):
                break
        rows = _rows(app)
    assert rows["Time"] == ("10:00", "05:00")
    assert rows["Distance"] == ("700 m", "250 m")
    assert rows["Average speed"] == ("", "3.0 km/h")
    assert rows["Heart rate"] == ("", "120 bpm average, 130 max")
    assert rows["History"] == ("", "saved as session 42")


SAFETY = "Stop immediately if dizzy or strained."


async def test_the_backward_walk_safety_sentence_is_never_cut_at_60x18() -> None:
    steps = expand(find_plan("backward-walk-starter"))
    cue = next(s.cue for s in steps if s.kind is SegmentKind.BACKWARD_WALK)
    assert cue.endswith(SAFETY)
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0, cue=cue))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(60, 18)) as pilot:
        await _settle(pilot)
        widget = app.screen.query_one("#cue", Static)
        assert SAFETY in _shown(widget)
        # and all of it is on the screen, above the footer
        assert widget.region.bottom <= 18 - 1
        assert app.screen.query_one("#countdown").region.height >= 3


async def test_the_summary_fills_a_big_terminal() -> None:
    session = FakeSessionHandle(running(BACKWARD, TURN_OUT, remaining=90.0))
    app = TreadcoachApp(session=session, settings=FAST, speaker=RecordingSpeaker())
    async with app.run_test(size=(200, 60)) as pilot:
        await _settle(pilot)
        await pilot.press("space")
        for _ in range(200):  # up to 10 s on a loaded box; the summary usually shows at once
            await pilot.pause(0.05)
            if isinstance(app.screen, SummaryScreen):
                break
        await _settle(pilot)
        box = app.screen.query_one("#summary-box").region
        table = app.screen.query_one(DataTable).region
    # centred both ways, and wide: not a small block in the top-left corner
    assert box.width >= 100
    assert abs(box.x - (200 - box.right)) <= 2
    assert box.y >= 10
    assert abs(box.y - (60 - box.bottom)) <= 2
    assert table.width >= 90
