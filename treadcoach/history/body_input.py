"""What the progression reads from the journal about the body (issue 16): ``past_sessions``.

Per finished, saved session (``Journal.past_sessions``: an interrupted session, or one its user
was told was NOT SAVED, is never counted), a ``coach.progression.PastSession`` with

* the check-in (RPE, pain) and the stop reason (``dizzy`` is a step back: any ``stop`` event
  saying dizzy makes it a dizzy session, whatever the summary's first reason was);
* the dose its backward walk ran at (the first ``backward_walk`` segment's target and incline);
* the steady heart rate of its backward work per speed and incline (``backward_heart_rate``),
  from ``telemetry.heart_rate_bpm``, for the habituation rule. Hooper et al. 2004: backward
  walking costs ~17-20 % more %HRmax than forward at the same speed, so only backward segments
  are compared, and only with each other at the same speed and incline.

The rule, once (``backward_windows``): a reading counts when it is a pulse (> 0 bpm), in a
backward segment from ``SETTLE_S`` after it began until the next segment, stop or summary, with
the belt within ``AT_SPEED_KMH`` of the target. ``backward_heart_rate`` applies it to a stream
in memory; ``journal_heart_rate`` lets SQLite add up only the windows' rows
(``Journal.pulse_sums``), since parsing weeks of telemetry at every ``run`` would take seconds.
A test holds the two equal. Only sessions of the last ``HR_WINDOW_DAYS`` are read: habituation
is judged over weeks (Heath 2001: four).

A dizzy stop counts even when the session does not (the process died before its summary, or
its user was told NOT SAVED): as a session that was never completed and stopped ``dizzy``, with
no dose and no heart rate -- so it can only step the next session back, never forward.

The journal is a file its user may edit (or another tool may write). What is not what the
recorder writes is never a traceback (invariant 8): a check-in off its scale is not read as
an answer and the session holds (the progression cannot know how it went, so it does not
grow from it -- nor step back on a number that means nothing); a ``segment``/``stop`` row that
cannot be read leaves the session's dose and heart rate unread (they can only ever raise the
next dose; its volume, from the session's row, still counts). Each such session gets ONE
warning line in the log naming the session and the field.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from treadcoach.coach.body import HrAtSpeed
from treadcoach.coach.events import Event, SegmentStarted, Stop, Summary, Telemetry
from treadcoach.coach.kinds import BACKWARD_KINDS, SegmentKind
from treadcoach.coach.progression import PastSession
from treadcoach.history.journal import DIZZY_STOP, Journal, SessionRecord

__all__ = [
    "AT_SPEED_KMH",
    "HR_WINDOW_DAYS",
    "MIN_READINGS",
    "SETTLE_S",
    "Window",
    "backward_heart_rate",
    "backward_windows",
    "journal_heart_rate",
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

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """Where a backward segment's steady heart rate is read: ``start_t <= t < end_t``."""

    start_t: float
    end_t: float
    target_kmh: float
    incline_pct: float


def backward_windows(marks: Iterable[Event]) -> list[Window]:
    """The windows of the backward segments among ``marks`` (other events are ignored)."""
    windows: list[Window] = []
    open_segment: SegmentStarted | None = None

    def close(at_t: float) -> None:
        if open_segment is not None and open_segment.kind in BACKWARD_KINDS:
            start = open_segment.t + SETTLE_S
            if at_t > start:
                incline = open_segment.incline_pct or 0.0
                windows.append(Window(start, at_t, open_segment.target_kmh, incline))

    for event in marks:
        if isinstance(event, SegmentStarted | Stop | Summary):
            close(event.t)
            open_segment = event if isinstance(event, SegmentStarted) else None
        if isinstance(event, Summary):
            break
    close(math.inf)  # interrupted: it ran to its last reading
    return windows


def _hr_at_speed(
    started_at: datetime, windows: Sequence[Window], sums: Sequence[tuple[int, int]]
) -> tuple[HrAtSpeed, ...]:
    totals: dict[tuple[float, float], list[int]] = {}
    for window, (bpm_sum, count) in zip(windows, sums, strict=True):
        key = (round(window.target_kmh, 2), round(window.incline_pct, 1))
        total = totals.setdefault(key, [0, 0])
        total[0] += bpm_sum
        total[1] += count
    return tuple(
        HrAtSpeed(started_at, speed, incline, bpm_sum / count)
        for (speed, incline), (bpm_sum, count) in sorted(totals.items())
        if count >= MIN_READINGS
    )


def backward_heart_rate(started_at: datetime, events: Sequence[Event]) -> tuple[HrAtSpeed, ...]:
    """Mean steady heart rate of the session's backward segments, per (target speed, incline)."""
    windows = backward_windows(events)
    readings = [e for e in events if isinstance(e, Telemetry) and e.heart_rate_bpm]
    sums = []
    for w in windows:
        bpm = [
            e.heart_rate_bpm or 0
            for e in readings
            if w.start_t <= e.t < w.end_t and abs(e.speed_kmh - w.target_kmh) <= AT_SPEED_KMH
        ]
        sums.append((sum(bpm), len(bpm)))
    return _hr_at_speed(started_at, windows, sums)


def journal_heart_rate(
    journal: Journal,
    session_id: int,
    started_at: datetime,
    marks: Sequence[Event] | None = None,
) -> tuple[HrAtSpeed, ...]:
    """``backward_heart_rate`` of a journaled session, added up by SQLite (``Journal.marks``
    and ``pulse_sums``) instead of parsing its telemetry."""
    marks = journal.marks(session_id) if marks is None else marks
    windows = backward_windows(marks)
    spans = [(w.start_t, w.end_t, w.target_kmh) for w in windows]
    return _hr_at_speed(started_at, windows, journal.pulse_sums(session_id, spans, AT_SPEED_KMH))


def walk_dose(events: Iterable[Event]) -> tuple[float, float] | None:
    """(target km/h, incline %) of the session's first backward walk; None if it had none."""
    for event in events:
        if isinstance(event, SegmentStarted) and event.kind is SegmentKind.BACKWARD_WALK:
            return event.target_kmh, event.incline_pct or 0.0
    return None


def past_sessions(journal: Journal, today: date | None = None) -> list[PastSession]:
    """The progression's input: counted sessions, oldest first, with check-in, dose and HR --
    and, counted or not, every recent session that stopped dizzy (module docstring)."""
    today = date.today() if today is None else today
    since = today - timedelta(days=HR_WINDOW_DAYS)
    start = datetime.combine(since, datetime.min.time()).astimezone()
    records = journal.past_sessions(dizzy_since=start)
    return [_past(journal, r, read=_local_date(r.started_at) >= since) for r in records]


def _past(journal: Journal, record: SessionRecord, *, read: bool) -> PastSession:
    dose: tuple[float, float] | None = None
    hr: tuple[HrAtSpeed, ...] = ()
    problems = [f"its check-in's {p}" for p in record.checkin_problems]
    if read and record.backward_s > 0 and record.counted:
        outline = journal.outline(record.id)
        if outline.problems:
            problems.append(outline.problems[0])
        else:
            dose = walk_dose(outline.marks)
            hr = journal_heart_rate(journal, record.id, record.started_at, outline.marks)
    if problems:
        log.warning(
            "journal %s: session %d (%s): %s%s; %s",
            journal.path,
            record.id,
            _local_date(record.started_at).isoformat(),
            problems[0],
            f" (and {len(problems) - 1} more)" if len(problems) > 1 else "",
            "the progression holds on it" if record.checkin_problems else
            "its walk dose and heart rate are not used",
        )  # fmt: skip
    completed, stop_reason = record.completed, record.stop_reason
    if record.dizzy:
        # stopped dizzy (in any stop event): never completed, never progress (module docstring)
        completed, stop_reason = False, DIZZY_STOP
    return PastSession(
        started_at=record.started_at,
        plan=record.plan,
        planned_backward_s=record.planned_backward_s,
        backward_s=record.backward_s,
        completed=completed,
        stop_reason=stop_reason,
        rpe=record.rpe,
        pain=record.pain,
        walk_kmh=None if dose is None else dose[0],
        walk_incline_pct=0.0 if dose is None else dose[1],
        hr_at_speed=hr,
        checkin_unreadable=record.checkin_unreadable,
    )


def _local_date(moment: datetime) -> date:
    return moment.astimezone().date() if moment.tzinfo is not None else moment.date()
