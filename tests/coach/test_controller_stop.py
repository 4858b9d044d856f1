"""The stop path of the controller (issue 12 c, g, l and the link's belt_stopped_on_exit).

An explicit user stop (key, pedal, MQTT, signal) after 0xFF still stops the belt (the link asks
for control to send Stop); a machine that refuses is said out loud. ``request_stop`` hands Stop to
the link in the caller's loop turn. A stop while connecting or pausing ends STOPPED.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from controller_rig import (
    SET_SPEED,
    START,
    RecordingClient,
    SimTreadmill,
    console_keeps_control,
    hold_config,
    run_session,
)

from treadcoach.coach.controller import SessionController
from treadcoach.coach.state import Phase
from treadcoach.link import TreadmillLink
from treadcoach.safety.reasons import StopReason

STOP_WRITE = b"\x08\x01"
PAUSE_WRITE = b"\x08\x02"

USER_STOPS = [
    StopReason.KEY,
    StopReason.PEDAL,
    StopReason.MQTT,
    StopReason.SIGTERM,
    StopReason.DIZZY,
]


@pytest.mark.parametrize("reason", USER_STOPS)
def test_a_user_stop_after_the_console_took_control_stops_the_belt(reason: StopReason) -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(100)  # control was lost at 80 s, mid backward walk
        assert treadmill.belt_speed_kmh > 3.0
        controller.request_stop(reason, "stop pressed")

    run = run_session(faults=("control_lost@80",), config=hold_config(), during=scenario)
    assert run.stop.reason is reason
    assert run.belt_target_kmh == 0.0
    assert run.belt_speed_kmh == 0.0
    assert "stop_refused" not in run.faults()


def test_a_stop_the_machine_refuses_says_the_belt_may_still_be_running() -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(90)  # control was lost at 80 s; the console holds on to it
        console_keeps_control(treadmill)
        await asyncio.sleep(10)
        controller.request_stop(StopReason.KEY, "space pressed")

    run = run_session(faults=("control_lost@80",), config=hold_config(), during=scenario)
    assert run.belt_speed_kmh is not None
    assert run.belt_speed_kmh > 3.0  # the belt really is still running
    assert "stop_refused" in run.faults()
    loud = [c.text for c in run.cues("stop")]
    assert any("use the treadmill's stop button" in text for text in loud), loud
    assert run.controller is not None
    assert "may still be running" in run.controller.state.stop_detail
    assert run.summary is not None
    assert run.summary.belt_may_be_running
    assert not run.summary.completed


class SpyLink(TreadmillLink):
    """The real link, noting each stop() call (take_control) as it is made."""

    stops: list[bool] = []

    def stop(self, *, take_control: bool = False, **kwargs: Any) -> asyncio.Future[None]:
        SpyLink.stops.append(take_control)
        return super().stop(take_control=take_control, **kwargs)


def test_a_stop_in_the_same_turn_as_a_speed_request_is_written_first_and_the_speed_never() -> None:
    SpyLink.stops = []

    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(30.3)  # warm-up at 4 km/h, between governor ticks
        controller.request_speed(2.0, StopReason.KEY)
        controller.request_stop(StopReason.KEY, "space pressed")
        # in the same loop turn: the link has the Stop (its epoch moved, the write scheduled)
        assert SpyLink.stops == [True]

    run = run_session(during=scenario, link_class=SpyLink)
    assert run.stop.reason is StopReason.KEY
    stop_at = next(w.t for w in run.writes if w.data[:2] == STOP_WRITE)
    assert not [w for w in run.writes if w.opcode == SET_SPEED and w.t >= stop_at]
    assert not run.speeds_after(30.0)  # not the 2 km/h asked for, nor anything else
    assert SpyLink.stops == [True]  # once: the link owns the retries


def test_a_stop_while_connecting_ends_stopped_with_no_segment_announced() -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        controller.request_stop(StopReason.KEY, "space pressed while connecting")

    run = run_session(during=scenario)
    assert run.stop.reason is StopReason.KEY
    assert not run.of("segment")
    assert "error" not in run.faults()
    assert run.controller is not None
    assert run.controller.state.phase is Phase.STOPPED
    assert not [w for w in run.writes if w.opcode in (START, SET_SPEED)]
    assert run.belt_speed_kmh == 0.0


def test_pause_then_stop_ends_stopped_with_no_paused_cue_after_the_stop() -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(30)
        controller.request_pause(StopReason.KEY)
        while not any(data[:2] == PAUSE_WRITE for _, data in RecordingClient.log):  # noqa: ASYNC110
            await asyncio.sleep(0)  # the Pause is on the wire, its answer not back yet
        controller.request_stop(StopReason.KEY, "space pressed")

    run = run_session(during=scenario)
    assert run.stop.reason is StopReason.KEY
    stop_at = run.events.index(run.stop)
    assert not [c for c in run.cues() if run.events.index(c) > stop_at and "Paused" in c.text]
    assert run.controller is not None
    assert run.controller.state.phase is Phase.STOPPED
    assert run.belt_target_kmh == 0.0


class UnsureLink(TreadmillLink):
    """A link that could not confirm the belt stopped when it closed."""

    async def __aexit__(self, *exc_info: Any) -> None:
        await super().__aexit__(*exc_info)
        self.belt_stopped_on_exit = False


def test_a_link_that_could_not_confirm_standstill_on_exit_says_the_belt_may_be_running() -> None:
    run = run_session(link_class=UnsureLink)
    assert "belt_may_be_running" in run.faults()
    assert run.summary is not None
    assert run.summary.belt_may_be_running


def test_a_refused_stop_is_spoken_after_the_stop_announcement() -> None:
    # The walker faces away from the screen: the TUI's speech must carry the warning too.
    from treadcoach.tui.cues import CuePlanner

    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(90)
        console_keeps_control(treadmill)
        await asyncio.sleep(10)
        controller.request_stop(StopReason.KEY, "space pressed")

    run = run_session(faults=("control_lost@80",), config=hold_config(), during=scenario)
    planner = CuePlanner()
    said = [u.text for event in run.events for u in planner.on_event(event)]
    assert any("use the treadmill's stop button" in text for text in said), said


class SilentStopLink(TreadmillLink):
    """A link whose Stop never gets an answer (a hung write, a lost indication forever)."""

    def stop(self, *, take_control: bool = False, **kwargs: Any) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()


@pytest.mark.timeout(30)
def test_a_stop_that_never_gets_an_answer_ends_the_session_and_says_so() -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(30)
        controller.request_stop(StopReason.KEY, "space pressed")

    run = run_session(during=scenario, link_class=SilentStopLink)
    assert run.stop.reason is StopReason.KEY
    assert "stop_failed" in run.faults()
    assert run.summary is not None
    assert run.summary.belt_may_be_running
