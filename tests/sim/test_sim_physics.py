"""Belt and runner physics: pure arithmetic on dt."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import Belt, Runner, SimConfigError


def test_belt_ramps_at_its_acceleration_and_stops_at_the_target() -> None:
    belt = Belt(accel_kmh_per_s=0.5)
    belt.target_kmh = 3.0
    belt.advance(2.0)
    assert belt.speed_kmh == pytest.approx(1.0)
    belt.advance(100)
    assert belt.speed_kmh == 3.0


def test_belt_decelerates_at_its_own_rate() -> None:
    belt = Belt(decel_kmh_per_s=2.0, speed_kmh=10.0, target_kmh=0.0)
    belt.advance(1.0)
    assert belt.speed_kmh == pytest.approx(8.0)


def test_distance_over_a_ramp_is_the_area_under_the_speed() -> None:
    belt = Belt(accel_kmh_per_s=1.0)
    belt.target_kmh = 3.6  # reached after 3.6 s
    belt.advance(10.0)
    # ramp: 3.6 s averaging 1.8 km/h (0.5 m/s) = 1.8 m, then 6.4 s at 1 m/s
    assert belt.distance_m == pytest.approx(1.8 + 6.4)


@given(
    st.floats(0, 16),
    st.floats(0, 16),
    st.lists(st.floats(0.001, 5), min_size=1, max_size=40),
)
def test_distance_does_not_depend_on_how_time_is_sliced(
    start: float, target: float, steps: list[float]
) -> None:
    sliced = Belt(speed_kmh=start, target_kmh=target)
    for dt in steps:
        sliced.advance(dt)
    whole = Belt(speed_kmh=start, target_kmh=target)
    whole.advance(sum(steps))
    assert sliced.distance_m == pytest.approx(whole.distance_m, rel=1e-9, abs=1e-9)
    assert sliced.speed_kmh == pytest.approx(whole.speed_kmh)


def test_incline_moves_toward_its_target() -> None:
    belt = Belt(incline_rate_pct_per_s=0.5)
    belt.target_incline_pct = -2.0
    belt.advance(2.0)
    assert belt.incline_pct == pytest.approx(-1.0)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_belt_refuses_a_rate_that_is_not_positive(rate: float) -> None:
    with pytest.raises(SimConfigError, match="accel_kmh_per_s"):
        Belt(accel_kmh_per_s=rate)


def test_runner_heart_rate_rises_with_speed_and_settles() -> None:
    runner = Runner()
    runner.advance(600, speed_kmh=0.0, incline_pct=0.0)
    resting = runner.heart_rate_bpm
    runner.advance(30, speed_kmh=8.0, incline_pct=0.0)
    half_way = runner.heart_rate_bpm
    runner.advance(600, speed_kmh=8.0, incline_pct=0.0)
    assert resting == pytest.approx(70)
    assert resting < half_way < runner.heart_rate_bpm
    assert runner.heart_rate_bpm == pytest.approx(70 + 9 * 8, abs=0.5)
