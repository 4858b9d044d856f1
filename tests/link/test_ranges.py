"""Clamping and rounding targets (invariants 1 and 4), and the pace_u16 quirk's packet surgery."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.ftms import TreadmillData, decode_treadmill_data, encode_treadmill_data
from treadcoach.link import snap
from treadcoach.link.pace import strip_u16_pace

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
