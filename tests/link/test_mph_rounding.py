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
