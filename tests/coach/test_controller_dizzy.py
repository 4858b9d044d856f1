"""The dizzy stop (issue 16; CONTRACTS "dizzy stop inputs"): a user stop with its own words, and
one that upgrades an ordinary user stop already under way (a pedal held down after its press
stopped the belt) without a second stop path."""

from __future__ import annotations

import asyncio

from controller_rig import Run, SimTreadmill, run_session

from treadcoach.coach.announce import DIZZY_CUE
from treadcoach.coach.controller import SessionController
from treadcoach.coach.events import Event, Stop
from treadcoach.safety.reasons import StopReason

STOP_WRITE = b"\x08\x01"


def stops_at(*requests: tuple[float, StopReason, str]) -> Run:
    """A session where each (t, reason, detail) is a request_stop at session time t (equal
    times: in the same loop turn)."""

    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        now = 0.0
        for at, reason, detail in requests:
            if at > now:
                await asyncio.sleep(at - now)
                now = at
            controller.request_stop(reason, detail)

    return run_session(during=scenario)


def stop_writes(run: Run) -> int:
    return sum(1 for w in run.writes if w.data == STOP_WRITE)


def test_a_dizzy_stop_stops_the_belt_and_says_what_to_do() -> None:
    run = stops_at((30.0, StopReason.DIZZY, "dizzy key"))
    assert run.stop.reason is StopReason.DIZZY
    assert run.summary is not None
    assert run.summary.stop_reason is StopReason.DIZZY
    assert [c.text for c in run.cues("stop")] == [DIZZY_CUE]
    assert DIZZY_CUE == (
        "Dizzy: stopping the belt. Hold the rails and step off to the side when it stops."
    )
    assert run.belt_speed_kmh == 0.0


def test_a_dizzy_stop_during_a_user_stop_replaces_the_recorded_reason() -> None:
    # the pedal's press stops the belt at 30 s; held 1.5 s, it says dizzy
    run = stops_at((30.0, StopReason.PEDAL, "pedal"), (31.5, StopReason.DIZZY, "pedal held"))
    assert [(s.reason, s.detail) for s in run.of("stop")] == [
        (StopReason.PEDAL, "pedal"),
        (StopReason.DIZZY, "pedal held"),
    ]
    assert run.summary is not None
    assert run.summary.stop_reason is StopReason.DIZZY
    assert DIZZY_CUE in [c.text for c in run.cues("stop")]
    assert run.controller is not None
    assert run.controller.state.stop_reason is StopReason.DIZZY
    # no more Stop writes than any second stop request makes
    twice = stops_at((30.0, StopReason.PEDAL, "pedal"), (31.5, StopReason.PEDAL, "pedal"))
    assert stop_writes(run) == stop_writes(twice)
    assert run.belt_speed_kmh == 0.0


def test_a_dizzy_stop_in_the_same_turn_as_a_key_stop_is_said_once_as_dizzy() -> None:
    run = stops_at((30.0, StopReason.KEY, "stop key"), (30.0, StopReason.DIZZY, "dizzy key"))
    assert run.stop.reason is StopReason.DIZZY
    assert [c.text for c in run.cues("stop")] == [DIZZY_CUE]


def dizzy_stops(run: Run) -> list[Stop]:
    return [s for s in run.of("stop") if s.reason is StopReason.DIZZY]


def test_a_dizzy_stop_after_a_fault_stop_keeps_the_fault_as_the_reason() -> None:
    # the fault is what ended the session; the summary (and the screen's reason) say so
    run = stops_at((30.0, StopReason.OVERSPEED, "too fast"), (31.0, StopReason.DIZZY, ""))
    assert run.of("stop")[0].reason is StopReason.OVERSPEED
    assert run.summary is not None
    assert run.summary.stop_reason is StopReason.OVERSPEED
    assert run.controller is not None
    assert run.controller.state.stop_reason is StopReason.OVERSPEED
    assert "dizzy" in run.controller.state.stop_detail


def test_a_dizzy_stop_during_a_fault_stop_is_recorded_as_its_own_stop_and_spoken() -> None:
    run = stops_at((30.0, StopReason.OVERSPEED, "too fast"), (31.0, StopReason.DIZZY, "dizzy key"))
    assert [s.reason for s in run.of("stop")] == [StopReason.OVERSPEED, StopReason.DIZZY]
    (dizzy,) = dizzy_stops(run)
    assert "overspeed" in dizzy.detail  # what was already stopping the belt
    assert "dizzy key" in dizzy.detail
    assert [c.text for c in run.cues("stop")].count(DIZZY_CUE) == 1
    # the dizzy press writes what any user stop pressed during a fault stop writes, no more
    key = stops_at((30.0, StopReason.OVERSPEED, "too fast"), (31.0, StopReason.KEY, "stop key"))
    assert [(w.t, w.data) for w in run.writes] == [(w.t, w.data) for w in key.writes]
    assert run.belt_speed_kmh == 0.0


def test_a_dizzy_stop_pressed_twice_during_a_fault_stop_is_recorded_and_spoken_once() -> None:
    run = stops_at(
        (30.0, StopReason.OVERSPEED, "too fast"),
        (31.0, StopReason.DIZZY, "dizzy key"),
        (31.5, StopReason.DIZZY, "pedal held"),
    )
    assert len(dizzy_stops(run)) == 1
    assert [c.text for c in run.cues("stop")].count(DIZZY_CUE) == 1


def test_a_dizzy_stop_in_the_same_turn_as_a_fault_stop_is_said_after_it() -> None:
    run = stops_at((30.0, StopReason.OVERSPEED, "too fast"), (30.0, StopReason.DIZZY, "dizzy key"))
    assert [s.reason for s in run.of("stop")] == [StopReason.OVERSPEED, StopReason.DIZZY]
    assert [c.text for c in run.cues("stop")].count(DIZZY_CUE) == 1
    assert run.summary is not None
    assert run.summary.stop_reason is StopReason.OVERSPEED


def test_a_dizzy_stop_while_the_plan_end_stop_runs_the_belt_down_is_recorded_and_spoken() -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        loop = asyncio.get_running_loop()

        def on_event(event: Event) -> None:
            if isinstance(event, Stop) and event.reason is StopReason.PLAN_END:
                loop.call_later(0.5, controller.request_stop, StopReason.DIZZY, "dizzy key")

        controller.add_listener(on_event)

    run = run_session(during=scenario)
    assert [s.reason for s in run.of("stop")] == [StopReason.PLAN_END, StopReason.DIZZY]
    assert "plan_end" in dizzy_stops(run)[0].detail
    assert [c.text for c in run.cues("stop")] == [DIZZY_CUE]
    assert run.summary is not None
    assert run.summary.stop_reason is StopReason.PLAN_END
