"""What a session's event stream adds up to: duration, distance, backward time and distance.

One pure fold over the contract's events (``step``), so the journal can keep a running tally as
events are appended (an interrupted session still lists correct numbers up to its last event) and
``summarize`` gives the same answer when re-deriving from stored events.

Rules (the lead's brief, issue 6 part 5; pauses and the summary, issue 15):
- a segment runs from its ``segment`` event to the next ``segment``, ``stop`` or ``summary``
  event; while still open (the process died) it runs to the last ``telemetry`` seen in it;
- a pause (the controller's "Paused (...)" cue, up to its "Resumed (...)" cue, or the stop) is
  not backward time: the step clock stands still then, and so does this count. ``paused_s``
  adds the pauses up;
- the ``summary`` is the stream's last word: events after it (a broker that went down while
  the process was leaving) change nothing, so they cannot stretch the session;
- distance comes from telemetry ``distance_m`` deltas, attributed to the segment open when the
  reading arrives. The first reading is the baseline (we do not know what the counter held
  before the session); a reading below the previous one means the treadmill restarted its
  counter (a reconnect), and the new reading counts as distance since that restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from treadcoach.coach.events import (
    Cue,
    Event,
    SegmentStarted,
    Stop,
    Summary,
    Telemetry,
)
from treadcoach.coach.kinds import BACKWARD_KINDS, SegmentKind

__all__ = [
    "HeartRateSummary",
    "SegmentDone",
    "Tally",
    "heart_rate_summary",
    "pause_change",
    "paused_within",
    "pauses",
    "segments_done",
    "step",
    "summarize",
]

PauseChange = Literal["pause", "resume"]


def pause_change(event: Event) -> PauseChange | None:
    """Whether ``event`` pauses or resumes the session.

    The controller says so with an ``info`` cue, "Paused (key)" / "Resumed (key)" (the stream
    has no pause event kind); ``test_a_real_pause_is_journaled_as_a_pause`` holds the two
    sides to this.
    """
    if isinstance(event, Cue) and event.kind == "info":
        if event.text.startswith("Paused"):
            return "pause"
        if event.text.startswith("Resumed"):
            return "resume"
    return None


@dataclass(frozen=True, slots=True)
class Tally:
    """Running totals of one session's events. Immutable: ``step`` returns a new one."""

    duration_s: float = 0.0  # t of the latest event
    distance_m: float = 0.0
    closed_backward_s: float = 0.0  # backward segments already ended
    backward_distance_m: float = 0.0
    stop_reason: str | None = None  # the first stop's reason (the one that ended the session)
    completed: bool = False  # a summary said so
    closed_paused_s: float = 0.0  # pauses already resumed (or ended by the stop)
    ended: bool = False  # the summary came: nothing after it counts
    # fold state: the segment still open and the last raw distance reading
    open_kind: SegmentKind | None = None
    open_since: float = 0.0  # start of the open segment's current unpaused stretch
    open_until: float = 0.0  # last telemetry t inside the open segment
    last_reading_m: float | None = None
    paused_since: float | None = None  # a pause not yet resumed

    @property
    def backward_s(self) -> float:
        """Seconds spent in backward segments, unpaused, the open one up to its last telemetry."""
        if self.open_kind in BACKWARD_KINDS and self.paused_since is None:
            return self.closed_backward_s + max(0.0, self.open_until - self.open_since)
        return self.closed_backward_s

    @property
    def paused_s(self) -> float:
        """Seconds paused, an open pause counted up to the latest event."""
        if self.paused_since is not None:
            return self.closed_paused_s + max(0.0, self.duration_s - self.paused_since)
        return self.closed_paused_s


def step(tally: Tally, event: Event) -> Tally:
    """The tally after one more event."""
    if tally.ended:
        return tally
    # Plain locals and one constructor call: this runs for every appended event.
    duration = tally.duration_s if tally.duration_s >= event.t else event.t
    distance = tally.distance_m
    closed = tally.closed_backward_s
    backward_m = tally.backward_distance_m
    reason = tally.stop_reason
    completed = tally.completed
    closed_paused = tally.closed_paused_s
    ended = False
    open_kind = tally.open_kind
    open_since = tally.open_since
    open_until = tally.open_until
    reading = tally.last_reading_m
    paused_since = tally.paused_since
    if isinstance(event, Telemetry):
        if reading is None:
            delta = 0.0
        elif event.distance_m >= reading:
            delta = event.distance_m - reading
        else:
            delta = max(0.0, event.distance_m)  # the counter restarted: it counts from there
        reading = event.distance_m
        distance += delta
        if open_kind is not None:
            if open_kind in BACKWARD_KINDS:
                backward_m += delta
            open_until = max(open_until, event.t)
    elif isinstance(event, SegmentStarted | Stop | Summary):
        if open_kind in BACKWARD_KINDS and paused_since is None:
            closed += max(0.0, event.t - open_since)  # the open segment ends here
        open_kind = None
        if isinstance(event, SegmentStarted):
            open_kind, open_since, open_until = event.kind, event.t, event.t
        else:
            if paused_since is not None:  # a stop ends the pause too
                closed_paused += max(0.0, event.t - paused_since)
                paused_since = None
            if isinstance(event, Stop):
                if reason is None:
                    reason = str(event.reason)
            else:
                completed = event.completed
                ended = True
                if event.stop_reason is not None:
                    reason = str(event.stop_reason)
    else:
        change = pause_change(event)
        if change == "pause" and paused_since is None:
            if open_kind in BACKWARD_KINDS:
                closed += max(0.0, event.t - open_since)
            paused_since = event.t
        elif change == "resume" and paused_since is not None:
            closed_paused += max(0.0, event.t - paused_since)
            paused_since = None
            open_since = event.t
            open_until = max(open_until, event.t)
    return Tally(
        duration_s=duration,
        distance_m=distance,
        closed_backward_s=closed,
        backward_distance_m=backward_m,
        stop_reason=reason,
        completed=completed,
        closed_paused_s=closed_paused,
        ended=ended,
        open_kind=open_kind,
        open_since=open_since,
        open_until=open_until,
        last_reading_m=reading,
        paused_since=paused_since,
    )


def summarize(events: Iterable[Event]) -> Tally:
    """Fold a whole stream (``step`` from an empty tally)."""
    tally = Tally()
    for event in events:
        tally = step(tally, event)
    return tally


@dataclass(frozen=True, slots=True)
class SegmentDone:
    """One segment as it actually ran: the row of ``history show`` and one FIT lap."""

    index: int
    kind: SegmentKind
    target_kmh: float
    planned_duration_s: float | None
    planned_distance_m: float | None
    start_t: float
    end_t: float
    distance_m: float
    max_speed_kmh: float
    label: str = ""
    paused_s: float = 0.0  # of the span start_t..end_t, the time the session was paused

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_t - self.start_t)


def pauses(events: Iterable[Event]) -> list[tuple[float, float]]:
    """The session's pauses as (from t, to t); one still open ends at the stop or last event."""
    spans: list[tuple[float, float]] = []
    since: float | None = None
    last = 0.0
    for event in events:
        last = max(last, event.t)
        change = pause_change(event)
        if change == "pause" and since is None:
            since = event.t
        elif since is not None and (change == "resume" or isinstance(event, Stop | Summary)):
            spans.append((since, event.t))  # resumed, or ended by the stop
            since = None
        if isinstance(event, Summary):
            break
    if since is not None:
        spans.append((since, last))
    return spans


def paused_within(spans: Iterable[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``spans`` inside ``start..end``."""
    return sum(max(0.0, min(end, b) - max(start, a)) for a, b in spans)


def segments_done(events: Iterable[Event]) -> list[SegmentDone]:
    """Every segment that started, with its actual time and distance (same rules as ``step``)."""
    stream = list(events)
    spans = pauses(stream)
    done: list[SegmentDone] = []
    started: SegmentStarted | None = None
    end_t = distance = max_kmh = 0.0

    def close(at_t: float) -> None:
        assert started is not None
        end = max(started.t, at_t)
        done.append(
            SegmentDone(
                index=started.index,
                kind=started.kind,
                target_kmh=started.target_kmh,
                planned_duration_s=started.duration_s,
                planned_distance_m=started.distance_m,
                start_t=started.t,
                end_t=end,
                distance_m=distance,
                max_speed_kmh=max_kmh,
                label=started.label,
                paused_s=paused_within(spans, started.t, end),
            )
        )

    tally = Tally()
    for event in stream:
        if tally.ended:
            break
        before = tally.distance_m
        tally = step(tally, event)
        if isinstance(event, SegmentStarted | Stop | Summary) and started is not None:
            close(event.t)
            started = None
        if isinstance(event, SegmentStarted):
            started, end_t, distance, max_kmh = event, event.t, 0.0, 0.0
        elif isinstance(event, Telemetry) and started is not None:
            end_t = max(end_t, event.t)
            distance += tally.distance_m - before
            max_kmh = max(max_kmh, event.speed_kmh)
    if started is not None:
        close(end_t)  # interrupted: it ran to its last telemetry
    return done


@dataclass(frozen=True, slots=True)
class HeartRateSummary:
    """The pulse the session's telemetry carried (the strap's when one was used, else the belt's)."""

    samples: int
    mean_bpm: float
    max_bpm: int
    backward_mean_bpm: float | None  # over telemetry of backward segments only (None: none)


def heart_rate_summary(events: Iterable[Event]) -> HeartRateSummary | None:
    """Mean and max of ``telemetry.heart_rate_bpm`` up to the summary; None when none carried one.

    0 bpm is a strap without skin contact, not a pulse: left out. Each reading weighs the same
    (telemetry arrives at the belt's steady rate), paused time included: the heart still beats.
    """
    kinds: dict[int, SegmentKind] = {}
    current: SegmentKind | None = None  # for telemetry without a segment_index
    all_bpm: list[int] = []
    backward: list[int] = []
    for event in events:
        if isinstance(event, Summary):
            break
        if isinstance(event, SegmentStarted):
            kinds[event.index] = current = event.kind
        elif isinstance(event, Telemetry) and event.heart_rate_bpm:
            all_bpm.append(event.heart_rate_bpm)
            index = event.segment_index
            kind = current if index is None else kinds.get(index)
            if kind in BACKWARD_KINDS:
                backward.append(event.heart_rate_bpm)
    if not all_bpm:
        return None
    return HeartRateSummary(
        samples=len(all_bpm),
        mean_bpm=sum(all_bpm) / len(all_bpm),
        max_bpm=max(all_bpm),
        backward_mean_bpm=sum(backward) / len(backward) if backward else None,
    )
