"""What `plans show` says a session takes is what a simulated session takes, on virtual time."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from treadcoach import clock
from treadcoach.coach.events import Event
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.library import builtin_plans, find_plan
from treadcoach.coach.plan import Plan, Segment
from treadcoach.coach.schedule import BeltMotion, expand, expected_step_s
from treadcoach.commands.plans import belt_for, session_totals
from treadcoach.config import Settings, load_settings
from treadcoach.session import SIM_DEVICE, Session, SessionOptions, caps_from


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    empty = tmp_path / "devices.toml"
    empty.write_text("", encoding="utf-8")
    return load_settings(empty)


def _simulated(plan: Plan, settings: Settings) -> list[Event]:
    session = Session(SessionOptions(plan=plan, sim=True, record=False), settings)
    events: list[Event] = []
    session.add_listener(events.append)
    clock.run(session.run(), speedup=math.inf)
    return events


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", [*(entry.name for entry in builtin_plans()), "progression"])
def test_every_step_and_the_total_take_what_plans_show_says(name: str, settings: Settings) -> None:
    plan = find_plan(name)
    shown, _ = session_totals(plan, caps_from(settings), belt_for(settings, SIM_DEVICE))
    events = _simulated(plan, settings)
    starts = [e.t for e in events if e.event == "segment"]
    (stop,) = [e.t for e in events if e.event == "stop"]
    (summary,) = [e for e in events if e.event == "summary"]
    assert summary.completed
    took = [b - a for a, b in zip(starts, [*starts[1:], stop], strict=True)]
    assert len(took) == len(shown.step_expected_s)
    for step, expected, actual in zip(shown.steps, shown.step_expected_s, took, strict=True):
        # within one telemetry record: turnaround and distance steps end on one
        assert actual == pytest.approx(expected, abs=1.0), (step.index, step.kind)
    assert summary.duration_s == pytest.approx(shown.expected_s, abs=1.0)
    assert shown.expected_s > shown.duration_s  # turnarounds are longer than their countdown


def test_a_turnaround_waits_for_the_belt_to_slow_before_its_countdown() -> None:
    plan = Plan(
        name="x",
        title="X",
        segments=[
            Segment(kind=SegmentKind.FORWARD_WALK, duration_s=60, speed=5.0),
            Segment(kind=SegmentKind.BACKWARD_WALK, duration_s=60, speed=3.0),
        ],
    )
    steps = expand(plan)
    assert steps[1].is_turnaround
    assert steps[1].duration_s == 8
    # 5.0 -> within 0.5 of 1.0 km/h at 0.8 km/h/s: 4.4 s, seen on the 5th telemetry record
    assert expected_step_s(steps, BeltMotion(0.8, 0.8))[1] == 13
    # a slower belt slows longer
    assert expected_step_s(steps, BeltMotion(0.5, 0.5))[1] == 15
