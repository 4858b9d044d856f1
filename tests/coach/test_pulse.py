"""How a heart-rate decision shapes the governor (treadcoach.coach.pulse), as tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.coach import governor
from treadcoach.coach.heart_rate import HrDecision, HrSignal, ZoneState
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.pulse import Pulse, ceiling, hr_bounds, steer, stop_detail
from treadcoach.coach.schedule import Step

BACKWARD = Step(0, SegmentKind.BACKWARD_WALK, 3.0, 60.0, None, cap_kmh=4.0)
TURN = Step(1, SegmentKind.TURNAROUND, 1.0, 8.0, None, cap_kmh=1.0)
OK = HrSignal.OK


@pytest.mark.parametrize(
    ("plan_goal", "step", "decision", "commanded", "goal"),
    [
        (3.0, BACKWARD, None, 2.0, 3.0),  # no heart rate: the plan's goal
        (3.0, BACKWARD, HrDecision(HrSignal.ABSENT), 2.0, 3.0),
        (3.0, BACKWARD, HrDecision(OK, 120, goal_kmh=3.6), 3.0, 3.6),  # the zone raises
        (3.0, BACKWARD, HrDecision(OK, 120, goal_kmh=2.2), 3.0, 2.2),  # and lowers
        (2.5, BACKWARD, HrDecision(OK, 120, goal_kmh=3.6), 2.5, 2.5),  # the user lowered it
        (3.0, BACKWARD, HrDecision(OK, 160, limit_kmh=2.9), 3.0, 2.9),  # the ceiling's limit
        (3.0, BACKWARD, HrDecision(OK, 160, limit_kmh=2.9, goal_kmh=3.6), 3.0, 2.9),
        (0.0, BACKWARD, HrDecision(OK, 120, goal_kmh=3.6), 3.0, 0.0),  # stopping: 0 wins
        (1.0, TURN, HrDecision(OK, 120, goal_kmh=3.6), 1.0, 1.0),  # no zone on a turnaround
        # holding: a zone never raises above the commanded speed
        (3.0, BACKWARD, HrDecision(HrSignal.STALE, goal_kmh=3.6, holding=True), 3.2, 3.2),
        # but a paused belt (commanded 0) is started again by a resume
        (3.0, BACKWARD, HrDecision(HrSignal.STALE, goal_kmh=2.0, holding=True), 0.0, 2.0),
        # holding without a zone: plan speeds run as written
        (3.0, BACKWARD, HrDecision(HrSignal.STALE, holding=True), 1.0, 3.0),
    ],
)
def test_the_governor_ramps_toward_the_goal_the_heart_rate_shapes(
    plan_goal: float, step: Step, decision: HrDecision | None, commanded: float, goal: float
) -> None:
    assert steer(plan_goal, step, decision, commanded) == goal


def test_caps_always_win_a_zone_raises_the_command_ceiling_only_to_the_step_cap() -> None:
    bounds = governor.step_bounds(BACKWARD, 0.8)
    assert bounds.ceiling_kmh == 3.0
    zoned = ceiling(bounds, BACKWARD, HrDecision(OK, 120, goal_kmh=3.6))
    assert (zoned.floor_kmh, zoned.ceiling_kmh) == (0.8, 4.0)
    assert ceiling(bounds, BACKWARD, HrDecision(OK, 120)) == bounds
    assert (
        ceiling(governor.step_bounds(TURN, 0.8), TURN, HrDecision(OK, goal_kmh=3.6)).ceiling_kmh
        == 1.0
    )
    hr = hr_bounds(BACKWARD, 0.8)
    assert (hr.floor_kmh, hr.cap_kmh) == (0.8, 4.0)


def test_the_hr_ceilings_limit_is_the_command_ceiling_so_the_link_never_rounds_above_it() -> None:
    bounds = governor.step_bounds(BACKWARD, 0.8)
    limited = ceiling(bounds, BACKWARD, HrDecision(OK, 155, limit_kmh=2.47))
    assert (limited.floor_kmh, limited.ceiling_kmh) == (0.8, 2.47)
    # with a zone steering too, the limit still wins over the raised safety cap
    both = ceiling(bounds, BACKWARD, HrDecision(OK, 155, limit_kmh=2.47, goal_kmh=3.6))
    assert both.ceiling_kmh == 2.47
    # a limit above the step's ceiling changes nothing
    assert ceiling(bounds, BACKWARD, HrDecision(OK, 155, limit_kmh=3.5)) == bounds
    # on a turnaround too (its speed is not the zone's, but the limit holds everywhere)
    turn = governor.step_bounds(TURN, 0.8)
    assert ceiling(turn, TURN, HrDecision(OK, 155, limit_kmh=0.9)).ceiling_kmh == 0.9


def test_the_hr_ceiling_stop_says_pulse_ceiling_and_time() -> None:
    decision = HrDecision(OK, 171, stop=True, ceiling_bpm=160, above_for_s=20.0)
    assert stop_detail(decision) == "heart rate 171 above 160 for 20 s"
    assert stop_detail(HrDecision(OK, 171, above_ceiling=True)) is None


class _Port:
    strap_connected = True

    def __init__(self, decisions: list[HrDecision]) -> None:
        self.decisions = decisions

    def begin_step(self, step: object) -> None:
        pass

    def decide(self, now_s: float, commanded_kmh: float, bounds: object) -> HrDecision:
        return self.decisions.pop(0)


def test_the_heart_rate_event_goes_out_on_change_only() -> None:
    zone = (110.0, 125.0)
    pulse = Pulse(
        _Port(
            [
                HrDecision(OK, 100, zone=zone, zone_state=ZoneState.BELOW),
                HrDecision(OK, 104, zone=zone, zone_state=ZoneState.BELOW),  # same status
                HrDecision(OK, 115, zone=zone, zone_state=ZoneState.IN),
                HrDecision(HrSignal.STALE, zone=zone, holding=True),
            ]
        )
    )
    shown = []
    for t in range(4):
        pulse.decide(float(t), 3.0, BACKWARD, 0.8)
        shown.append(pulse.status_change(float(t)))
    assert [s is not None for s in shown] == [True, False, True, True]
    last = shown[-1]
    assert last is not None
    assert (last.signal, last.holding, last.zone_low_bpm, last.zone_high_bpm) == (
        "stale",
        True,
        110,
        125,
    )
    assert pulse.fields()["hr_holding"] is True
    assert pulse.bpm(99) is None  # the strap is connected: its (untrusted) pulse, not the belt's


@given(
    plan_goal=st.floats(0.0, 3.0),
    zone_goal=st.none() | st.floats(0.0, 10.0),
    limit=st.none() | st.floats(0.0, 10.0),
    holding=st.booleans(),
    commanded=st.floats(0.0, 6.0),
    turn=st.booleans(),
)
def test_the_shaped_goal_never_passes_a_cap_or_the_ceiling_limit(
    plan_goal: float,
    zone_goal: float | None,
    limit: float | None,
    holding: bool,
    commanded: float,
    turn: bool,
) -> None:
    # what the HR coach hands out is already inside its bounds; the shaping must keep it there
    step = TURN if turn else BACKWARD
    hr = hr_bounds(step, 0.8)
    decision = HrDecision(
        OK,
        120,
        goal_kmh=None if zone_goal is None else hr.clamp(zone_goal),
        limit_kmh=None if limit is None else min(limit, hr.cap_kmh),
        holding=holding,
    )
    goal = steer(min(plan_goal, step.target_kmh), step, decision, commanded)
    command_ceiling = ceiling(governor.step_bounds(step, 0.8), step, decision).ceiling_kmh
    assert goal <= command_ceiling + 1e-9
    assert command_ceiling <= governor.safety_cap(step)
    if decision.limit_kmh is not None and plan_goal > 0:
        assert goal <= decision.limit_kmh + 1e-9
