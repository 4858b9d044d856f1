"""mph-target machines: the mph number is rounded DOWN, so its km/h equivalent never exceeds any
cap (DESIGN invariant 1, issue 12 i: a 4.0 km/h cap went out as 2.49 mph = 4.007 km/h)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from link_helpers import on_virtual_time
from transports import Transport

import sim
from treadcoach.config import load_settings
from treadcoach.link import KMH_PER_MPH, GenericProfile, TreadmillLink, snap

MPH = GenericProfile(target_speed_in_mph=True)


def test_mph_machine_never_runs_above_the_cap_after_conversion(transport: Transport) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="mph_target") as treadmill,
            transport.backends(treadmill) as (client, scanner, *_),
        ):
            profile = load_settings().profile_for(treadmill.name, treadmill.address)
            async with TreadmillLink(
                treadmill.address,
                profile=profile,
                client_backend=client,
                scanner_backend=scanner,
            ) as link:
                await link.start()
                for cap in (4.0, 4.83, 3.22, 4.828032, 2.5):
                    sent = await link.set_speed(9.0, ceiling_kmh=cap)
                    belt_target = treadmill.target_speed_kmh  # the machine's km/h reading
                    assert belt_target <= cap + 1e-9, cap
                    assert sent <= cap
                    assert sent == pytest.approx(belt_target, abs=0.01)
                await asyncio.sleep(20)
                assert treadmill.belt_speed_kmh <= 2.5 + 1e-9

    on_virtual_time(scenario)


@given(
    kmh=st.floats(0.0, 30.0),
    cap=st.floats(0.5, 20.0),
    lo=st.sampled_from([0.5, 0.8, 0.96, 1.0]),
    step=st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.16, 0.161, 0.32, 0.5]),
)
def test_mph_wire_value_never_exceeds_any_cap(
    kmh: float, cap: float, lo: float, step: float
) -> None:
    from treadcoach.link.quirks import commanded_kmh, wire_target_speed

    hi = max(lo, cap)
    value = snap(kmh, lo, hi, step)
    wire = wire_target_speed(value, MPH)
    assert wire == round(wire, 2)  # FTMS carries 0.01
    assert wire * KMH_PER_MPH <= hi + 1e-9
    assert commanded_kmh(wire, MPH) <= hi
    # rounded down by less than one wire step: not needlessly slow
    assert value - wire * KMH_PER_MPH < 0.01 * KMH_PER_MPH + 1e-9


@given(
    kmh=st.floats(0.0, 30.0),
    cap=st.floats(0.5, 20.0),
    step=st.sampled_from([0.0, 0.01, 0.1, 0.161, 0.5]),
)
def test_snapped_target_never_exceeds_a_cap_that_is_not_a_whole_hundredth(
    kmh: float, cap: float, step: float
) -> None:
    # 3 mph = 4.828032 km/h: rounding to the wire's 0.01 must not land on 4.83
    assert snap(kmh, 0.5, max(0.5, cap), step) <= max(0.5, cap) + 1e-9


@pytest.mark.parametrize(
    ("kmh", "lo", "hi", "wire"),
    [
        (4.0, 0.8, 16.0, 2.48),  # inside the range: rounded down, as before
        (0.8, 0.8, 16.0, 0.50),  # floored, 0.49 mph = 0.789 km/h is below 0.8: up to 0.50
        (1.0, 0.8, 16.0, 0.62),  # 0.62 mph = 0.998 km/h, at or above the minimum: down
        (0.96, 0.96, 16.0, 0.60),  # 0.6 mph is exactly 0.9656 km/h: the first at or above
        (0.8, 0.8, 0.8, 0.49),  # no hundredth of a mph in [0.8, 0.8]: the cap wins
        (0.8, 0.8, 0.805, 0.50),  # 0.50 mph = 0.8047 km/h fits under a 0.805 cap
        (0.8, 0.8, 0.804, 0.49),  # ... not under 0.804
    ],
)
def test_an_mph_target_is_rounded_down_but_never_below_the_machines_minimum(
    kmh: float, lo: float, hi: float, wire: float
) -> None:
    from treadcoach.link.quirks import wire_target_speed

    assert wire_target_speed(kmh, MPH, lo=lo, hi=hi) == pytest.approx(wire)


@given(
    kmh=st.floats(0.0, 30.0),
    cap=st.floats(0.5, 20.0),
    lo=st.sampled_from([0.5, 0.8, 0.96, 1.0, 1.29]),
    step=st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.16, 0.161, 0.32, 0.5]),
)
def test_an_mph_wire_value_stays_within_the_range_and_under_every_cap(
    kmh: float, cap: float, lo: float, step: float
) -> None:
    from treadcoach.link.quirks import commanded_kmh, wire_target_speed

    hi = max(lo, cap)
    value = snap(kmh, lo, hi, step)
    wire = wire_target_speed(value, MPH, lo=lo, hi=hi)
    assert wire == round(wire, 2)
    assert wire * KMH_PER_MPH <= hi + 1e-9  # invariant 1 first
    assert commanded_kmh(wire, MPH) <= hi
    if hi - lo >= 0.01 * KMH_PER_MPH:  # a hundredth of a mph fits in the range
        assert wire * KMH_PER_MPH >= lo - 1e-9  # never refused for being below the minimum
