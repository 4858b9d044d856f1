"""The link's named waits: the exit wait follows the measured reconnect, within its bounds."""

from __future__ import annotations

import pytest

from treadcoach.link import timeouts as t


@pytest.mark.parametrize(
    ("measured_s", "wait_s"),
    [
        (None, t.EXIT_WAIT_FLOOR_S),  # nothing measured yet
        (0.01, t.EXIT_WAIT_FLOOR_S),  # the in-process fake: the floor still covers a real stack
        (3.0, 3.0 * t.EXIT_WAIT_RECONNECTS),
        (5.0, 5.0 * t.EXIT_WAIT_RECONNECTS),  # BLE at 50 ms with discovery: ~5 s per connect
        (60.0, t.EXIT_WAIT_CEILING_S),  # then the user is told the belt may be running
    ],
)
def test_exit_wait_is_a_multiple_of_the_measured_connect_within_floor_and_ceiling(
    measured_s: float | None, wait_s: float
) -> None:
    assert t.exit_wait_s(measured_s) == pytest.approx(wait_s)


def test_reconnect_backoff_doubles_up_to_its_maximum() -> None:
    waits = [t.reconnect_backoff_s(n) for n in range(1, 8)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_stop_retries_after_a_reconnect_are_never_more_than_a_second_apart() -> None:
    assert max(t.RECONNECT_STOP_BACKOFF_S) <= 1.0
    assert t.RECONNECT_STOP_BACKOFF_S[0] == 0.0  # the first retry at once
