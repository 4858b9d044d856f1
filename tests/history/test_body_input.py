"""What the progression reads from a real journal (history.body_input): check-in, the walk's
dose, the steady backward heart rate, and which sessions count. Then the whole way through:
journal -> past_sessions -> suggest_next."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from treadcoach.coach.events import Connected, Event, SegmentStarted, Stop, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.progression import ladder_walk_kmh, plan_for, suggest_next
from treadcoach.history import Journal
from treadcoach.history.body_input import (
    HR_WINDOW_DAYS,
    MIN_READINGS,
    SETTLE_S,
    backward_heart_rate,
    journal_heart_rate,
    past_sessions,
    walk_dose,
)
from treadcoach.history.checkin import CheckIn
from treadcoach.history.checkin_store import save_checkin
from treadcoach.safety.reasons import StopReason

DAY0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def walk_session(
    walk_kmh: float,
    bpm: int | None,
    *,
    walk_s: float = 150.0,
    incline: float | None = None,
    stop: StopReason = StopReason.PLAN_END,
    stop_in_warmup: bool = False,
) -> list[Event]:
    """Warm-up 60 s, backward walk ``walk_s`` at ``walk_kmh`` (pulse ``bpm``), cool-down 30 s;
    1 Hz telemetry; the belt takes 3 s to reach each target."""
    plan = [
        (SegmentKind.WARMUP, 5.0, 60.0, None),
        (SegmentKind.BACKWARD_WALK, walk_kmh, walk_s, incline),
        (SegmentKind.COOLDOWN, 4.5, 30.0, None),
    ]
    events: list[Event] = [Connected(t=0.0, device="Sim", address="SIM-1", simulated=True)]
    t, distance, speed = 0.0, 0.0, 0.0
    for index, (kind, kmh, seconds, pct) in enumerate(plan):
        events.append(
            SegmentStarted(
                t=t, index=index, kind=kind, target_kmh=kmh, duration_s=seconds, incline_pct=pct
            )
        )
        for second in range(int(seconds)):
            t += 1.0
            speed = kmh if second >= 3 else (speed + kmh) / 2
            distance += speed / 3.6
            events.append(
                Telemetry(
                    t=t,
                    speed_kmh=speed,
                    distance_m=round(distance, 3),
                    target_kmh=kmh,
                    heart_rate_bpm=bpm,
                    segment_index=index,
                )
            )
            if stop_in_warmup and index == 0 and second == 20:
                return [
                    *events,
                    Stop(t=t, reason=stop),
                    Summary(t=t, completed=False, stop_reason=stop),
                ]
    completed = stop is StopReason.PLAN_END
    return [*events, Stop(t=t, reason=stop), Summary(t=t, completed=completed, stop_reason=stop)]


def record(
    journal: Journal, events: list[Event], started_at: datetime, *, planned_s: float = 150.0
) -> int:
    session_id = journal.begin_session(
        plan=plan_for(planned_s).name,
        device="Sim",
        address="SIM-1",
        simulated=True,
        planned_backward_s=planned_s,
        planned_duration_s=planned_s + 90,
        started_at=started_at,
    )
    for event in events:
        journal.append(session_id, event)
    return session_id


def test_steady_backward_heart_rate_skips_the_first_minute_ramps_and_forward_work() -> None:
    events = walk_session(4.0, 120)
    # forward segments at another pulse must not leak in
    events = [
        e.model_copy(update={"heart_rate_bpm": 90})
        if isinstance(e, Telemetry) and e.segment_index != 1
        else e
        for e in events
    ]
    [hr] = backward_heart_rate(DAY0, events)
    assert (hr.speed_kmh, hr.incline_pct, hr.mean_bpm) == (4.0, 0.0, 120.0)
    # a walk shorter than the settling minute plus MIN_READINGS gives nothing
    short = walk_session(4.0, 120, walk_s=SETTLE_S + MIN_READINGS - 2)
    assert backward_heart_rate(DAY0, short) == ()
    assert backward_heart_rate(DAY0, walk_session(4.0, None)) == ()


def _jittered(events: list[Event]) -> list[Event]:
    """Pulse varying per reading, a pause (speed 0) and a repeated segment (a reconnect)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Telemetry):
            update: dict[str, object] = {"heart_rate_bpm": 100 + round(event.t * 7) % 40}
            if 150 < event.t < 165:
                update["speed_kmh"] = 0.0  # paused
            event = event.model_copy(update=update)
        out.append(event)
        if isinstance(event, Telemetry) and event.t == 170.0:
            walk = next(e for e in events if isinstance(e, SegmentStarted) and e.index == 1)
            out.append(walk.model_copy(update={"t": 170.0}))  # announced again
    return out


@pytest.mark.parametrize(
    "events",
    [
        walk_session(4.0, 120),
        walk_session(4.0, 120, incline=1.5, walk_s=400),
        _jittered(walk_session(4.0, 120, walk_s=400)),
        _jittered(walk_session(4.0, 120, walk_s=400))[:300],  # interrupted mid-walk
        walk_session(4.0, 120, walk_s=200, stop=StopReason.KEY),
    ],
    ids=["steady", "inclined", "jittered", "interrupted", "stopped"],
)
def test_the_journal_reads_the_same_heart_rate_as_the_stream_says(
    journal_path: Path, events: list[Event]
) -> None:
    with Journal.open(journal_path) as journal:
        session_id = record(journal, events, DAY0)
        read = journal_heart_rate(journal, session_id, DAY0)
    expected = backward_heart_rate(DAY0, events)
    assert expected  # the case has something to compare
    assert [(h.speed_kmh, h.incline_pct) for h in read] == [
        (h.speed_kmh, h.incline_pct) for h in expected
    ]
    assert [h.mean_bpm for h in read] == pytest.approx([h.mean_bpm for h in expected])


def test_the_walk_dose_is_the_backward_walks_target_and_incline() -> None:
    assert walk_dose(walk_session(4.2, 120, incline=1.0)) == (4.2, 1.0)
    assert walk_dose(walk_session(4.0, 120)) == (4.0, 0.0)
    assert walk_dose(walk_session(4.0, 120)[:3]) is None  # stopped in the warm-up


def test_past_sessions_carry_checkin_dose_and_heart_rate_of_counted_sessions_only(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        first = record(journal, walk_session(4.0, 130), DAY0)
        interrupted = record(journal, walk_session(4.0, 125)[:120], DAY0 + timedelta(days=1))
        dizzy = record(
            journal, walk_session(4.0, 128, stop=StopReason.DIZZY), DAY0 + timedelta(days=2)
        )
    save_checkin(journal_path, first, CheckIn(rpe=13, pain=1))
    save_checkin(journal_path, interrupted, CheckIn(rpe=19, pain=9))
    with Journal.open(journal_path) as journal:
        past = past_sessions(journal, today=DAY0.date() + timedelta(days=3))
    assert [p.started_at for p in past] == [DAY0, DAY0 + timedelta(days=2)]  # not interrupted
    one, two = past
    assert (one.rpe, one.pain, one.walk_kmh, one.walk_incline_pct) == (13, 1, 4.0, 0.0)
    assert [h.mean_bpm for h in one.hr_at_speed] == [130.0]
    assert two.stop_reason == "dizzy"
    assert dizzy  # recorded


def test_heart_rate_older_than_the_window_is_not_read(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        [past] = past_sessions(journal, today=DAY0.date() + timedelta(days=HR_WINDOW_DAYS + 1))
    assert past.hr_at_speed == ()
    assert past.walk_kmh is None  # a dose that old is not carried on anyway (a missed week)


def _four_weeks(journal: Journal, bpm_by_day: dict[int, int], walk_kmh: float = 4.0) -> None:
    for day, bpm in bpm_by_day.items():
        record(journal, walk_session(walk_kmh, bpm), DAY0 + timedelta(days=day))


# Heath 2001: heart rate ~143 -> ~119 bpm over four weeks at the same speed
HEATH = {0: 143, 3: 141, 7: 136, 14: 131, 21: 125, 25: 121, 28: 119}


def _walk_speed(suggestion_plan: object) -> float:
    plan = suggestion_plan
    segments = [s for _, s, _ in plan.flat()]  # type: ignore[attr-defined]
    return next(s.speed for s in segments if s.kind is SegmentKind.BACKWARD_WALK)


def test_habituation_in_the_journal_raises_the_walk_one_step_and_holds_the_volume(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        _four_weeks(journal, HEATH)
        today = DAY0.date() + timedelta(days=29)
        suggestion = suggest_next(past_sessions(journal, today), today)
    assert _walk_speed(suggestion.plan) == pytest.approx(ladder_walk_kmh(150) + 0.2)
    assert suggestion.backward_s == 150  # one step per session: the dose, not the volume
    assert "fell" in suggestion.reason


def test_without_falling_heart_rate_the_volume_grows_at_the_ladders_speed(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        _four_weeks(journal, dict.fromkeys(HEATH, 140))
        today = DAY0.date() + timedelta(days=29)
        suggestion = suggest_next(past_sessions(journal, today), today)
    assert suggestion.backward_s == 180
    assert _walk_speed(suggestion.plan) == ladder_walk_kmh(180)


@pytest.mark.parametrize(
    ("checkin", "stop", "expected_s"),
    [
        (CheckIn(rpe=12, pain=6), StopReason.PLAN_END, 120),  # pain >= 5: step back
        (CheckIn(rpe=17, pain=0), StopReason.PLAN_END, 120),  # very hard: step back
        (CheckIn(rpe=15, pain=0), StopReason.PLAN_END, 150),  # hard: hold
        (CheckIn(), StopReason.DIZZY, 120),  # dizzy: step back
    ],
)
def test_the_checkin_and_a_dizzy_stop_in_the_journal_hold_or_step_back_and_block_habituation(
    journal_path: Path, checkin: CheckIn, stop: StopReason, expected_s: float
) -> None:
    with Journal.open(journal_path) as journal:
        _four_weeks(journal, {d: b for d, b in HEATH.items() if d < 28})
        last = record(journal, walk_session(4.0, 119, stop=stop), DAY0 + timedelta(days=28))
    save_checkin(journal_path, last, checkin)
    today = DAY0.date() + timedelta(days=29)
    with Journal.open(journal_path) as journal:
        suggestion = suggest_next(past_sessions(journal, today), today)
    assert suggestion.backward_s == expected_s
    assert _walk_speed(suggestion.plan) <= 4.0  # never a step up


def test_a_dizzy_stop_in_the_warm_up_still_steps_back(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        record(
            journal,
            walk_session(4.0, 130, stop=StopReason.DIZZY, stop_in_warmup=True),
            DAY0 + timedelta(days=2),
            planned_s=180,
        )
        today = DAY0.date() + timedelta(days=3)
        past = past_sessions(journal, today)
    assert past[-1].backward_s == 0  # no backward work: the volume rules do not count it
    assert suggest_next(past, today).backward_s == 120  # but the body does: back from 150


def test_a_session_reported_not_saved_is_never_counted(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        _four_weeks(journal, HEATH)
        hidden = record(journal, walk_session(4.0, 119), DAY0 + timedelta(days=29))
        journal._db.execute("UPDATE sessions SET not_saved = 'disk full' WHERE id = ?", (hidden,))
        today = DAY0.date() + timedelta(days=30)
        past = past_sessions(journal, today)
    assert len(past) == len(HEATH)
    assert all(p.started_at < DAY0 + timedelta(days=29) for p in past)


def test_reading_the_progression_input_does_not_parse_every_event(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Journal.open(journal_path) as journal:
        _four_weeks(journal, HEATH)

        def refuse(*_: object) -> None:
            raise AssertionError("past_sessions parsed whole events")

        monkeypatch.setattr(Journal, "events", refuse)
        assert len(past_sessions(journal, date(2026, 12, 1))) == len(HEATH)
