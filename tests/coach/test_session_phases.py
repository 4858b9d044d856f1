"""The session phase machine as tables: every transition, every allowed request, and the rest
refused (the shape of tests/ftms/test_ftms_control_point.py)."""

from __future__ import annotations

import itertools

import pytest

from treadcoach.coach.phases import (
    ALLOWED,
    TRANSITIONS,
    PhaseMachine,
    Request,
    SessionPhase,
    Trigger,
    public_phase,
)
from treadcoach.coach.state import Phase
from treadcoach.errors import SessionPhaseError

P, T, R = SessionPhase, Trigger, Request

EXPECTED_TRANSITIONS = {
    (P.CONNECTING, T.CONNECTED): P.READY,
    (P.READY, T.STEP): P.RUNNING,
    (P.RUNNING, T.STEP): P.RUNNING,
    (P.PAUSING, T.STEP): P.PAUSING,
    (P.PAUSED, T.STEP): P.PAUSED,
    (P.HELD, T.STEP): P.HELD,
    (P.RUNNING, T.PAUSE): P.PAUSING,
    (P.PAUSING, T.PAUSE_DONE): P.PAUSED,
    (P.PAUSING, T.PAUSE_FAILED): P.RUNNING,
    (P.PAUSED, T.RESUME): P.RUNNING,
    (P.READY, T.CONTROL_LOST): P.HELD,
    (P.RUNNING, T.CONTROL_LOST): P.HELD,
    (P.PAUSING, T.CONTROL_LOST): P.HELD,
    (P.PAUSED, T.CONTROL_LOST): P.HELD,
    (P.HELD, T.CONTROL_BACK): P.RUNNING,
    (P.CONNECTING, T.STOP): P.STOPPING,
    (P.READY, T.STOP): P.STOPPING,
    (P.RUNNING, T.STOP): P.STOPPING,
    (P.PAUSING, T.STOP): P.STOPPING,
    (P.PAUSED, T.STOP): P.STOPPING,
    (P.HELD, T.STOP): P.STOPPING,
    (P.STOPPING, T.STOP): P.STOPPING,
    (P.STOPPING, T.STOPPED): P.STOPPED,
    (P.STOPPING, T.FINISHED): P.FINISHED,
}

EXPECTED_ALLOWED = {
    P.CONNECTING: {R.STOP},
    P.READY: {R.STOP},
    P.RUNNING: {R.STOP, R.PAUSE, R.SPEED},
    P.PAUSING: {R.STOP, R.SPEED},
    P.PAUSED: {R.STOP, R.RESUME, R.SPEED},
    P.HELD: {R.STOP, R.SPEED, R.CONTROL_BACK},
    P.STOPPING: {R.STOP},
    P.STOPPED: set(),
    P.FINISHED: set(),
}


def test_the_transition_table_is_exactly_the_documented_one() -> None:
    assert TRANSITIONS == EXPECTED_TRANSITIONS


@pytest.mark.parametrize(("start", "trigger"), list(EXPECTED_TRANSITIONS))
def test_each_listed_transition_moves_to_its_phase(start: P, trigger: T) -> None:
    machine = PhaseMachine(start)
    assert machine.can(trigger)
    assert machine.fire(trigger) is EXPECTED_TRANSITIONS[start, trigger]
    assert machine.phase is EXPECTED_TRANSITIONS[start, trigger]


UNLISTED = [pair for pair in itertools.product(P, T) if pair not in EXPECTED_TRANSITIONS]


@pytest.mark.parametrize(("start", "trigger"), UNLISTED)
def test_every_other_transition_is_a_bug_and_leaves_the_phase(start: P, trigger: T) -> None:
    machine = PhaseMachine(start)
    assert not machine.can(trigger)
    with pytest.raises(SessionPhaseError, match=trigger.value):
        machine.fire(trigger)
    assert machine.phase is start


@pytest.mark.parametrize(("phase", "asked"), list(itertools.product(P, R)))
def test_which_request_is_allowed_in_which_phase(phase: P, asked: R) -> None:
    assert PhaseMachine(phase).allows(asked) == (asked in EXPECTED_ALLOWED[phase])
    assert set(ALLOWED[phase]) == EXPECTED_ALLOWED[phase]


def test_no_request_but_stop_and_control_back_after_the_console_took_control() -> None:
    # resume would fight the console; pause would command the belt
    held = PhaseMachine(P.HELD)
    assert not held.allows(R.RESUME)
    assert not held.allows(R.PAUSE)
    assert held.allows(R.STOP)
    assert held.allows(R.CONTROL_BACK)


def test_stop_is_allowed_in_every_live_phase() -> None:
    for phase in P:
        if phase not in (P.STOPPED, P.FINISHED):
            assert PhaseMachine(phase).allows(R.STOP), phase


@pytest.mark.parametrize(
    ("phase", "plan_end", "public"),
    [
        (P.CONNECTING, False, Phase.CONNECTING),
        (P.READY, False, Phase.READY),
        (P.RUNNING, False, Phase.RUNNING),
        (P.PAUSING, False, Phase.RUNNING),  # the Pause is not acknowledged yet
        (P.PAUSED, False, Phase.PAUSED),
        (P.HELD, False, Phase.PAUSED),
        (P.STOPPING, False, Phase.STOPPED),
        (P.STOPPING, True, Phase.FINISHED),
        (P.STOPPED, False, Phase.STOPPED),
        (P.FINISHED, True, Phase.FINISHED),
    ],
)
def test_the_renderers_phase(phase: P, plan_end: bool, public: Phase) -> None:
    assert public_phase(phase, plan_end=plan_end) is public


def test_holding_phases_stop_the_plan_clock() -> None:
    assert {p for p in P if PhaseMachine(p).holding} == {P.PAUSING, P.PAUSED, P.HELD}
