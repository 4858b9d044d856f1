"""Which events and states are spoken, and that nothing is said twice."""

from __future__ import annotations

from dataclasses import replace

from tui_double import BACKWARD, RETRO, TURN_IN, WARMUP, running

from treadcoach.coach.announce import DIZZY_CUE
from treadcoach.coach.events import Cue, SegmentStarted, Stop, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import Phase
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.cues import CuePlanner


def _texts(utterances: list) -> list[str]:  # type: ignore[type-arg]
    return [u.text for u in utterances]


def test_segment_start_is_announced_with_its_size() -> None:
    planner = CuePlanner()
    said = planner.on_event(
        SegmentStarted(t=0, index=2, kind=SegmentKind.BACKWARD_WALK, target_kmh=3.2, duration_s=150)
    )
    assert _texts(said) == ["Backward walk, 2 minutes 30."]
    said = planner.on_event(
        SegmentStarted(t=0, index=4, kind=SegmentKind.RETRO_RUN, target_kmh=4.8, distance_m=50)
    )
    assert _texts(said) == ["Retro run, 50 metres."]


def test_turnaround_start_warns_before_the_countdown() -> None:
    said = CuePlanner().on_event(
        SegmentStarted(t=0, index=1, kind=SegmentKind.TURNAROUND, target_kmh=1.5, duration_s=5)
    )
    assert said[0].kind == "turnaround"
    assert "turn around" in said[0].text


def test_last_three_seconds_are_counted_once_each() -> None:
    planner = CuePlanner()
    said = []
    for remaining in (4.5, 3.8, 3.0, 2.9, 2.4, 1.7, 0.9, 0.1, 0.0):
        said += planner.on_state(running(WARMUP, TURN_IN, remaining=remaining))
    assert _texts(said) == ["3", "2", "1"]
    assert all(u.interrupts for u in said)


def test_a_turnaround_is_not_counted_while_the_belt_slows() -> None:
    planner = CuePlanner()
    said = []
    for remaining in (
        3.0,
        2.0,
        1.0,
    ):  # the segment clock runs, the controller's count has not begun
        said += planner.on_state(running(TURN_IN, BACKWARD, remaining=remaining))
    said += planner.on_state(running(TURN_IN, BACKWARD, remaining=5.0, turnaround_countdown_s=3))
    assert _texts(said) == ["3"]


def test_distance_segments_are_not_counted_in_seconds() -> None:
    planner = CuePlanner()
    said = planner.on_state(running(RETRO, None, remaining=2.0))
    assert said == []


def test_paused_segment_is_not_counted() -> None:
    planner = CuePlanner()
    assert planner.on_state(running(WARMUP, TURN_IN, remaining=2.5, phase=Phase.PAUSED)) == []


def test_controller_countdown_and_ticking_state_do_not_double_a_number() -> None:
    planner = CuePlanner()
    planner.on_event(
        SegmentStarted(t=0, index=1, kind=SegmentKind.TURNAROUND, target_kmh=1.5, duration_s=5)
    )
    said = []
    for n in (5, 4, 3):
        said += planner.on_event(
            Cue(t=0, text=f"Turn around: face away in {n}", kind="countdown", countdown_s=n)
        )
        said += planner.on_state(
            running(TURN_IN, BACKWARD, remaining=n - 0.5, turnaround_countdown_s=n)
        )
    said += planner.on_state(running(TURN_IN, BACKWARD, remaining=1.5, turnaround_countdown_s=2))
    said += planner.on_event(Cue(t=0, text="Turn around: in 2", kind="countdown", countdown_s=2))
    # the first number carries the controller's words, then bare numbers, none twice
    assert _texts(said) == ["5", "4", "3", "2"]


def test_stop_is_announced_once_and_silences_the_rest() -> None:
    planner = CuePlanner()
    said = planner.on_event(Stop(t=10, reason=StopReason.SAFETY_KEY))
    assert _texts(said) == ["Belt stopping. Safety key pulled."]
    assert said[0].interrupts
    assert planner.on_event(Cue(t=10, text="Stop (safety_key)", kind="stop")) == []
    stopped = running(WARMUP, None, remaining=2, phase=Phase.STOPPED)
    assert planner.on_state(stopped) == []


def test_a_session_that_ends_without_a_stop_event_still_says_so() -> None:
    planner = CuePlanner()
    finished = replace(running(WARMUP, None, remaining=0), phase=Phase.FINISHED)
    assert _texts(planner.on_state(finished)) == ["Plan complete. Well done."]


def test_form_cues_are_spoken_and_telemetry_is_not() -> None:
    planner = CuePlanner()
    assert _texts(planner.on_event(Cue(t=1, text="Shorten your stride", kind="form"))) == [
        "Shorten your stride"
    ]
    assert planner.on_event(Telemetry(t=1, speed_kmh=3, distance_m=10)) == []


def test_a_dizzy_stop_is_spoken_as_dizzy_with_what_to_do() -> None:
    planner = CuePlanner()
    said = _texts(planner.on_event(Stop(t=1, reason=StopReason.DIZZY)))
    assert len(said) == 1
    assert "dizzy" in said[0].lower()
    assert "hold the rails" in said[0].lower()


def test_a_stop_upgraded_to_dizzy_after_it_began_is_spoken_once_more() -> None:
    # The pedal writes its stop on press-down; held for DIZZY_HOLD_S it upgrades the reason.
    planner = CuePlanner()
    assert planner.on_event(Stop(t=1, reason=StopReason.PEDAL))
    said = _texts(planner.on_event(Stop(t=2.5, reason=StopReason.DIZZY)))
    assert len(said) == 1
    assert "hold the rails" in said[0].lower()
    assert planner.on_event(Stop(t=3, reason=StopReason.DIZZY)) == []  # said once


def test_a_dizzy_press_during_a_fault_stop_is_spoken_once_with_what_to_do() -> None:
    # the controller keeps the fault as the reason and adds a Stop with reason dizzy and its cue
    planner = CuePlanner()
    assert planner.on_event(Stop(t=1, reason=StopReason.OVERSPEED, detail="too fast"))
    assert planner.on_event(Cue(t=1, text="Stop: too fast", kind="stop")) == []
    said = _texts(planner.on_event(Stop(t=2, reason=StopReason.DIZZY, detail="dizzy key")))
    assert len(said) == 1
    assert "hold the rails" in said[0].lower()
    assert planner.on_event(Cue(t=2, text=DIZZY_CUE, kind="stop")) == []  # not twice
