"""``lifecycle``: the decisions of the link's procedures (drop, reconnect, exit) as tables."""

from __future__ import annotations

import pytest

from treadcoach.ftms.enums import ResultCode
from treadcoach.link.lifecycle import (
    Backoff,
    GiveUp,
    Refusal,
    after_failed_attempt,
    control_after_reconnect,
    control_refused_at_start,
    exit_stop_needed,
    reconnect_find_s,
    refuse_command,
    retries_after_drop,
    stop_took,
)
from treadcoach.link.phase import LinkPhase
from treadcoach.link.timeouts import RECONNECT_FIND_MAX_S, RECONNECT_FIND_MIN_S

L = LinkPhase


@pytest.mark.parametrize(
    ("reconnect", "supervised", "phase", "expected"),
    [
        (True, True, L.RECONNECTING, True),  # a drop of a ready link
        (False, True, L.RECONNECTING, False),  # reconnecting off
        (True, False, L.RECONNECTING, False),  # no task group to run the reconnect in
        (True, True, L.CONNECTING, False),  # the first connect fails on its own
        (True, True, L.CLOSING, False),  # leaving: nobody's business
        (True, True, L.DOWN, False),  # gave up already
    ],
)
def test_which_drops_are_reconnected(
    reconnect: bool, supervised: bool, phase: LinkPhase, expected: bool
) -> None:
    assert retries_after_drop(reconnect=reconnect, supervised=supervised, phase=phase) is expected


@pytest.mark.parametrize(
    ("now", "deadline", "expected"),
    [
        (0.0, 60.0, RECONNECT_FIND_MAX_S),  # plenty left: the longest scan
        (58.0, 60.0, 2.0),  # what is left
        (59.9, 60.0, RECONNECT_FIND_MIN_S),  # never a scan too short to hear an advert
        (70.0, 60.0, RECONNECT_FIND_MIN_S),  # past the deadline (the last attempt)
    ],
)
def test_a_reconnect_scan_takes_what_is_left_within_bounds(
    now: float, deadline: float, expected: float
) -> None:
    assert reconnect_find_s(now, deadline) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("attempt", "now", "deadline", "expected"),
    [
        (1, 0.0, 60.0, Backoff(0.5)),
        (2, 1.0, 60.0, Backoff(1.0)),
        (4, 5.0, 60.0, Backoff(4.0)),
        (9, 20.0, 60.0, Backoff(8.0)),  # the backoff's ceiling
        (1, 59.6, 60.0, GiveUp()),  # the wait would end past the deadline
        (5, 52.5, 60.0, GiveUp()),
        (5, 52.0, 60.0, Backoff(8.0)),  # ends right at it: one more try
    ],
)
def test_after_a_failed_attempt_back_off_or_give_up_at_the_deadline(
    attempt: int, now: float, deadline: float, expected: Backoff | GiveUp
) -> None:
    assert after_failed_attempt(attempt, now, deadline) == expected


@pytest.mark.parametrize(
    ("belt_running", "as_pause", "expected"),
    [
        (False, False, True),
        (None, False, True),
        (True, False, False),  # acknowledged, and ran on
        (False, True, False),  # a Pause in Stop's place: only standstill confirms it
        (None, True, False),
    ],
)
def test_an_acknowledged_stop_took_unless_the_belt_is_seen_running_or_it_was_a_pause(
    belt_running: bool | None, as_pause: bool, expected: bool
) -> None:
    assert stop_took(belt_running, as_pause=as_pause) is expected


@pytest.mark.parametrize(
    ("mode", "control_lost", "stop_asked", "has_control", "expected"),
    [
        ("once", False, False, False, True),
        ("before_every_command", False, False, False, True),
        ("never", False, False, False, False),  # the machine takes no Request Control
        ("once", True, False, False, False),  # after 0xFF only the user takes it back
        ("once", False, True, False, False),  # the session is ending: nothing follows
        ("once", False, False, True, False),  # held already (the Stop asked for it)
    ],
)
def test_control_after_a_reconnect_only_for_commands_that_will_follow(
    mode: str, control_lost: bool, stop_asked: bool, has_control: bool, expected: bool
) -> None:
    assert (
        control_after_reconnect(
            mode=mode,  # type: ignore[arg-type]
            control_lost=control_lost,
            stop_asked=stop_asked,
            has_control=has_control,
        )
        is expected
    )


@pytest.mark.parametrize(
    ("gatt_up", "standing_still", "control_lost", "expected"),
    [
        (True, False, False, True),  # the parting Stop
        (False, False, False, False),  # nothing to write it to
        (True, True, False, False),  # seen standing still: nothing to stop
        (True, False, True, False),  # after 0xFF the belt is the console's (invariant 3)
    ],
)
def test_the_parting_stop_goes_out_only_to_a_belt_that_may_run_and_is_ours(
    gatt_up: bool, standing_still: bool, control_lost: bool, expected: bool
) -> None:
    assert (
        exit_stop_needed(gatt_up=gatt_up, standing_still=standing_still, control_lost=control_lost)
        is expected
    )


@pytest.mark.parametrize(
    ("phase", "control_lost", "needs_control", "expected"),
    [
        (L.READY, False, True, None),
        (L.READY, True, True, Refusal.CONTROL_LOST),  # after 0xFF, commands wait for the user
        (L.READY, True, False, None),  # ... whose Request Control takes control back
        (L.RECONNECTING, False, True, Refusal.RECONNECTING),
        (L.RESTORING, False, True, Refusal.RECONNECTING),  # the Stop first, then commands
        (L.CONNECTING, False, True, Refusal.DOWN),
        (L.SETTING_UP, False, False, Refusal.DOWN),
        (L.DOWN, False, True, Refusal.DOWN),
        (L.CLOSING, False, True, Refusal.CLOSED),
        (L.CLOSED, True, False, Refusal.CLOSED),
    ],
)
def test_user_commands_are_taken_only_on_a_ready_link_under_our_control(
    phase: LinkPhase, control_lost: bool, needs_control: bool, expected: Refusal | None
) -> None:
    reconnecting = phase in (L.RECONNECTING, L.RESTORING)
    refusal = refuse_command(
        phase=phase,
        reconnecting=reconnecting,
        control_lost=control_lost,
        needs_control=needs_control,
    )
    assert refusal is expected


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (ResultCode.SUCCESS, None),
        (ResultCode.NOT_SUPPORTED, None),  # no Request Control: the commands will tell
        (ResultCode.CONTROL_NOT_PERMITTED, "another app or device may have control"),
        (ResultCode.FAILED, "the machine's own failure"),
        (ResultCode.INVALID_PARAMETER, 'request_control = "never"'),
        (0x7E, "an answer FTMS does not define"),
    ],
)
def test_request_control_refused_at_start_is_worded_by_its_result_code(
    result: int, says: str | None
) -> None:
    why = control_refused_at_start(result)
    if says is None:
        assert why is None
        return
    assert why is not None
    assert says in why
    if result == ResultCode.FAILED:
        assert "another app" not in why
