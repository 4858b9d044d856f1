"""Clamping and rounding targets (invariants 1 and 4), and the pace_u16 quirk's packet surgery."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.errors import LimitsError
from treadcoach.ftms import SpeedRange, TreadmillData, decode_treadmill_data, encode_treadmill_data
from treadcoach.link import snap
from treadcoach.link.pace import strip_u16_pace
from treadcoach.link.profile import GenericProfile
from treadcoach.link.ranges import SpeedTarget, speed_target

speeds = st.floats(min_value=-50, max_value=100, allow_nan=False)
bounds = st.tuples(
    st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=2000)
).map(lambda t: (t[0] / 100, (t[0] + t[1]) / 100))
steps = st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.32, 0.5, 1.0])


@pytest.mark.parametrize(
    ("value", "lo", "hi", "step", "expected"),
    [
        (4.876, 0.8, 16.0, 0.1, 4.9),
        (30.0, 0.8, 16.0, 0.1, 16.0),
        (0.0, 0.8, 16.0, 0.1, 0.8),
        (4.85, 0.8, 16.0, 0.1, 4.9),  # halves go up...
        (15.95, 0.8, 15.95, 0.1, 15.9),  # ...but never past the maximum
        (1.0, 0.96, 6.0, 0.32, 0.96),  # the grid starts at the minimum (0.6 mph by 0.2 mph)
        (1.2, 0.96, 6.0, 0.32, 1.28),
        (2.26, -3.0, 15.0, 0.5, 2.5),
        (-9.0, -3.0, 15.0, 0.5, -3.0),
    ],
)
def test_snap_examples(value: float, lo: float, hi: float, step: float, expected: float) -> None:
    assert snap(value, lo, hi, step) == pytest.approx(expected)


@given(speeds, bounds, steps)
def test_snap_never_leaves_the_range(value: float, span: tuple[float, float], step: float) -> None:
    lo, hi = span
    result = snap(value, lo, hi, step)
    assert lo - 1e-9 <= result <= hi + 1e-9


@given(speeds, bounds, steps)
def test_snap_lands_on_the_grid_or_the_maximum(
    value: float, span: tuple[float, float], step: float
) -> None:
    lo, hi = span
    result = snap(value, lo, hi, step)
    k = (result - lo) / step
    # on the grid to the 0.01 wire resolution, or the range was narrower than one step
    assert abs(k - round(k)) * step <= 0.0051 or result in (lo, hi)


@given(bounds, steps)
def test_snap_is_monotonic(span: tuple[float, float], step: float) -> None:
    lo, hi = span
    values = [lo - 1 + i * (hi - lo + 2) / 50 for i in range(51)]
    results = [snap(v, lo, hi, step) for v in values]
    assert results == sorted(results)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_snap_refuses_non_numbers(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        snap(bad, 0.8, 16.0, 0.1)


@given(
    st.integers(min_value=0, max_value=2000),
    st.integers(min_value=0, max_value=250),
    st.integers(min_value=0, max_value=250),
    st.integers(min_value=0, max_value=0xFFFF),
    st.integers(min_value=0, max_value=200),
)
def test_u16_pace_is_cut_out_and_the_rest_decodes_true(
    speed: int, pace: int, average_pace: int, elapsed: int, heart_rate: int
) -> None:
    record = TreadmillData(
        speed_kmh=speed / 100,
        distance_m=1234,
        instantaneous_pace_km_per_min=pace / 10,
        average_pace_km_per_min=average_pace / 10,
        heart_rate_bpm=heart_rate,
        elapsed_s=elapsed,
    )
    spec = encode_treadmill_data(record)
    # the quirky machine sends each u8 pace as u16: a zero high byte after each
    offset = 2 + 2 + 3
    quirky = (
        spec[: offset + 1] + b"\x00" + spec[offset + 1 : offset + 2] + b"\x00" + spec[offset + 2 :]
    )
    decoded = decode_treadmill_data(strip_u16_pace(quirky))
    assert decoded.speed_kmh == record.speed_kmh
    assert decoded.distance_m == 1234
    assert decoded.heart_rate_bpm == heart_rate
    assert decoded.elapsed_s == elapsed
    assert decoded.instantaneous_pace_km_per_min is None


def test_pace_stripping_leaves_packets_without_pace_alone() -> None:
    spec = encode_treadmill_data(TreadmillData(speed_kmh=3.2, elapsed_s=10))
    assert strip_u16_pace(spec) == spec
    assert strip_u16_pace(b"\x20") == b"\x20"


# --- speed targets: the cap always wins, also in mph ---------------------------------------

_RANGE = SpeedRange(min_kmh=0.8, max_kmh=12.0, increment_kmh=0.1)
_KMH = GenericProfile()
_MPH = GenericProfile(target_speed_in_mph=True)


@pytest.mark.parametrize(
    ("kmh", "ceiling", "quirks", "expected"),
    [
        (3.2, None, _KMH, SpeedTarget(3.2, 3.2)),
        (20.0, None, _KMH, SpeedTarget(12.0, 12.0)),  # clamped to the machine's maximum
        (0.1, None, _KMH, SpeedTarget(0.8, 0.8)),  # ... and its minimum
        (6.0, 4.83, _KMH, SpeedTarget(4.8, 4.8)),  # the cap, rounded down onto the grid
        (4.0, 4.0, _MPH, SpeedTarget(2.48, 3.99)),  # 2.49 mph would be 4.007 km/h (issue 12 i)
        (0.8, 4.0, _MPH, SpeedTarget(0.5, 0.8)),  # at the minimum mph rounds up, within the cap
    ],
)
def test_a_speed_target_never_exceeds_the_cap_after_conversion(
    kmh: float, ceiling: float | None, quirks: GenericProfile, expected: SpeedTarget
) -> None:
    target = speed_target(kmh, _RANGE, quirks, ceiling_kmh=ceiling)
    assert target.wire == pytest.approx(expected.wire)
    assert target.commanded_kmh == pytest.approx(expected.commanded_kmh)
    assert target.commanded_kmh <= (ceiling if ceiling is not None else _RANGE.max_kmh)


def test_a_cap_below_the_machine_minimum_is_refused_naming_the_machine() -> None:
    with pytest.raises(LimitsError, match=r"below TM-1's minimum speed of 0\.8 km/h"):
        speed_target(3.0, _RANGE, _KMH, ceiling_kmh=0.5, machine="TM-1")
