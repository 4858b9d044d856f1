"""The served view app, driven with Textual's Pilot against a real channel and the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest
from conftest import TOKEN, Served, served_session, socket_path
from doubles import FakeSessionHandle
from textual.pilot import Pilot

from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.serve.channel import ViewChannel
from treadcoach.serve.protocol import Result
from treadcoach.serve.view import ViewApp

pytestmark = pytest.mark.timeout(60)

TABLET = (133, 42)  # 1280x800 at textual-serve's 16 px font
PHONE = (40, 44)  # 390x844


async def _until(app: ViewApp, condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(15):
        while not condition():
            app.updated.clear()
            await app.updated.wait()


async def _button_ready(pilot: Pilot[None], selector: str) -> None:
    """Textual ignores a click on a button still showing its last press (-active, ~0.2 s)."""
    async with asyncio.timeout(5):
        while pilot.app.query_one(selector).has_class("-active"):
            await pilot.pause(0.05)


async def _stopped(served: Served) -> None:
    async with asyncio.timeout(20):
        await served.session
    assert served.stops_written() >= 1
    assert served.treadmill.server.target_speed_kmh == 0.0


async def _running(pilot: Pilot[None], served: Served) -> ViewApp:
    app = pilot.app
    assert isinstance(app, ViewApp)
    await served.wait_moving()
    await _until(
        app, lambda: app.session_state is not None and app.session_state.phase is Phase.RUNNING
    )
    return app


@pytest.mark.parametrize("size", [TABLET, PHONE], ids=["tablet", "phone"])
async def test_a_click_on_the_stop_button_stops_the_simulated_belt(size: tuple[int, int]) -> None:
    async with served_session() as served:
        app = ViewApp(served.path, token="")
        async with app.run_test(size=size) as pilot:
            await _running(pilot, served)
            assert app.shown is not None
            assert app.shown.countdown  # the countdown is on screen
            assert await pilot.click("#stop")
            await _stopped(served)
    stops = [e for e in served.events if e.event == "stop"]
    assert len(stops) == 1


@pytest.mark.parametrize("how", ["click", "key"])
async def test_the_dizzy_button_and_key_stop_the_simulated_belt_as_dizzy(how: str) -> None:
    async with served_session() as served:
        app = ViewApp(served.path, token="")  # no token: a stop is open to anyone
        async with app.run_test(size=PHONE) as pilot:
            await _running(pilot, served)
            if how == "click":
                assert await pilot.click("#dizzy")
            else:
                await pilot.press("d")
            await _stopped(served)
    assert [e.reason for e in served.events if e.event == "stop"] == [StopReason.DIZZY]  # type: ignore[attr-defined]


async def test_the_space_key_stops_the_belt_even_with_a_button_focused() -> None:
    async with served_session() as served:
        app = ViewApp(served.path, token=TOKEN)
        async with app.run_test(size=TABLET) as pilot:
            await _running(pilot, served)
            app.query_one("#pause").focus()
            await pilot.press("space")
            await _stopped(served)
    assert not [w for w in served.treadmill.writes if w.data == b"\x08\x02"]  # never a pause


async def test_the_pause_button_with_a_wrong_token_is_refused_and_the_belt_runs_on() -> None:
    async with served_session() as served:
        app = ViewApp(served.path, token="wrong")
        async with app.run_test(size=TABLET) as pilot:
            await _running(pilot, served)
            assert not app.authorised
            await pilot.click("#pause")
            await _until(app, lambda: app.last_result is not None)
            assert app.last_result == Result("pause", False, "needs the token")
            assert served.controller.state.phase is Phase.RUNNING
            await pilot.click("#stop")
            await _stopped(served)


async def test_the_pause_button_with_the_token_pauses_and_then_resumes() -> None:
    async with served_session() as served:
        app = ViewApp(served.path, token=TOKEN)
        async with app.run_test(size=PHONE) as pilot:
            await _running(pilot, served)
            assert app.authorised
            await pilot.click("#pause")
            await _until(app, lambda: app.shown is not None and app.shown.banner == "PAUSED")
            await _button_ready(pilot, "#pause")
            await pilot.click("#pause")  # now labelled RESUME
            await _until(app, lambda: app.shown is not None and app.shown.tone != "paused")
            await pilot.click("#mute")
            await _until(app, lambda: app.muted)


async def test_two_apps_at_once_both_show_the_session_and_either_can_stop() -> None:
    async with served_session() as served:
        first, second = ViewApp(served.path), ViewApp(served.path)
        async with first.run_test(size=TABLET) as one, second.run_test(size=PHONE) as two:
            await _running(one, served)
            await _running(two, served)
            await two.click("#stop")
            await _stopped(served)
            await _until(first, lambda: first.shown is not None and first.shown.tone == "stopped")


async def test_without_a_session_the_view_says_its_stop_cannot_reach_the_belt() -> None:
    app = ViewApp(socket_path(), token=TOKEN)
    async with app.run_test(size=PHONE) as pilot:
        await _until(
            app, lambda: "cannot reach the session" in str(app.query_one("#status").render())
        )
        assert app.screen.has_class("-lost")
        await pilot.press("space")  # nothing to send to: it says so, and does not crash
        await pilot.pause()
        assert app.is_running


async def test_the_served_view_shows_the_heart_rate_with_the_zone_and_the_straps_trouble() -> None:
    strap = SessionState(
        phase=Phase.RUNNING,
        link=LinkState.CONNECTED,
        plan_name="walk",
        speed_kmh=3.0,
        heart_rate_bpm=136,
        strap_connected=True,
        hr_signal="ok",
        hr_zone_bpm=(115, 130),
        hr_zone_state="above",
    )
    session = FakeSessionHandle(strap)
    channel = ViewChannel(session, socket_path(), token=TOKEN)
    async with asyncio.TaskGroup() as tasks:
        channel_task = tasks.create_task(channel.run())
        await channel.ready.wait()
        app = ViewApp(channel.path, token=TOKEN)
        async with app.run_test(size=PHONE):
            heart = app.query_one("#heart")
            await _until(app, lambda: "136 · zone 115-130 ↑" in str(heart.render()))
            assert heart.display
            session.set_state(replace(strap, hr_signal="stale", hr_holding=True))
            await _until(app, lambda: "HR stale: holding speed" in str(heart.render()))
            assert app.screen.has_class("-hr-alert")
            session.set_state(replace(strap, strap_connected=None, heart_rate_bpm=None))
            await _until(app, lambda: app.screen.has_class("-no-heart"))
            assert not heart.display
        channel_task.cancel()
