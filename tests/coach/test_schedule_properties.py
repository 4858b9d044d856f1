"""For any valid plan and any limits: no target above its cap, no direction change without a turnaround."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan, Repeat, Segment
from treadcoach.coach.schedule import MIN_TURNAROUND_S, Caps, Step, expand
from treadcoach.errors import LimitsError

KINDS = list(SegmentKind)


@st.composite
def segments(draw: st.DrawFn, units: str) -> Segment:
    kind = draw(st.sampled_from(KINDS))
    top = 30.0 if units == "kmh" else 18.64  # 30 km/h in mph, rounded down
    speed = draw(st.floats(min_value=0.01, max_value=top))
    timed = kind is SegmentKind.TURNAROUND or draw(st.booleans())
    return Segment(
        kind=kind,
        speed=speed,
        duration_s=draw(st.floats(min_value=0.5, max_value=900)) if timed else None,
        distance_m=None if timed else draw(st.floats(min_value=0.5, max_value=2000)),
        incline_pct=draw(st.none() | st.floats(min_value=-5, max_value=15)),
    )


def entries(units: str, depth: int = 0) -> st.SearchStrategy[Segment | Repeat]:
    if depth >= 2:
        return segments(units)
    return st.one_of(
        segments(units),
        st.builds(
            Repeat,
            times=st.integers(1, 4),
            segments=st.lists(entries(units, depth + 1), min_size=1, max_size=3),
        ),
    )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    units = draw(st.sampled_from(["kmh", "mph"]))
    return Plan(
        name="prop",
        title="Property",
        units=units,  # type: ignore[arg-type]
        segments=draw(st.lists(entries(units), min_size=1, max_size=6)),
    )


@st.composite
def caps(draw: st.DrawFn) -> Caps:
    device_max = draw(st.none() | st.floats(min_value=0.5, max_value=30))
    device_min = draw(st.none() | st.floats(min_value=0, max_value=3))
    if device_min is not None and device_max is not None and device_min > device_max:
        device_min, device_max = device_max, device_min
    return Caps(
        max_kmh=draw(st.floats(min_value=0.3, max_value=30)),
        backward_max_kmh=draw(st.floats(min_value=0.3, max_value=12)),
        device_max_kmh=device_max,
        device_min_kmh=device_min,
        turnaround_kmh=draw(st.floats(min_value=0.1, max_value=6)),
        turnaround_s=draw(st.floats(min_value=MIN_TURNAROUND_S, max_value=60)),
    )


def direction(step: Step) -> str:
    return "backward" if step.is_backward else "forward"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), caps())
def test_no_target_exceeds_its_cap_and_every_direction_change_has_a_turnaround(
    plan: Plan, limits: Caps
) -> None:
    try:
        steps = expand(plan, limits)
    except LimitsError:
        event("belt minimum above a cap: refused")
        # only ever because the belt cannot go as slow as a cap demands
        lowest_cap = min(limits.cap_for(s.kind) for _, s, _ in plan.flat())
        lowest_cap = min(lowest_cap, limits.cap_for(SegmentKind.TURNAROUND))
        assert limits.device_min_kmh is not None
        assert limits.device_min_kmh > lowest_cap - 0.01
        return

    event(f"clamped steps: {sum(s.clamped for s in steps) > 0}")
    # invariant 1: every target within the cap that applies (and the belt's range)
    for step in steps:
        cap = limits.cap_for(step.kind)
        assert 0 < step.target_kmh <= cap, (step, cap)
        if limits.backward_max_kmh is not None and step.is_backward:
            assert step.target_kmh <= limits.backward_max_kmh
        if limits.device_max_kmh is not None:
            assert step.target_kmh <= limits.device_max_kmh
        assert step.target_kmh <= limits.max_kmh
        if limits.device_min_kmh is not None:
            assert step.target_kmh >= limits.device_min_kmh

    # invariant 3: no direction change without a turnaround between
    assert not steps[0].is_backward
    for before, after in itertools.pairwise(steps):
        if not before.is_turnaround and not after.is_turnaround:
            assert direction(before) == direction(after), (before, after)
    for i, step in enumerate(steps):
        if step.is_backward:
            assert steps[i - 1].is_turnaround or steps[i - 1].is_backward
        if step.is_turnaround:
            assert step.duration_s is not None
            assert step.duration_s >= MIN_TURNAROUND_S
            assert step.countdown_from_s is not None
            assert step.countdown_from_s >= 5
            assert step.target_kmh <= limits.backward_max_kmh

    # nothing the plan asked for is lost or reordered
    planned = [s.kind for _, s, _ in plan.flat() if s.kind is not SegmentKind.TURNAROUND]
    assert [s.kind for s in steps if not s.is_turnaround] == planned
    assert [s.index for s in steps] == list(range(len(steps)))
