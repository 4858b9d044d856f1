"""Progression over weeks: small steps up, back after stops and missed weeks, never a jump."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan
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
