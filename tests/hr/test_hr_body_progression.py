"""Progression that follows the body (treadcoach.coach.body): each rule, then the properties."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from treadcoach.coach.body import (
    DEFAULT_BODY_RULES,
    BodyAdvice,
    CheckIn,
    HrAtSpeed,
    VolumeAction,
    advise,
    apply_volume,
)
from treadcoach.coach.progression import DEFAULT_SETTINGS

T0 = datetime(2026, 11, 1, 8, 0)
R = DEFAULT_BODY_RULES


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def go(checkins: list[CheckIn], hr: list[HrAtSpeed] = (), **dose: float) -> BodyAdvice:  # type: ignore[assignment]
    kwargs = {"speed_kmh": 3.2, "incline_pct": 0.0, "speed_cap_kmh": 4.83, "incline_cap_pct": 5.0}
    kwargs.update(dose)
    return advise(checkins, hr, **kwargs)


# Heath 2001's shape: 143 -> 119 bpm at the same speed over four weeks
HEATH = [
    HrAtSpeed(day(d), 3.2, 0.0, bpm)
    for d, bpm in [(0, 143), (3, 141), (14, 131), (25, 121), (28, 119)]
]


@pytest.mark.parametrize(
    ("checkins", "action"),
    [
        ([CheckIn(day(28), stop_reason="dizzy")], VolumeAction.STEP_BACK),
        ([CheckIn(day(28), pain=5)], VolumeAction.STEP_BACK),
        ([CheckIn(day(27), pain=1), CheckIn(day(28), pain=3)], VolumeAction.STEP_BACK),
        ([CheckIn(day(28), rpe=17)], VolumeAction.STEP_BACK),
        ([CheckIn(day(28), pain=3)], VolumeAction.HOLD),
        ([CheckIn(day(28), rpe=15)], VolumeAction.HOLD),
    ],
)
def test_pain_rpe_and_dizziness_hold_or_step_back_and_block_habituation(
    checkins: list[CheckIn], action: VolumeAction
) -> None:
    advice = go(checkins, HEATH)
    assert advice.volume is action
    assert (advice.speed_kmh, advice.incline_pct) == (3.2, 0.0)  # no dose increase


def test_heart_rate_falling_at_the_same_speed_raises_speed_one_step() -> None:
    advice = go([CheckIn(day(28), pain=1, rpe=12)], HEATH)
    assert advice.volume is VolumeAction.FREE
    assert advice.speed_kmh == pytest.approx(3.2 + R.speed_step_kmh)
    assert "fell" in advice.reason


def test_at_the_speed_cap_habituation_raises_incline_then_nothing() -> None:
    at_cap = [HrAtSpeed(h.at, 4.83, 0.0, h.mean_bpm) for h in HEATH]
    advice = go([], at_cap, speed_kmh=4.83)
    assert (advice.speed_kmh, advice.incline_pct) == (4.83, 1.0)
    both = [HrAtSpeed(h.at, 4.83, 5.0, h.mean_bpm) for h in HEATH]
    advice = go([], both, speed_kmh=4.83, incline_pct=5.0)
    assert (advice.speed_kmh, advice.incline_pct) == (4.83, 5.0)


@pytest.mark.parametrize(
    "hr",
    [
        HEATH[:2],  # too few sessions
        [h for h in HEATH if h.at <= day(10)],  # too short a span
        [HrAtSpeed(h.at, 4.0, 0.0, h.mean_bpm) for h in HEATH],  # another speed
        [HrAtSpeed(h.at, 3.2, 0.0, 140 - i) for i, h in enumerate(HEATH)],  # only 2 %
    ],
)
def test_no_habituation_without_enough_evidence_at_the_same_dose(hr: list[HrAtSpeed]) -> None:
    assert go([], hr).speed_kmh == 3.2


def test_a_lowered_cap_brings_the_dose_down_never_up() -> None:
    advice = go([], HEATH, speed_kmh=4.0, speed_cap_kmh=3.5)
    assert advice.speed_kmh <= 3.5


def test_volume_actions_only_make_the_volume_more_careful() -> None:
    back = DEFAULT_SETTINGS.step_back(200.0)
    assert apply_volume(240.0, 200.0, VolumeAction.FREE, back) == 240.0
    assert apply_volume(240.0, 200.0, VolumeAction.HOLD, back) == 200.0
    assert apply_volume(240.0, 200.0, VolumeAction.STEP_BACK, back) == back
    assert apply_volume(100.0, 200.0, VolumeAction.HOLD, back) == 100.0


checkin = st.builds(
    CheckIn,
    at=st.integers(0, 60).map(day),
    pain=st.none() | st.floats(0, 10),
    rpe=st.none() | st.integers(6, 20),
    stop_reason=st.sampled_from([None, "dizzy", "key", "plan_end"]),
)
hr_at = st.builds(
    HrAtSpeed,
    at=st.floats(0, 60).map(day),
    speed_kmh=st.sampled_from([3.2, 3.3, 4.83]),
    incline_pct=st.sampled_from([0.0, 0.3, 5.0]),
    mean_bpm=st.floats(60, 190),
)


@settings(max_examples=400, deadline=None)
@given(
    checkins=st.lists(checkin, max_size=5),
    hr=st.lists(hr_at, max_size=12),
    # mostly the doses the HR history has, so habituation really gets exercised
    speed=st.sampled_from([3.2, 4.83]) | st.floats(0.5, 8.0),
    incline=st.sampled_from([0.0, 5.0]) | st.floats(0.0, 10.0),
    speed_cap=st.floats(0.5, 8.0),
    incline_cap=st.floats(0.0, 10.0),
    volume=st.floats(0, 600),
    last=st.floats(60, 600),
)
def test_no_body_rule_raises_a_cap_or_moves_more_than_one_step(
    checkins: list[CheckIn],
    hr: list[HrAtSpeed],
    speed: float,
    incline: float,
    speed_cap: float,
    incline_cap: float,
    volume: float,
    last: float,
) -> None:
    advice = advise(
        checkins,
        hr,
        speed_kmh=speed,
        incline_pct=incline,
        speed_cap_kmh=speed_cap,
        incline_cap_pct=incline_cap,
    )
    assert advice.speed_kmh <= speed_cap + 1e-9
    assert advice.incline_pct <= incline_cap + 1e-9
    base_speed, base_incline = min(speed, speed_cap), min(incline, incline_cap)
    up_speed = advice.speed_kmh - base_speed
    up_incline = advice.incline_pct - base_incline
    assert -1e-9 <= up_speed <= R.speed_step_kmh + 1e-9
    assert -1e-9 <= up_incline <= R.incline_step_pct + 1e-9
    assert not (up_speed > 1e-9 and up_incline > 1e-9)  # one step: speed or incline, not both
    if advice.volume is not VolumeAction.FREE:
        assert up_speed <= 1e-9
        assert up_incline <= 1e-9
    if checkins and sorted(checkins, key=lambda c: c.at)[-1].stop_reason == "dizzy":
        assert advice.volume is VolumeAction.STEP_BACK
    event("habituation step" if up_speed > 1e-9 or up_incline > 1e-9 else advice.volume.value)
    careful = apply_volume(volume, last, advice.volume, DEFAULT_SETTINGS.step_back(last))
    assert careful <= volume
