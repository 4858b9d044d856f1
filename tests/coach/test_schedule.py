"""expand(): caps (invariant 1) and turnarounds (invariant 3), as plain tables."""

from __future__ import annotations

import math

import pytest

from treadcoach.coach.kinds import SegmentKind as K
from treadcoach.coach.library import find_plan
from treadcoach.coach.plan import Plan, Repeat, Segment, Units
from treadcoach.coach.schedule import (
    DEFAULT_CAPS,
    TURNAROUND_COUNTDOWN_S,
    Caps,
    Step,
    backward_distance_m,
    backward_time_s,
    expand,
    planned_duration_s,
    step_at,
    totals,
)
from treadcoach.errors import LimitsError

T = K.TURNAROUND


def seg(
    kind: K, speed: float, duration: float | None = 60, distance: float | None = None
) -> Segment:
    return Segment(
        kind=kind, speed=speed, duration_s=None if distance else duration, distance_m=distance
    )


def plan(*entries: Segment | Repeat, units: Units = "kmh") -> Plan:
    return Plan(name="t", title="T", units=units, segments=list(entries))


def kinds(steps: list[Step]) -> list[K]:
    return [s.kind for s in steps]


def test_gentle_intro_gets_a_turnaround_on_each_side_of_every_retro_bout() -> None:
    steps = expand(find_plan("gentle-intro"))
    assert kinds(steps) == [
        K.WARMUP,
        K.FORWARD_RUN,
        *[T, K.RETRO_RUN, T, K.RECOVERY] * 6,
        K.COOLDOWN,
    ]
    assert [s.index for s in steps] == list(range(len(steps)))
    for s in steps:
        if s.is_turnaround:
            assert s.target_kmh == 1.0
            assert s.duration_s == DEFAULT_CAPS.turnaround_s
            assert s.countdown_from_s == TURNAROUND_COUNTDOWN_S >= 5
            assert s.source_path is None


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # forward -> backward -> forward
        (
            [seg(K.WARMUP, 5), seg(K.BACKWARD_WALK, 3), seg(K.COOLDOWN, 4)],
            [K.WARMUP, T, K.BACKWARD_WALK, T, K.COOLDOWN],
        ),
        # two backward segments in a row: no direction change between them
        (
            [seg(K.WARMUP, 5), seg(K.BACKWARD_WALK, 3), seg(K.RETRO_RUN, 4.8), seg(K.COOLDOWN, 4)],
            [K.WARMUP, T, K.BACKWARD_WALK, K.RETRO_RUN, T, K.COOLDOWN],
        ),
        # a plan that starts backward turns the walker around first; none after the last segment
        ([seg(K.BACKWARD_WALK, 3)], [T, K.BACKWARD_WALK]),
        # the plan's own turnaround is not doubled
        (
            [
                seg(K.WARMUP, 5),
                seg(T, 1, 10),
                seg(K.BACKWARD_WALK, 3),
                seg(T, 1, 10),
                seg(K.COOLDOWN, 4),
            ],
            [K.WARMUP, T, K.BACKWARD_WALK, T, K.COOLDOWN],
        ),
        # forward only: nothing inserted
        (
            [seg(K.WARMUP, 5), seg(K.FORWARD_RUN, 8), seg(K.RECOVERY, 5)],
            [K.WARMUP, K.FORWARD_RUN, K.RECOVERY],
        ),
    ],
)
def test_turnarounds_stand_exactly_at_direction_changes(
    entries: list[Segment], expected: list[K]
) -> None:
    assert kinds(expand(plan(*entries))) == expected


def test_each_turnaround_knows_what_comes_next_and_cues_it() -> None:
    steps = expand(plan(seg(K.WARMUP, 5), seg(K.RETRO_RUN, 4.8), seg(K.COOLDOWN, 4)))
    into, out = steps[1], steps[3]
    assert (into.previous_kind, into.next_kind) == (K.WARMUP, K.RETRO_RUN)
    assert "retro run" in into.cue
    assert "face away from the console" in into.cue
    assert (out.previous_kind, out.next_kind) == (K.RETRO_RUN, K.COOLDOWN)
    assert "face the console" in out.cue


@pytest.mark.parametrize(
    ("caps", "kind", "asked", "target"),
    [
        (DEFAULT_CAPS, K.RETRO_RUN, 8.0, 4.83),  # backward cap, whatever the plan says
        (DEFAULT_CAPS, K.BACKWARD_WALK, 3.0, 3.0),
        (Caps(backward_max_kmh=3.5), K.RETRO_RUN, 4.8, 3.5),
        (Caps(max_kmh=3.0), K.RETRO_RUN, 4.8, 3.0),  # the user limit is lower still
        (Caps(max_kmh=6.0), K.FORWARD_RUN, 8.0, 6.0),
        (Caps(device_max_kmh=7.5), K.FORWARD_RUN, 8.0, 7.5),
        (Caps(device_max_kmh=4.0), K.RETRO_RUN, 4.8, 4.0),
        (Caps(device_min_kmh=1.6), K.FORWARD_WALK, 1.0, 1.6),  # a belt cannot go slower
        (DEFAULT_CAPS, K.FORWARD_RUN, 8.0, 8.0),
    ],
)
def test_targets_are_clamped_to_the_cap_that_applies(
    caps: Caps, kind: K, asked: float, target: float
) -> None:
    step = next(s for s in expand(plan(seg(kind, asked)), caps) if not s.is_turnaround)
    assert step.target_kmh == pytest.approx(target)
    assert step.requested_kmh == asked
    assert step.clamped == (asked != target)


def test_rounding_never_crosses_a_cap() -> None:
    # 3 mph is 4.828032 km/h; a cap of exactly that must not become 4.83
    caps = Caps(backward_max_kmh=3 * 1.609344)
    step = expand(plan(seg(K.RETRO_RUN, 5, 30), units="mph"), caps)[1]
    assert step.target_kmh <= caps.backward_max_kmh
    assert step.target_kmh == 4.82


def test_a_plan_turnaround_may_be_slower_and_longer_never_faster_or_shorter() -> None:
    steps = expand(plan(seg(K.WARMUP, 5), seg(T, 4.0, 2), seg(K.BACKWARD_WALK, 3)))
    assert steps[1].target_kmh == DEFAULT_CAPS.turnaround_kmh
    assert steps[1].duration_s == DEFAULT_CAPS.turnaround_s
    slow = expand(plan(seg(K.WARMUP, 5), seg(T, 0.5, 20), seg(K.BACKWARD_WALK, 3)))
    assert (slow[1].target_kmh, slow[1].duration_s) == (0.5, 20)


def test_turnaround_speed_respects_the_belt_minimum() -> None:
    steps = expand(plan(seg(K.WARMUP, 5), seg(K.BACKWARD_WALK, 3)), Caps(device_min_kmh=1.5))
    assert steps[1].target_kmh == 1.5


def test_a_belt_minimum_above_the_backward_cap_is_a_clear_error_not_an_overspeed() -> None:
    with pytest.raises(LimitsError) as exc:
        expand(
            plan(seg(K.WARMUP, 5), seg(K.BACKWARD_WALK, 3)),
            Caps(backward_max_kmh=1.0, device_min_kmh=1.2),
        )
    assert exc.value.setting == "backward_max_kmh"
    assert "cannot run slower than 1.2 km/h" in str(exc.value)


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"turnaround_s": 3}, "turnaround_s"),
        ({"max_kmh": math.nan}, "max_kmh"),
        ({"max_kmh": 0}, "max_kmh"),
        ({"backward_max_kmh": -1}, "backward_max_kmh"),
        ({"device_max_kmh": math.inf}, "device_max_kmh"),
        ({"device_min_kmh": -0.5}, "device_min_kmh"),
        ({"device_min_kmh": 5, "device_max_kmh": 4}, "device_min_kmh"),
    ],
)
def test_bad_limits_are_refused_by_name(kwargs: dict[str, float], setting: str) -> None:
    with pytest.raises(LimitsError) as exc:
        Caps(**kwargs)
    assert exc.value.setting == setting


def test_planned_numbers_convert_distances_at_their_target_speed() -> None:
    steps = expand(
        plan(seg(K.WARMUP, 6, 120), seg(K.RETRO_RUN, 4.8, distance=50), seg(K.COOLDOWN, 4, 60))
    )
    # 120 + 8 turnaround + 50 m at 4.8 km/h (37.5 s) + 8 + 60
    assert planned_duration_s(steps) == pytest.approx(120 + 8 + 37.5 + 8 + 60)
    assert backward_time_s(steps) == pytest.approx(37.5)
    assert backward_distance_m(steps) == pytest.approx(50)
    assert step_at(steps, 0) == 0
    assert step_at(steps, 125) == 1
    assert step_at(steps, 130) == 2
    assert step_at(steps, 10_000) is None
    t = totals(find_plan("gentle-intro"))
    assert t.turnarounds == 12
    assert t.backward_s == pytest.approx(6 * 37.5)


def test_repeats_label_their_rounds() -> None:
    steps = expand(plan(Repeat(times=2, segments=[seg(K.RETRO_RUN, 4.8), seg(K.RECOVERY, 4.5)])))
    labels = [s.label for s in steps if not s.is_turnaround]
    assert labels == ["retro run 1/2", "recovery walk 1/2", "retro run 2/2", "recovery walk 2/2"]
    assert steps[1].source == "repeat 1 > segment 1 (retro_run)"
    assert steps[1].rounds == ((1, 2),)


def test_backward_steps_without_a_cue_get_the_form_cues() -> None:
    step = expand(plan(seg(K.BACKWARD_WALK, 3)))[1]
    assert "Shorten your stride" in step.cue
    assert "Stop immediately if dizzy" in step.cue
