"""The speed governor as tables: ramp steps, step bounds (caps, belt minimum)."""

from __future__ import annotations

import pytest

from treadcoach.coach.governor import Ramp, SpeedBounds, clamp, next_speed, settled, speed_bounds

RAMP = Ramp(up_kmh_per_s=1.0, down_kmh_per_s=2.0, interval_s=1.0)


@pytest.mark.parametrize(
    ("commanded", "goal", "expected"),
    [
        (0.0, 4.0, 1.0),  # up by ramp_up * interval
        (3.5, 4.0, 4.0),  # never past the goal
        (4.0, 4.0, 4.0),
        (8.0, 1.0, 6.0),  # down by ramp_down * interval
        (2.0, 1.0, 1.0),
        (4.83, 0.0, 2.83),
    ],
)
def test_next_speed_is_one_ramp_step_toward_the_goal(
    commanded: float, goal: float, expected: float
) -> None:
    assert next_speed(commanded, goal, RAMP) == pytest.approx(expected)


def test_a_slower_interval_takes_bigger_steps() -> None:
    assert next_speed(0.0, 9.0, Ramp(1.0, 2.0, 2.5)) == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("target", "cap", "belt_min", "bounds"),
    [
        (4.8, 4.83, 0.8, SpeedBounds(0.8, 4.8)),
        (4.8, 4.83, None, SpeedBounds(0.0, 4.8)),
        # a turnaround slower than the belt can go: the belt minimum, within the safety cap
        (0.5, 4.83, 0.8, SpeedBounds(0.8, 0.8)),
        # a belt minimum above the cap is never used as the ceiling (the session refuses first)
        (0.5, 0.6, 0.8, SpeedBounds(0.8, 0.5)),
    ],
)
def test_speed_bounds_of_a_step(
    target: float, cap: float, belt_min: float | None, bounds: SpeedBounds
) -> None:
    assert speed_bounds(target, cap, belt_min) == bounds


@pytest.mark.parametrize(("kmh", "expected"), [(0.0, 0.8), (3.0, 3.0), (8.0, 4.8), (4.81, 4.8)])
def test_clamp_never_leaves_the_bounds(kmh: float, expected: float) -> None:
    assert clamp(kmh, SpeedBounds(0.8, 4.8)) == expected


def test_settled_absorbs_float_noise_only() -> None:
    assert settled(4.8, 4.8 + 1e-9)
    assert not settled(4.8, 4.81)
