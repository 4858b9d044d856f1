"""Progression over weeks: small steps up, back after stops and missed weeks, never a jump."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan, Segment
from treadcoach.coach.progression import (
    DEFAULT_SETTINGS,
    PastSession,
    ProgressionSettings,
    Suggestion,
    plan_for,
    suggest_next,
)
from treadcoach.coach.schedule import backward_time_s, expand
from treadcoach.errors import LimitsError
from treadcoach.safety.reasons import StopReason

MONDAY = date(2025, 1, 6)


def session(
    day: date, planned: float, *, completed: bool = True, reason: str | None = None
) -> PastSession:
    return PastSession(
        started_at=datetime.combine(day, time(7, 30)),
        plan=f"progression-{planned:g}s",
        planned_backward_s=planned,
        backward_s=planned if completed else planned / 2,
        completed=completed,
        stop_reason=None if completed else reason,
    )


def simulate(days: Sequence[tuple[int, str]]) -> tuple[list[float], list[Suggestion]]:
    """Each (day offset, outcome): ask for a suggestion, then do it with that outcome."""
    history: list[PastSession] = []
    suggestions: list[Suggestion] = []
    for offset, outcome in days:
        today = MONDAY + timedelta(days=offset)
        suggestion = suggest_next(history, today, DEFAULT_SETTINGS)
        suggestions.append(suggestion)
        if outcome != "ask":
            done = outcome == "done"
            history.append(
                session(
                    today, suggestion.backward_s, completed=done, reason=None if done else outcome
                )
            )
    return [s.backward_s for s in suggestions], suggestions


def retro_bouts(plan: Plan) -> list[float]:
    return [s.duration_s or 0 for _, s, _ in plan.flat() if s.kind is SegmentKind.RETRO_RUN]


def test_the_first_session_is_two_minutes_of_backward_walking_at_2_mph() -> None:
    suggestion = suggest_next([], MONDAY)
    assert suggestion.backward_s == 120
    backward = [s for _, s, _ in suggestion.plan.flat() if s.kind.is_backward]
    assert [(s.kind, s.duration_s) for s in backward] == [(SegmentKind.BACKWARD_WALK, 120)]
    assert backward[0].speed_kmh(suggestion.plan.units) == pytest.approx(3.2)
    assert "First session" in suggestion.reason


def test_three_sessions_a_week_grow_by_the_stricter_of_30_s_and_20_percent() -> None:
    days = [(week * 7 + d, "done") for week in range(4) for d in (0, 2, 4)]
    volumes, suggestions = simulate(days)
    # 120 +24 -> 140 (5 s grid) +28 -> 165 +30 -> 195; from 3 min the walk splits into
    # retro bouts of whole seconds, so a little under the target: 224, 250, 276, 302 ...
    assert volumes == [120, 140, 165, 195, 224, 250, 276, 302, 330, 360, 390, 420]
    for before, after in itertools.pairwise(volumes):
        assert after - before <= min(30, 0.2 * before) + 1e-9
    assert retro_bouts(suggestions[2].plan) == []  # 2:45 is still one backward walk
    assert retro_bouts(suggestions[3].plan) == [25, 25, 25]  # then 20-30 s bouts


def test_it_reaches_ten_minutes_over_weeks_and_stays_there() -> None:
    days = [(week * 7 + d, "done") for week in range(12) for d in (0, 2, 4)]
    volumes, suggestions = simulate(days)
    assert max(volumes) == 600
    first_at_600 = volumes.index(600)
    assert first_at_600 >= 15  # at least 5 weeks of 3 sessions
    assert all(v == 600 for v in volumes[first_at_600:])
    assert all(20 <= b <= 30 for s in suggestions for b in retro_bouts(s.plan))


def test_a_missed_week_and_a_stopped_session_fall_back_and_never_jump() -> None:
    days = [
        (0, "done"),  # 120
        (2, "done"),  # 140
        (4, "done"),  # 165
        (7, "done"),  # 195
        (9, StopReason.KEY.value),  # 224 planned, stopped by the person
        (11, "done"),  # step back 20 %: 224 * 0.8 = 179.2 -> 175
        (14, "done"),  # 175 + 30 -> 205: 2:00 walk + 3 x 28 s bouts = 204
        # a missed week: 10 days since the last session
        (24, "done"),  # step back from 204: 163.2 -> 160
        (26, StopReason.DISCONNECT.value),  # 160 + 30 -> 190 (189 in whole-second bouts);
        # the link was lost: not the runner's doing
        (28, "done"),  # repeat 189 exactly
        # four weeks off
        (56, "ask"),
    ]
    volumes, suggestions = simulate(days)
    assert volumes == [120, 140, 165, 195, 224, 175, 204, 160, 189, 189, 120]
    assert "step back 20%" in suggestions[5].reason
    assert "10 days since the last session" in suggestions[7].reason
    assert "Stopped by a fault (disconnect)" in suggestions[9].reason
    assert "restart" in suggestions[10].reason


def test_only_one_increase_a_day() -> None:
    history = [session(MONDAY, 120)]
    assert suggest_next(history, MONDAY).backward_s == 120
    assert suggest_next(history, MONDAY + timedelta(days=1)).backward_s == 140


def test_repeated_stops_step_down_to_the_floor() -> None:
    volumes, _ = simulate([(d, StopReason.PEDAL.value) for d in range(0, 12, 2)])
    assert volumes == [120, 95, 75, 60, 60, 60]


def test_an_interrupted_session_with_no_reason_steps_back() -> None:
    history = [session(MONDAY, 200, completed=False, reason=None)]
    assert suggest_next(history, MONDAY + timedelta(days=1)).backward_s <= 200 * 0.8


def test_sessions_without_backward_work_do_not_count() -> None:
    forward_only = PastSession(
        started_at=datetime.combine(MONDAY, time(8)),
        plan="forward",
        planned_backward_s=0,
        backward_s=0,
        completed=False,
        stop_reason="key",
    )
    history = [session(MONDAY - timedelta(days=2), 140), forward_only]
    assert suggest_next(history, MONDAY + timedelta(days=1)).backward_s == 165


def test_a_session_stopped_before_any_backward_work_does_not_count() -> None:
    # Stopped 1 s into the warm-up: it planned 2:00 backward but did none, so it says nothing
    # about how the walker copes with backward work (docs/plans.md).
    stopped_in_warmup = PastSession(
        started_at=datetime.combine(MONDAY, time(8)),
        plan="progression-120s",
        planned_backward_s=120,
        backward_s=0,
        completed=False,
        stop_reason=StopReason.KEY.value,
    )
    first = suggest_next([stopped_in_warmup], MONDAY + timedelta(days=1))
    assert first.backward_s == 120
    assert "First session" in first.reason
    history = [session(MONDAY - timedelta(days=2), 140), stopped_in_warmup]
    assert suggest_next(history, MONDAY + timedelta(days=1)).backward_s == 165


def test_timezone_aware_start_times_are_read_as_local_days() -> None:
    aware = PastSession(
        started_at=datetime(2025, 1, 6, 12, tzinfo=UTC),
        plan="p",
        planned_backward_s=120,
        backward_s=120,
        completed=True,
        stop_reason=None,
    )
    assert suggest_next([aware], date(2025, 1, 9)).backward_s == 140


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"max_backward_s": 900}, "progression.max_backward_s"),
        ({"step_s": 60}, "progression.step_s"),
        ({"step_fraction": 0.5}, "progression.step_fraction"),
        ({"start_backward_s": 30}, "progression.start_backward_s"),
        ({"stepback_fraction": math.nan}, "progression.stepback_fraction"),
        ({"missed_days": 30}, "progression.missed_days"),
    ],
)
def test_settings_cannot_make_progression_bolder_than_the_guidance(
    kwargs: dict[str, float], setting: str
) -> None:
    with pytest.raises(LimitsError) as exc:
        ProgressionSettings(**kwargs)  # type: ignore[arg-type]
    assert exc.value.setting == setting


@pytest.mark.parametrize("volume", [60, 120, 150, 180, 185, 240, 300, 360, 365, 480, 600])
def test_the_ladder_plans_the_volume_with_retro_bouts_of_20_to_30_s(volume: float) -> None:
    plan = plan_for(volume)
    steps = expand(plan)
    assert volume - 5 <= backward_time_s(steps) <= volume
    assert all(20 <= b <= 30 for b in retro_bouts(plan))
    if volume <= 180:
        assert retro_bouts(plan) == []
    kinds = [s.kind for _, s, _ in plan.flat()]
    assert kinds[0] is SegmentKind.WARMUP
    assert kinds[-1] is SegmentKind.COOLDOWN


_REASONS = [r.value for r in StopReason] + [None, "something-new"]


@st.composite
def histories(draw: st.DrawFn) -> list[PastSession]:
    sessions = []
    for _ in range(draw(st.integers(0, 12))):
        completed = draw(st.booleans())
        planned = draw(st.floats(min_value=0, max_value=900))
        sessions.append(
            PastSession(
                started_at=datetime.combine(
                    MONDAY + timedelta(days=draw(st.integers(0, 60))), time(7)
                ),
                plan="any",
                planned_backward_s=planned,
                backward_s=draw(st.floats(min_value=0, max_value=900)),
                completed=completed,
                stop_reason=None if completed else draw(st.sampled_from(_REASONS)),
            )
        )
    return sessions


@settings(max_examples=300, deadline=None)
@given(histories(), st.integers(0, 40))
def test_the_suggestion_never_jumps_and_never_exceeds_ten_minutes(
    history: list[PastSession], days_after: int
) -> None:
    # Only sessions with backward work count (docs/plans.md): completed, or some backward done.
    relevant = sorted(
        (s for s in history if s.planned_backward_s > 0 and (s.completed or s.backward_s > 0)),
        key=lambda s: s.started_at,
    )
    last_day = relevant[-1].started_at.date() if relevant else MONDAY
    suggestion = suggest_next(history, last_day + timedelta(days=days_after))
    volume = suggestion.backward_s

    assert 0 < volume <= 600
    completed = [s for s in relevant if s.completed]
    if completed:
        base = completed[-1].planned_backward_s
        assert volume <= base + min(30, 0.2 * base) + 1e-9
    else:
        assert volume <= DEFAULT_SETTINGS.start_backward_s
    if relevant and not relevant[-1].completed:
        assert volume <= max(relevant[-1].planned_backward_s, DEFAULT_SETTINGS.min_backward_s)
    assert backward_time_s(expand(suggestion.plan)) == pytest.approx(volume)
    assert all(20 <= b <= 30 for b in retro_bouts(suggestion.plan))


# --- the body: check-in, dizzy stops, heart-rate habituation (issue 16, coach.body) ----------

from treadcoach.coach.body import DEFAULT_BODY_RULES, HrAtSpeed  # noqa: E402
from treadcoach.coach.progression import (  # noqa: E402
    BACKWARD_INCLINE_MAX_PCT,
    BACKWARD_WALK_MAX_KMH,
    DoseCaps,
    ladder_walk_kmh,
)

BODY = DEFAULT_BODY_RULES


def walked(
    day: int,
    planned: float = 150.0,
    *,
    bpm: float | None = None,
    walk_kmh: float | None = None,
    incline: float = 0.0,
    completed: bool = True,
    reason: str | None = None,
    rpe: int | None = None,
    pain: int | None = None,
) -> PastSession:
    """A progression session ``day`` days after MONDAY whose walk ran at ``walk_kmh`` (default:
    the ladder's), with a steady backward pulse ``bpm`` at that speed."""
    at = datetime.combine(MONDAY + timedelta(days=day), time(7, 30))
    kmh = ladder_walk_kmh(planned) if walk_kmh is None else walk_kmh
    hr = () if bpm is None else (HrAtSpeed(at, kmh, incline, bpm),)
    return PastSession(
        started_at=at,
        plan=plan_for(planned).name,
        planned_backward_s=planned,
        backward_s=planned if completed else planned / 2,
        completed=completed,
        stop_reason=None if completed else reason,
        rpe=rpe,
        pain=pain,
        walk_kmh=kmh,
        walk_incline_pct=incline,
        hr_at_speed=hr,
    )


# Heath 2001: ~143 -> ~119 bpm at the same speed over four weeks
HEATH_DAYS = [(0, 143), (3, 141), (7, 136), (14, 131), (21, 125), (25, 121), (28, 119)]


def heath(**last: object) -> list[PastSession]:
    """Four weeks at 150 s, heart rate falling as in Heath 2001; ``last`` changes the last one."""
    sessions = [walked(d, bpm=b) for d, b in HEATH_DAYS[:-1]]
    day, bpm = HEATH_DAYS[-1]
    return [*sessions, walked(day, bpm=bpm, **last)]  # type: ignore[arg-type]


def walk_of(suggestion: Suggestion) -> Segment:
    return next(s for _, s, _ in suggestion.plan.flat() if s.kind is SegmentKind.BACKWARD_WALK)


def after_heath(history: list[PastSession], days: int = 1, **kw: object) -> Suggestion:
    return suggest_next(history, MONDAY + timedelta(days=HEATH_DAYS[-1][0] + days), **kw)  # type: ignore[arg-type]


def test_heart_rate_falling_at_the_same_speed_raises_the_walk_one_step_instead_of_the_volume() -> (
    None
):
    suggestion = after_heath(heath())
    assert walk_of(suggestion).speed == pytest.approx(ladder_walk_kmh(150) + BODY.speed_step_kmh)
    assert suggestion.backward_s == 150  # one step per session
    assert "fell" in suggestion.reason


def test_at_the_walking_speed_cap_habituation_raises_the_incline_then_nothing() -> None:
    caps = DoseCaps(walk_kmh=ladder_walk_kmh(150))
    suggestion = after_heath(heath(), caps=caps)
    assert walk_of(suggestion).speed == ladder_walk_kmh(150)
    assert walk_of(suggestion).incline_pct == BODY.incline_step_pct
    both = DoseCaps(walk_kmh=ladder_walk_kmh(150), incline_pct=0.0)
    suggestion = after_heath(heath(), caps=both)
    assert (walk_of(suggestion).speed, walk_of(suggestion).incline_pct) == (4.0, None)
    assert suggestion.backward_s == 180  # nothing to raise: the volume steps as usual


@pytest.mark.parametrize(
    ("last", "expected_s"),
    [
        ({"pain": 5}, 120),  # pain >= 5/10: step back
        ({"pain": 7, "rpe": 11}, 120),
        ({"rpe": 17}, 120),  # very hard: step back
        ({"pain": 3}, 150),  # moderate pain: hold
        ({"rpe": 15}, 150),  # hard: hold
        ({"completed": False, "reason": "dizzy"}, 120),  # dizzy: step back
    ],
)
def test_pain_effort_or_a_dizzy_stop_hold_or_step_back_and_never_step_up(
    last: dict[str, object], expected_s: float
) -> None:
    suggestion = after_heath(heath(**last))
    assert suggestion.backward_s == expected_s
    assert walk_of(suggestion).speed == ladder_walk_kmh(expected_s)  # habituation blocked
    assert walk_of(suggestion).incline_pct is None


def test_pain_rising_by_two_points_on_the_previous_session_steps_back() -> None:
    history = [walked(0, pain=1), walked(2, pain=3)]
    assert suggest_next(history, MONDAY + timedelta(days=3)).backward_s == 120
    steady = [walked(0, pain=2), walked(2, pain=2)]
    assert suggest_next(steady, MONDAY + timedelta(days=3)).backward_s == 180


def test_an_easy_checkin_lets_the_volume_grow_as_before() -> None:
    history = [walked(0, rpe=11, pain=0)]
    assert suggest_next(history, MONDAY + timedelta(days=1)).backward_s == 180


def test_a_dizzy_stop_before_any_backward_work_still_steps_back() -> None:
    warm_up_only = PastSession(
        started_at=datetime.combine(MONDAY + timedelta(days=2), time(7)),
        plan=plan_for(180).name,
        planned_backward_s=180,
        backward_s=0.0,
        completed=False,
        stop_reason="dizzy",
    )
    history = [walked(0), warm_up_only]
    assert suggest_next(history, MONDAY + timedelta(days=3)).backward_s == 120  # back from 150
    # an ordinary stop in the warm-up still says nothing (the old rule)
    keyed = dataclasses.replace(warm_up_only, stop_reason="key")
    assert suggest_next([walked(0), keyed], MONDAY + timedelta(days=3)).backward_s == 180


def test_a_raised_walk_sticks_on_later_plans_until_a_week_is_missed() -> None:
    raised = ladder_walk_kmh(150) + BODY.speed_step_kmh
    history = [walked(0, walk_kmh=raised)]
    suggestion = suggest_next(history, MONDAY + timedelta(days=1))
    assert suggestion.backward_s == 180
    assert walk_of(suggestion).speed == pytest.approx(raised)
    later = suggest_next(history, MONDAY + timedelta(days=1 + DEFAULT_SETTINGS.missed_days))
    assert walk_of(later).speed == ladder_walk_kmh(later.backward_s)


def test_no_habituation_step_on_the_day_of_the_last_session() -> None:
    same_day = after_heath(heath(), days=0)
    assert walk_of(same_day).speed == ladder_walk_kmh(150)
    assert same_day.backward_s == 150  # one increase a day: repeat


def test_a_stopped_last_session_gets_no_habituation_step() -> None:
    suggestion = after_heath(heath(completed=False, reason="key"))
    assert walk_of(suggestion).speed == ladder_walk_kmh(120)
    assert suggestion.backward_s == 120


def test_a_lowered_cap_brings_a_raised_walk_down() -> None:
    history = [walked(0, walk_kmh=4.6)]
    suggestion = suggest_next(history, MONDAY + timedelta(days=1), caps=DoseCaps(walk_kmh=4.2))
    assert walk_of(suggestion).speed <= 4.2


def test_dose_caps_follow_the_users_limits() -> None:
    assert DoseCaps.within(12.0) == DoseCaps(BACKWARD_WALK_MAX_KMH, BACKWARD_INCLINE_MAX_PCT)
    assert DoseCaps.within(4.0, 2.0) == DoseCaps(4.0, 2.0)
    with pytest.raises(LimitsError):
        DoseCaps(walk_kmh=0.0)


_BODY_REASONS = [None, "dizzy", "key", "stale", "pedal"]


@st.composite
def body_histories(draw: st.DrawFn) -> list[PastSession]:
    sessions = []
    for _ in range(draw(st.integers(0, 10))):
        day = draw(st.integers(0, 50))
        planned = draw(st.sampled_from([60.0, 120.0, 150.0, 180.0, 300.0, 600.0]))
        completed = draw(st.booleans())
        kmh = ladder_walk_kmh(planned) + draw(st.sampled_from([0.0, 0.2, 0.4, 0.8]))
        incline = draw(st.sampled_from([0.0, 1.0, 4.5]))
        at = datetime.combine(MONDAY + timedelta(days=day), time(7))
        bpm = draw(st.none() | st.floats(80, 180))
        hr = () if bpm is None else (HrAtSpeed(at, kmh, incline, bpm),)
        sessions.append(
            PastSession(
                started_at=at,
                plan=plan_for(planned).name,
                planned_backward_s=planned,
                backward_s=draw(st.sampled_from([0.0, planned / 2, planned])),
                completed=completed,
                stop_reason=None if completed else draw(st.sampled_from(_BODY_REASONS)),
                rpe=draw(st.none() | st.integers(6, 20)),
                pain=draw(st.none() | st.integers(0, 10)),
                walk_kmh=kmh,
                walk_incline_pct=incline,
                hr_at_speed=hr,
            )
        )
    return sessions


@st.composite
def habituating_histories(draw: st.DrawFn) -> list[PastSession]:
    """Weeks at one dose with the heart rate falling (so the habituation rule really fires),
    the last session's outcome and check-in drawn at random."""
    planned = draw(st.sampled_from([120.0, 150.0, 300.0, 600.0]))
    # 0.83 puts the 4.0 km/h walk at the 4.83 cap: then the incline is what can step
    kmh = ladder_walk_kmh(planned) + draw(st.sampled_from([0.0, 0.2, 0.6, 0.83]))
    incline = draw(st.sampled_from([0.0, 1.0, 4.5]))
    gaps = draw(st.lists(st.integers(2, 8), min_size=2, max_size=7))
    days = list(itertools.accumulate(gaps, initial=0))
    bpm = draw(st.floats(130, 160))
    sessions = []
    for n, day in enumerate(days):
        last = n == len(days) - 1
        at = datetime.combine(MONDAY + timedelta(days=day), time(7))
        bpm -= draw(st.floats(2, 12)) if n else 0
        completed = draw(st.sampled_from([True, True, True, False])) if last else True
        sessions.append(
            PastSession(
                started_at=at,
                plan=plan_for(planned).name,
                planned_backward_s=planned,
                backward_s=planned,
                completed=completed,
                stop_reason=None if completed else draw(st.sampled_from(_BODY_REASONS)),
                # mostly easy, so the habituation rule gets its turn
                rpe=draw(st.sampled_from([None, None, 9, 11, 13, 15, 17, 20])) if last else None,
                pain=draw(st.sampled_from([None, None, 0, 1, 2, 3, 5, 10])) if last else None,
                walk_kmh=kmh,
                walk_incline_pct=incline,
                hr_at_speed=(HrAtSpeed(at, kmh, incline, bpm),),
            )
        )
    return sessions


def _relevant(history: Sequence[PastSession]) -> list[PastSession]:
    return sorted(
        (s for s in history if s.planned_backward_s > 0 and (s.completed or s.backward_s > 0)),
        key=lambda s: s.started_at,
    )


def _says(history: Sequence[PastSession]) -> list[PastSession]:
    relevant = _relevant(history)
    return sorted(
        (
            s
            for s in history
            if s in relevant or s.rpe is not None or s.pain is not None or s.stop_reason == "dizzy"
        ),
        key=lambda s: s.started_at,
    )


@settings(max_examples=600, deadline=None)
@given(
    body_histories() | habituating_histories(),
    st.integers(1, 7) | st.integers(0, 12),
    st.sampled_from([BACKWARD_WALK_MAX_KMH, 6.0]) | st.floats(2.0, 6.0),
    st.sampled_from([BACKWARD_INCLINE_MAX_PCT, 0.0]) | st.floats(0.0, 6.0),
)
def test_no_body_rule_raises_a_cap_jumps_more_than_one_step_or_steps_up_after_pain_or_dizziness(
    history: list[PastSession], days_after: int, walk_cap: float, incline_cap: float
) -> None:
    caps = DoseCaps(walk_kmh=walk_cap, incline_pct=incline_cap)
    relevant = _relevant(history)
    last_day = relevant[-1].started_at.date() if relevant else MONDAY
    suggestion = suggest_next(history, last_day + timedelta(days=days_after), caps=caps)
    volume = suggestion.backward_s
    walks = [s for _, s, _ in suggestion.plan.flat() if s.kind is SegmentKind.BACKWARD_WALK]
    ladder = ladder_walk_kmh(volume)

    # caps: what the body adds never goes above them (a cap below the ladder: the session's
    # own caps clamp the ladder's speed, as they always have)
    for walk in walks:
        assert walk.speed <= max(caps.walk_kmh, ladder) + 1e-9
        if walk.speed > ladder + 1e-9:
            assert walk.speed <= caps.walk_kmh + 1e-9
        assert (walk.incline_pct or 0.0) <= caps.incline_pct + 1e-9
    assert volume <= DEFAULT_SETTINGS.max_backward_s
    # the volume never more than one growth step above the last completed session
    completed = [s for s in relevant if s.completed]
    if completed:
        base = completed[-1].planned_backward_s
        assert volume <= base + min(30, 0.2 * base) + 1e-9
    if not relevant:
        return
    last = relevant[-1]
    ours = [s for s in relevant if s.walk_kmh]
    before_up = max(0.0, ours[-1].walk_kmh - ladder_walk_kmh(ours[-1].planned_backward_s))  # type: ignore[operator]
    before_incline = ours[-1].walk_incline_pct
    now_up = max((w.speed - ladder for w in walks), default=0.0)
    now_incline = max((w.incline_pct or 0.0 for w in walks), default=0.0)
    speed_step = now_up - before_up > 1e-9
    incline_step = now_incline - before_incline > 1e-9
    # one step: at most one speed or one incline step, never both, never with a volume step
    assert now_up <= before_up + BODY.speed_step_kmh + 1e-9
    assert now_incline <= before_incline + BODY.incline_step_pct + 1e-9
    assert not (speed_step and incline_step)
    if speed_step or incline_step:
        assert volume <= last.planned_backward_s + 1e-9
        assert last.completed
    # pain, effort and dizziness never step up; the worst of them step back
    said = _says(history)
    word, previous = said[-1], (said[-2] if len(said) > 1 else None)
    rising = (
        word.pain is not None
        and previous is not None
        and previous.pain is not None
        and word.pain - previous.pain >= BODY.pain_rise
    )
    back = (
        word.stop_reason == "dizzy"
        or (word.pain is not None and word.pain >= BODY.pain_stop)
        or rising
        or (word.rpe is not None and word.rpe >= BODY.rpe_step_back)
    )
    hold = (word.pain is not None and word.pain >= BODY.pain_hold) or (
        word.rpe is not None and word.rpe >= BODY.rpe_hold
    )
    if back or hold:
        assert not speed_step
        assert not incline_step
        assert volume <= last.planned_backward_s + 1e-9
    event("speed step" if speed_step else "incline step" if incline_step else "no step")
    event("step back" if back else "hold" if hold else "free")
    if back:
        stepped = math.floor(DEFAULT_SETTINGS.step_back(last.planned_backward_s) / 5 + 1e-9) * 5
        assert volume <= max(stepped, DEFAULT_SETTINGS.min_backward_s) + 1e-9


@settings(max_examples=200, deadline=None)
@given(habituating_histories(), st.integers(1, 7))
def test_habituation_moves_exactly_one_step_within_the_caps_or_nothing(
    history: list[PastSession], days_after: int
) -> None:
    last = history[-1]
    easy = dataclasses.replace(last, completed=True, stop_reason=None, rpe=None, pain=None)
    history = [*history[:-1], easy]
    today = easy.started_at.date() + timedelta(days=days_after)
    suggestion = suggest_next(history, today)
    walk = walk_of(suggestion)
    assert easy.walk_kmh is not None
    before_up = easy.walk_kmh - ladder_walk_kmh(easy.planned_backward_s)
    up = walk.speed - ladder_walk_kmh(suggestion.backward_s)
    incline = walk.incline_pct or 0.0
    assert walk.speed <= BACKWARD_WALK_MAX_KMH + 1e-9
    assert incline <= BACKWARD_INCLINE_MAX_PCT + 1e-9
    if "fell" in suggestion.reason and suggestion.backward_s == easy.planned_backward_s:
        stepped_speed = up - before_up > 1e-9
        stepped_incline = incline - easy.walk_incline_pct > 1e-9
        event("speed" if stepped_speed else "incline" if stepped_incline else "at the caps")
        assert not (stepped_speed and stepped_incline)
        assert up - before_up <= BODY.speed_step_kmh + 1e-9
        assert incline - easy.walk_incline_pct <= BODY.incline_step_pct + 1e-9
    else:
        event("volume step")
        assert up <= before_up + 1e-9
        assert incline <= easy.walk_incline_pct + 1e-9


def test_an_inclined_walk_levels_the_belt_on_every_other_segment() -> None:
    for volume in (150.0, 300.0):
        plan = plan_for(volume, incline_pct=1.0)
        for _, segment, _ in plan.flat():
            expected = 1.0 if segment.kind is SegmentKind.BACKWARD_WALK else 0.0
            assert segment.incline_pct == expected
        assert all(s.incline_pct is None for _, s, _ in plan_for(volume).flat())


def test_a_checkin_that_cannot_be_read_holds_the_volume_and_a_dizzy_stop_still_steps_back() -> None:
    done = session(MONDAY, 150.0)
    unreadable = dataclasses.replace(done, checkin_unreadable=True)
    tomorrow = MONDAY + timedelta(days=1)
    assert suggest_next([done], tomorrow).backward_s == 180  # readable: a step up
    held = suggest_next([unreadable], tomorrow)
    assert held.backward_s == 150
    assert "could not be read" in held.reason
    dizzy = dataclasses.replace(
        unreadable, completed=False, stop_reason=StopReason.DIZZY.value, backward_s=75.0
    )
    assert suggest_next([dizzy], tomorrow).backward_s == 120
