"""The HR coaching core (treadcoach.coach.heart_rate): tables of situations, then properties."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from treadcoach.coach.heart_rate import (
    HeartRateCoach,
    HrCoachConfig,
    HrSample,
    HrSignal,
    HrZone,
    SpeedBounds,
    ZoneState,
    parse_hr_zone,
)

CFG = HrCoachConfig()
B = SpeedBounds(1.0, 4.83)


def feed(coach: HeartRateCoach, bpms: list[int], commanded: float, *, t0: float = 0.0):  # type: ignore[no-untyped-def]
    d = None
    for i, bpm in enumerate(bpms):
        d = coach.update(t0 + i, HrSample(bpm, True, t0 + i), commanded, B)
    return d


# --- trust -------------------------------------------------------------------------------------


def test_no_strap_means_hr_rules_are_off() -> None:
    coach = HeartRateCoach(150)
    coach.begin_step(HrZone(100, 110), 3.0)
    d = coach.update(0.0, None, 3.0, B)
    assert d.signal is HrSignal.ABSENT
    assert (d.limit_kmh, d.goal_kmh, d.holding, d.stop) == (None, None, False, False)


@pytest.mark.parametrize(
    ("sample", "signal"),
    [
        (HrSample(120, True, 94.0), HrSignal.STALE),  # 6 s old at t=100
        (HrSample(120, True, 300.0), HrSignal.STALE),  # stamped 200 s ahead: another clock
        (HrSample(120, False, 100.0), HrSignal.NO_CONTACT),
        (HrSample(0, True, 100.0), HrSignal.INVALID),
        (HrSample(0, None, 100.0), HrSignal.INVALID),
        (HrSample(251, True, 100.0), HrSignal.INVALID),
        (None, HrSignal.STALE),
    ],
)
def test_an_untrusted_sample_holds_and_suspends_increases(
    sample: HrSample | None, signal: HrSignal
) -> None:
    coach = HeartRateCoach(150)
    coach.begin_step(HrZone(130, 140), 2.0)
    feed(coach, [90] * 95, commanded=2.0)  # well below the zone: the goal was rising
    before = coach.update(95.0, HrSample(90, True, 95.0), 2.0, B)
    d = coach.update(100.0, sample, 2.0, B)
    assert d.signal is signal
    assert d.holding
    assert not d.stop
    assert d.goal_kmh is not None
    assert before.goal_kmh is not None
    assert d.goal_kmh <= max(2.0, B.floor_kmh)  # held at the commanded speed
    for later in range(101, 200):  # staying untrusted never raises it
        assert coach.update(float(later), sample, 2.0, B).goal_kmh == d.goal_kmh


def test_a_sample_exactly_five_seconds_old_is_still_fresh() -> None:
    coach = HeartRateCoach(150)
    assert coach.update(5.0, HrSample(100, True, 0.0), 3.0, B).signal is HrSignal.OK
    assert coach.update(5.01, HrSample(100, True, 0.0), 3.0, B).signal is HrSignal.STALE


def test_a_sample_stamped_ahead_of_now_is_fresh_only_within_the_tolerance() -> None:
    ahead = CFG.future_tolerance_s
    coach = HeartRateCoach(150)
    assert coach.update(10.0, HrSample(100, True, 10.0 + ahead), 3.0, B).signal is HrSignal.OK
    d = coach.update(11.0, HrSample(100, True, 11.0 + ahead + 0.01), 3.0, B)
    assert d.signal is HrSignal.STALE
    assert d.holding
    assert not d.stop


def test_a_silent_strap_whose_last_stamp_ran_ahead_holds_within_the_stale_time() -> None:
    # the last sample a strap sends, stamped 60 s ahead: untrusted at once, so the zone holds
    # from the next tick, not a minute later
    coach = HeartRateCoach(150)
    coach.begin_step(HrZone(130, 140), 2.0)
    feed(coach, [90] * 20, commanded=2.0)
    future = HrSample(90, True, 80.0)
    assert all(coach.update(float(t), future, 2.0, B).holding for t in range(20, 70))


def test_stale_hr_never_stops_the_belt_even_above_the_stop_margin() -> None:
    coach = HeartRateCoach(150)
    feed(coach, [170] * 10, commanded=4.0)
    d = coach.update(100.0, HrSample(170, True, 9.0), 4.0, B)
    assert d.signal is HrSignal.STALE
    assert not d.stop


# --- ceiling -----------------------------------------------------------------------------------


def test_above_the_ceiling_steps_down_at_once_then_every_interval_never_up() -> None:
    coach = HeartRateCoach(150)
    limits = []
    for t in range(0, 16):
        d = coach.update(float(t), HrSample(152, True, float(t)), 4.0, B)
        assert d.above_ceiling
        limits.append(d.limit_kmh)
    assert limits[0] == pytest.approx(3.9)  # the first step at once
    assert limits[4] == pytest.approx(3.9)
    assert limits[5] == pytest.approx(3.8)
    assert limits[15] == pytest.approx(3.6)
    assert all(b <= a for a, b in itertools.pairwise(limits))  # type: ignore[operator]


def test_the_ceiling_never_goes_below_the_belt_minimum() -> None:
    coach = HeartRateCoach(150)
    for t in range(0, 400):
        d = coach.update(float(t), HrSample(155, True, float(t)), 1.2, B)
    assert d.limit_kmh == B.floor_kmh


def test_far_above_the_ceiling_for_n_seconds_stops_with_hr_ceiling() -> None:
    coach = HeartRateCoach(150)
    margin = 150 + CFG.ceiling_stop_margin_bpm
    stops = [
        coach.update(float(t), HrSample(int(margin), True, float(t)), 4.0, B).stop
        for t in range(0, 21)
    ]
    assert stops[: int(CFG.ceiling_stop_after_s)] == [False] * int(CFG.ceiling_stop_after_s)
    assert stops[20]


def test_dipping_below_the_margin_restarts_the_stop_timer() -> None:
    coach = HeartRateCoach(150)
    bpms = [161] * 15 + [158] + [161] * 15
    stops = [
        coach.update(float(t), HrSample(b, True, float(t)), 4.0, B).stop for t, b in enumerate(bpms)
    ]
    assert not any(stops)


def test_the_ceiling_limit_lifts_slowly_once_well_below_and_then_disappears() -> None:
    coach = HeartRateCoach(150)
    feed(coach, [155] * 6, commanded=4.0)  # two steps: 3.8
    d = feed(coach, [147] * 60, commanded=3.8, t0=6)  # within the release band: held
    assert d.limit_kmh == pytest.approx(3.8)
    lifted = [
        coach.update(66.0 + t, HrSample(140, True, 66.0 + t), 3.8, B).limit_kmh for t in range(200)
    ]
    rises = [b - a for a, b in itertools.pairwise(lifted) if a is not None and b is not None]
    assert max(rises) <= CFG.step_kmh + 1e-9
    assert lifted[-1] is None  # back to the cap: no limit


# --- zones -------------------------------------------------------------------------------------


def test_zone_below_raises_the_goal_one_step_per_interval_and_not_past_the_cap() -> None:
    coach = HeartRateCoach(None)
    coach.begin_step(HrZone(140, 150), 4.5)
    goals = [
        coach.update(float(t), HrSample(90, True, float(t)), 4.83, B).goal_kmh
        for t in range(0, 100)
    ]
    assert goals[0] == pytest.approx(4.6)
    assert goals[9] == pytest.approx(4.6)
    assert goals[10] == pytest.approx(4.7)
    assert max(g for g in goals if g is not None) == pytest.approx(4.83)


def test_zone_goal_does_not_run_ahead_of_the_belt() -> None:
    coach = HeartRateCoach(None)
    coach.begin_step(HrZone(140, 150), 3.0)
    goals = {
        coach.update(float(t), HrSample(90, True, float(t)), 2.0, B).goal_kmh for t in range(60)
    }
    assert goals == {3.0}  # the belt (commanded 2.0) has not reached 3.0 yet


def test_zone_above_lowers_the_goal_to_the_belt_minimum_at_most() -> None:
    coach = HeartRateCoach(None)
    coach.begin_step(HrZone(90, 100), 2.0)
    for t in range(0, 300):
        d = coach.update(float(t), HrSample(130, True, float(t)), 2.0, B)
    assert d.goal_kmh == B.floor_kmh
    assert d.zone_state is ZoneState.ABOVE


def test_a_pulse_heading_into_the_zone_stops_the_goal_rising() -> None:
    def final_goal(bpm_at: Callable[[int], int]) -> float | None:
        coach = HeartRateCoach(None)
        coach.begin_step(HrZone(120, 130), 3.0)
        d = None
        for t in range(20):
            d = coach.update(float(t), HrSample(bpm_at(t), True, float(t)), 3.5, B)
        assert d is not None
        return d.goal_kmh

    # below the zone until t=19 in both; rising 60 bpm/min it will be in it (and past it) soon
    rising, flat = final_goal(lambda t: 100 + t), final_goal(lambda t: 100)
    assert flat == pytest.approx(3.2)  # flat: a step per interval
    assert rising is not None
    assert rising <= 3.1 + 1e-9  # the first step (no trend yet), then no more


def test_percent_zone_is_read_against_hr_max_and_clipped_to_it() -> None:
    coach = HeartRateCoach(160)
    coach.begin_step(parse_hr_zone(["60%", "70%"]), 3.0)
    assert coach.update(0.0, HrSample(100, True, 0.0), 3.0, B).zone == (96.0, 112.0)
    no_max = HeartRateCoach(None)
    no_max.begin_step(parse_hr_zone(["60%", "70%"]), 3.0)
    assert no_max.update(0.0, HrSample(100, True, 0.0), 3.0, B).goal_kmh is None  # no zone
    clipped = HeartRateCoach(120)
    clipped.begin_step(HrZone(110, 140), 3.0)
    assert clipped.update(0.0, HrSample(100, True, 0.0), 3.0, B).zone == (110, 120)


@pytest.mark.parametrize(
    "value",
    [
        [120],
        [130, 120],
        ["60%", 120],
        [True, 120],
        "120-130",
        ["x%", "70%"],
        [10, 20],
        ["0%", "70%"],
    ],
)
def test_bad_zones_are_refused_with_a_message(value: object) -> None:
    with pytest.raises(ValueError, match=r"zone|low, high"):
        parse_hr_zone(value)


def test_a_cap_below_the_goal_wins_at_once() -> None:
    coach = HeartRateCoach(None)
    coach.begin_step(HrZone(140, 150), 4.5)
    coach.update(0.0, HrSample(90, True, 0.0), 4.5, B)
    d = coach.update(1.0, HrSample(90, True, 1.0), 4.5, SpeedBounds(1.0, 3.0))
    assert d.goal_kmh == 3.0


# --- properties --------------------------------------------------------------------------------

# (bpm, contact, age in seconds, bpm is relative to the run's base pulse)
_trusted = st.tuples(
    st.integers(-3, 3), st.sampled_from([True, None]), st.floats(0, 4), st.just(True)
)
_any = st.tuples(
    st.integers(0, 260), st.sampled_from([True, False, None]), st.floats(0, 12), st.just(False)
)
# mostly trusted readings, so the rules that act on them are exercised as often as the holds
samples = st.one_of(_trusted, _trusted, _trusted, _any, st.none())


@settings(max_examples=300, deadline=None)
@given(
    hr_max=st.none() | st.integers(100, 200),
    base=st.integers(60, 200),
    zone=st.none() | st.tuples(st.integers(60, 150), st.integers(5, 40)),
    start=st.floats(0.5, 8.0),
    floor=st.floats(0.0, 2.0),
    caps=st.lists(st.floats(0.5, 8.0), min_size=1, max_size=4),
    # commanded: None = the belt follows the last goal (as a governor would), else any speed
    ticks=st.lists(
        st.tuples(samples, st.none() | st.floats(0.0, 8.0), st.floats(0.1, 12.0)), max_size=150
    ),
)
def test_hr_never_raises_above_the_cap_never_increases_untrusted_never_jumps_past_the_rate(
    hr_max: int | None,
    base: int,
    zone: tuple[int, int] | None,
    start: float,
    floor: float,
    caps: list[float],
    ticks: list[tuple[tuple[int, bool | None, float, bool] | None, float | None, float]],
) -> None:
    # a cap below the belt's minimum never reaches the HR coach: the link refuses it
    # (LimitsError) before a session starts, and the coach then keeps the cap anyway
    assume(floor <= min(caps))
    coach = HeartRateCoach(hr_max)
    coach.begin_step(None if zone is None else HrZone(zone[0], zone[0] + zone[1]), start)
    now = 0.0
    prev_goal: float | None = None
    prev_limit: float = math.inf
    last_goal_rise = -math.inf
    for i, (raw, speed, dt) in enumerate(ticks):
        now += dt
        commanded = speed if speed is not None else (prev_goal if prev_goal is not None else start)
        bounds = SpeedBounds(floor, caps[i % len(caps)])
        sample = None
        if raw is not None:
            bpm, contact, age, relative = raw
            sample = HrSample(base + bpm if relative else bpm, contact, now - age)
        d = coach.update(now, sample, commanded, bounds)
        limit = math.inf if d.limit_kmh is None else d.limit_kmh
        # caps always win
        if d.goal_kmh is not None:
            assert d.goal_kmh <= bounds.cap_kmh + 1e-9
        if d.limit_kmh is not None:
            assert d.limit_kmh <= bounds.cap_kmh + 1e-9
        trusted = d.signal is HrSignal.OK
        assert d.holding == (d.signal not in (HrSignal.OK, HrSignal.ABSENT))
        if d.stop:
            assert trusted
        if prev_goal is not None and d.goal_kmh is not None:
            rise = d.goal_kmh - prev_goal
            # only on trusted data, one step at most, once per interval at most ...
            # ... unless the floor lifted it (a belt minimum is not an HR decision)
            if rise > 1e-9 and not math.isclose(d.goal_kmh, bounds.floor_kmh):
                assert trusted
                assert rise <= CFG.step_kmh + 1e-9
                assert now - last_goal_rise >= CFG.adjust_interval_s - 1e-9
                last_goal_rise = now
        if limit > prev_limit + 1e-9:
            assert trusted
            assert d.limit_kmh is None or d.limit_kmh - prev_limit <= CFG.step_kmh + 1e-9
        if d.goal_kmh is not None and prev_goal is not None and d.goal_kmh > prev_goal + 1e-9:
            event("zone goal rose")
        if d.limit_kmh is not None and limit < prev_limit - 1e-9:
            event("ceiling limit fell")
        if d.stop:
            event("hr_ceiling stop")
        prev_goal = d.goal_kmh
        prev_limit = limit


# --- plans and limits carry the settings --------------------------------------------------------

_PLAN = 'name = "z"\ntitle = "Z"\n[[segments]]\nkind = "backward_walk"\nduration = "5 min"\nspeed = 3.0\n'


def test_a_plan_segment_carries_its_hr_zone_and_a_step_finds_it() -> None:
    from treadcoach.coach.heart_rate import zone_for_step
    from treadcoach.coach.plan import parse_plan
    from treadcoach.coach.schedule import expand

    plan = parse_plan(_PLAN + 'hr_zone = ["60%", "70%"]\n', "z.toml")
    steps = expand(plan)
    zones = [zone_for_step(plan, step) for step in steps]
    assert HrZone(60, 70, "pct") in zones
    assert all(z is None for z, s in zip(zones, steps, strict=True) if s.source_path is None)


def test_a_bad_hr_zone_in_a_plan_is_one_message_naming_the_segment() -> None:
    from treadcoach.coach.plan import parse_plan
    from treadcoach.errors import PlanError

    with pytest.raises(PlanError) as caught:
        parse_plan(_PLAN + "hr_zone = [120, 110]\n", "z.toml")
    assert str(caught.value).startswith("z.toml: segment 1 (backward_walk): hr_zone: ")


def test_hr_max_bpm_is_a_limit() -> None:
    from pydantic import ValidationError

    from treadcoach.config import UserLimits

    assert UserLimits().hr_max_bpm is None
    assert UserLimits(hr_max_bpm=165).hr_max_bpm == 165
    with pytest.raises(ValidationError):
        UserLimits(hr_max_bpm=300)


def test_a_stop_decision_says_the_ceiling_and_how_long_the_pulse_was_above_it() -> None:
    coach = HeartRateCoach(150)
    decisions = [coach.update(float(t), HrSample(165, True, float(t)), 3.0, B) for t in range(21)]
    assert decisions[0].above_for_s == 0.0
    assert decisions[-1].stop
    assert (decisions[-1].ceiling_bpm, decisions[-1].above_for_s) == (150, 20.0)
    assert coach.update(21.0, HrSample(120, True, 21.0), 3.0, B).above_for_s is None
