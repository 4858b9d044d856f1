"""The link's named waits: the exit wait follows the measured reconnect, within its bounds."""

from __future__ import annotations

import pytest

from treadcoach.link import timeouts as t

PAUSES = t.CONNECTOR_BACKOFF_MAX_S + t.RECONNECT_BACKOFF_FIRST_S + t.STOP_ATTEMPT_TIMEOUT_S
WAIT_25 = 2.5 * t.EXIT_WAIT_RECONNECTS + PAUSES  # the exit wait after a 2.5 s connect


@pytest.mark.parametrize(
    ("measured_s", "wait_s"),
    [
        (None, t.EXIT_WAIT_FLOOR_S),  # nothing measured yet
        (0.01, 0.01 * t.EXIT_WAIT_RECONNECTS + PAUSES),  # the in-process fake: over the floor
        (2.5, 2.5 * t.EXIT_WAIT_RECONNECTS + PAUSES),  # red team: failed + backoffs + good > 7.5
        (3.0, 3.0 * t.EXIT_WAIT_RECONNECTS + PAUSES),
        (5.0, 5.0 * t.EXIT_WAIT_RECONNECTS + PAUSES),  # BLE, 50 ms
        (60.0, t.EXIT_WAIT_CEILING_S),  # then the user is told the belt may be running
    ],
)
def test_exit_wait_is_a_multiple_of_the_measured_connect_plus_pauses_within_its_bounds(
    measured_s: float | None, wait_s: float
) -> None:
    assert t.exit_wait_s(measured_s) == pytest.approx(wait_s)


def test_the_exit_wait_fits_a_failed_connect_the_backoffs_and_a_good_connect() -> None:
    for connect_s in (0.5, 1.0, 2.5, 5.0):
        cycle = connect_s + t.CONNECTOR_BACKOFF_MAX_S + t.RECONNECT_BACKOFF_FIRST_S + connect_s
        assert t.exit_wait_s(connect_s) > cycle + t.STOP_ATTEMPT_TIMEOUT_S


@pytest.mark.parametrize(
    ("waited_s", "measured_s", "under_way", "left_s"),
    [
        (0.0, 2.5, False, 2.5 * t.EXIT_WAIT_RECONNECTS + PAUSES),  # the whole wait ahead
        (4.0, 2.5, True, 2.5 * t.EXIT_WAIT_RECONNECTS + PAUSES - 4.0),  # within it: the rest
        (14.0, 2.5, False, 0.0),  # past it, between attempts: stop waiting
        (14.0, 2.5, True, t.EXIT_WAIT_CEILING_S - 14.0),  # a connect under way: up to the ceiling
        (WAIT_25 - 1e-12, 2.5, False, 0.0),  # a float residue is no wait (it would spin)
        (WAIT_25 - 1e-12, 2.5, True, t.EXIT_WAIT_CEILING_S - WAIT_25),
        (t.EXIT_WAIT_CEILING_S, 2.5, True, 0.0),  # never past the ceiling
        (t.EXIT_WAIT_CEILING_S - 1e-12, 2.5, True, 0.0),
        (40.0, 2.5, True, 0.0),
        (1.0, None, True, t.EXIT_WAIT_FLOOR_S - 1.0),  # nothing measured: the floor
        (t.EXIT_WAIT_FLOOR_S, None, True, t.EXIT_WAIT_CEILING_S - t.EXIT_WAIT_FLOOR_S),
    ],
)
def test_leaving_waits_out_a_connect_under_way_up_to_the_ceiling(
    waited_s: float, measured_s: float | None, under_way: bool, left_s: float
) -> None:
    left = t.exit_wait_left_s(waited_s, measured_s, attempt_under_way=under_way)
    assert left == pytest.approx(left_s)


def test_reconnect_backoff_doubles_up_to_its_maximum() -> None:
    waits = [t.reconnect_backoff_s(n) for n in range(1, 8)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_stop_retries_after_a_reconnect_are_never_more_than_a_second_apart() -> None:
    assert max(t.RECONNECT_STOP_BACKOFF_S) <= 1.0
    assert t.RECONNECT_STOP_BACKOFF_S[0] == 0.0  # the first retry at once
