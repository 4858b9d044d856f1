"""The link's phase machine: the transition table, walked as scenarios (no loop, no bleak).

Each scenario is a list of ``(trigger, phase after)`` steps from NEW; the derived views
(``ready``, ``gatt_up``, ``reconnecting``) are checked against what the shell relies on.
"""

from __future__ import annotations

import pytest

from treadcoach.errors import LinkPhaseError
from treadcoach.link.phase import TRANSITIONS, LinkPhase, LinkPhaseMachine, PhaseTrigger

P, T = LinkPhase, PhaseTrigger

SCENARIOS: dict[str, list[tuple[PhaseTrigger, LinkPhase]]] = {
    "connect, set up, close": [
        (T.ENTER, P.CONNECTING),
        (T.ATTEMPT, P.CONNECTING),
        (T.GATT_UP, P.SETTING_UP),
        (T.READY, P.READY),
        (T.CLOSE, P.CLOSING),
        (T.CLOSED, P.CLOSED),
    ],
    "drop, reconnect, stop, ready again": [
        (T.ENTER, P.CONNECTING),
        (T.GATT_UP, P.SETTING_UP),
        (T.READY, P.READY),
        (T.DROPPED, P.RECONNECTING),
        (T.ATTEMPT, P.RECONNECTING),
        (T.ATTEMPT, P.RECONNECTING),
        (T.GATT_UP, P.RESTORING),
        (T.READY, P.READY),
    ],
    "a failed attempt, then a good one": [
        (T.ENTER, P.CONNECTING),
        (T.GATT_UP, P.SETTING_UP),
        (T.READY, P.READY),
        (T.DROPPED, P.RECONNECTING),
        (T.ATTEMPT, P.RECONNECTING),
        (T.FAILED, P.RECONNECTING),
        (T.ATTEMPT, P.RECONNECTING),
        (T.GATT_UP, P.RESTORING),
        (T.READY, P.READY),
    ],
    "a drop during the reconnect handshake goes back to reconnecting": [
        (T.ENTER, P.CONNECTING),
        (T.GATT_UP, P.SETTING_UP),
        (T.READY, P.READY),
        (T.DROPPED, P.RECONNECTING),
        (T.GATT_UP, P.RESTORING),
        (T.DROPPED, P.RECONNECTING),
        (T.GAVE_UP, P.DOWN),
        (T.CLOSE, P.CLOSING),
    ],
    "a drop during the first connect is that connect's failure": [
        (T.ENTER, P.CONNECTING),
        (T.DROPPED, P.CONNECTING),
        (T.CLOSE, P.CLOSING),
        (T.CLOSED, P.CLOSED),
    ],
    "late news while closing changes nothing": [
        (T.ENTER, P.CONNECTING),
        (T.GATT_UP, P.SETTING_UP),
        (T.READY, P.READY),
        (T.DROPPED, P.RECONNECTING),
        (T.CLOSE, P.CLOSING),
        (T.ATTEMPT, P.CLOSING),
        (T.FAILED, P.CLOSING),
        (T.GATT_UP, P.CLOSING),
        (T.READY, P.CLOSING),
        (T.GAVE_UP, P.CLOSING),
        (T.CLOSE, P.CLOSING),
        (T.CLOSED, P.CLOSED),
        (T.CLOSE, P.CLOSED),
    ],
}


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_phase_scenarios(steps: list[tuple[PhaseTrigger, LinkPhase]]) -> None:
    machine = LinkPhaseMachine()
    for n, (trigger, expected) in enumerate(steps):
        assert machine.fire(trigger, float(n)) is expected, f"step {n}: {trigger}"
        assert machine.phase is expected


REFUSED = [
    (P.NEW, T.READY),
    (P.CONNECTING, T.READY),  # commands before GATT is up: never
    (P.READY, T.GATT_UP),
    (P.READY, T.ENTER),
    (P.DOWN, T.READY),  # given up: only close
    (P.DOWN, T.ATTEMPT),
    (P.READY, T.FAILED),  # a failed attempt is a reconnect's: never while ready
    (P.CLOSED, T.ENTER),
]


@pytest.mark.parametrize(("phase", "trigger"), REFUSED, ids=lambda x: getattr(x, "name", x))
def test_moves_not_in_the_table_are_refused(phase: LinkPhase, trigger: PhaseTrigger) -> None:
    assert (phase, trigger) not in TRANSITIONS
    machine = LinkPhaseMachine()
    machine._phase = phase
    with pytest.raises(LinkPhaseError):
        machine.fire(trigger, 0.0)
    assert machine.phase is phase


def test_every_phase_but_closed_can_close() -> None:
    for phase in LinkPhase:
        assert TRANSITIONS[(phase, T.CLOSE)] in (P.CLOSING, P.CLOSED)


VIEWS = {
    # phase: (ready, gatt_up, reconnecting)
    P.NEW: (False, False, False),
    P.CONNECTING: (False, False, False),
    P.SETTING_UP: (False, True, False),
    P.READY: (True, True, False),
    P.RECONNECTING: (False, False, True),
    P.RESTORING: (False, True, True),
    P.DOWN: (False, False, False),
    P.CLOSED: (False, False, False),
}


@pytest.mark.parametrize("phase", VIEWS, ids=lambda p: p.name)
def test_derived_views_of_each_phase(phase: LinkPhase) -> None:
    machine = LinkPhaseMachine()
    machine._phase = phase
    assert (machine.ready, machine.gatt_up, machine.reconnecting) == VIEWS[phase]


def test_closing_keeps_gatt_up_only_when_it_was_up() -> None:
    up = LinkPhaseMachine()
    for trigger in (T.ENTER, T.GATT_UP, T.READY, T.CLOSE):
        up.fire(trigger, 0.0)
    assert up.gatt_up  # the parting Stop can be written
    down = LinkPhaseMachine()
    for trigger in (T.ENTER, T.GATT_UP, T.READY, T.DROPPED, T.CLOSE):
        down.fire(trigger, 0.0)
    assert not down.gatt_up


def test_connect_time_is_measured_from_the_attempt_to_ready_and_the_slowest_kept() -> None:
    machine = LinkPhaseMachine()
    assert machine.connect_s is None
    machine.fire(T.ENTER, 0.0)
    machine.fire(T.ATTEMPT, 1.0)
    machine.fire(T.GATT_UP, 2.0)
    machine.fire(T.READY, 3.0)
    assert machine.connect_s == pytest.approx(2.0)
    machine.fire(T.DROPPED, 10.0)
    machine.fire(T.ATTEMPT, 10.0)  # this attempt fails ...
    machine.fire(T.ATTEMPT, 11.0)  # ... the next one succeeds after 5 s
    machine.fire(T.GATT_UP, 15.0)
    machine.fire(T.READY, 16.0)
    assert machine.connect_s == pytest.approx(5.0)


def test_an_attempt_is_under_way_from_its_start_until_ready_failed_or_given_up() -> None:
    machine = LinkPhaseMachine()
    steps = [
        (T.ENTER, False),
        (T.ATTEMPT, True),
        (T.GATT_UP, True),  # the handshake (the Stop after a reconnect) is part of it
        (T.READY, False),
        (T.DROPPED, False),  # backoff before the first reconnect attempt
        (T.ATTEMPT, True),
        (T.FAILED, False),
        (T.ATTEMPT, True),
        (T.GAVE_UP, False),
    ]
    for n, (trigger, under_way) in enumerate(steps):
        machine.fire(trigger, float(n))
        assert machine.attempt_under_way is under_way, f"step {n}: {trigger}"
