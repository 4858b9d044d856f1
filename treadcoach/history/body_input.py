"""What the progression reads from the journal about the body (issue 16): ``past_sessions``.

Per finished, saved session (``Journal.past_sessions``: an interrupted session, or one its user
was told was NOT SAVED, is never counted), a ``coach.progression.PastSession`` with

* the check-in (RPE, pain) and the stop reason (``dizzy`` is a step back);
* the dose its backward walk ran at (the first ``backward_walk`` segment's target and incline);
* the steady heart rate of its backward work per speed and incline (``backward_heart_rate``),
  from ``telemetry.heart_rate_bpm``, for the habituation rule. Hooper et al. 2004: backward
  walking costs ~17-20 % more %HRmax than forward at the same speed, so only backward segments
  are compared, and only with each other at the same speed and incline.

Only sessions of the last ``HR_WINDOW_DAYS`` are read for heart rate: habituation is judged
over weeks (Heath 2001: four), and reading months of 10 Hz telemetry at every start would cost
seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from treadcoach.coach.body import HrAtSpeed
from treadcoach.coach.events import SegmentStarted, Telemetry
from treadcoach.coach.kinds import BACKWARD_KINDS, SegmentKind
from treadcoach.coach.progression import PastSession
from treadcoach.history.journal import Journal, SessionRecord

__all__ = [
    "AT_SPEED_KMH",
    "HR_WINDOW_DAYS",
    "MIN_READINGS",
    "SETTLE_S",
    "backward_heart_rate",
    "past_sessions",
    "walk_dose",
]

# Heart rate climbs for the first minute or two at a new load: readings count from this many
# seconds into a segment (a 20-30 s retro bout gives none; the backward walk does).
SETTLE_S = 60.0
# A reading counts only with the belt at the segment's speed (not ramping, not paused).
AT_SPEED_KMH = 0.3
# Fewer readings than this at a speed are not a steady heart rate.
MIN_READINGS = 10
HR_WINDOW_DAYS = 42


def backward_heart_rate(
    started_at: datetime, events: Iterable[SegmentStarted | Telemetry | object]
) -> tuple[HrAtSpeed, ...]:
    """Mean heart rate of the session's backward segments, per (target speed, incline).

    A reading counts when it is a pulse (> 0 bpm), in a backward segment, ``SETTLE_S`` or more
    after the segment began, with the belt within ``AT_SPEED_KMH`` of the target.
    """
    segments: dict[int, SegmentStarted] = {}
    current: SegmentStarted | None = None
    readings: dict[tuple[float, float], list[int]] = {}
    for event in events:
        if isinstance(event, SegmentStarted):
            segments[event.index] = current = event
            continue
        if not isinstance(event, Telemetry) or not event.heart_rate_bpm:
            continue
        segment = current if event.segment_index is None else segments.get(event.segment_index)
        if segment is None or segment.kind not in BACKWARD_KINDS:
            continue
        if (
            event.t - segment.t < SETTLE_S
            or abs(event.speed_kmh - segment.target_kmh) > AT_SPEED_KMH
        ):
            continue
        key = (round(segment.target_kmh, 2), round(segment.incline_pct or 0.0, 1))
        readings.setdefault(key, []).append(event.heart_rate_bpm)
    return tuple(
        HrAtSpeed(started_at, speed, incline, sum(bpm) / len(bpm))
        for (speed, incline), bpm in sorted(readings.items())
        if len(bpm) >= MIN_READINGS
    )


def walk_dose(events: Iterable[SegmentStarted | Telemetry | object]) -> tuple[float, float] | None:
    """(target km/h, incline %) of the session's first backward walk; None if it had none."""
    for event in events:
        if isinstance(event, SegmentStarted) and event.kind is SegmentKind.BACKWARD_WALK:
            return event.target_kmh, event.incline_pct or 0.0
    return None


def past_sessions(journal: Journal, today: date | None = None) -> list[PastSession]:
    """The progression's input: counted sessions, oldest first, with check-in, dose and HR."""
    today = date.today() if today is None else today
    since = today - timedelta(days=HR_WINDOW_DAYS)
    records = journal.past_sessions()
    return [_past(journal, r, read=_local_date(r.started_at) >= since) for r in records]


def _past(journal: Journal, record: SessionRecord, *, read: bool) -> PastSession:
    events: Sequence[SegmentStarted | Telemetry] = (
        journal.pulse_events(record.id) if read and record.backward_s > 0 else ()
    )
    dose = walk_dose(events)
    return PastSession(
        started_at=record.started_at,
        plan=record.plan,
        planned_backward_s=record.planned_backward_s,
        backward_s=record.backward_s,
        completed=record.completed,
        stop_reason=record.stop_reason,
        rpe=record.rpe,
        pain=record.pain,
        walk_kmh=None if dose is None else dose[0],
        walk_incline_pct=0.0 if dose is None else dose[1],
        hr_at_speed=backward_heart_rate(record.started_at, events),
    )


def _local_date(moment: datetime) -> date:
    return moment.astimezone().date() if moment.tzinfo is not None else moment.date()
