"""What a session's event stream adds up to: duration, distance, backward time and distance.

One pure fold over the contract's events (``step``), so the journal can keep a running tally as
events are appended (an interrupted session still lists correct numbers up to its last event) and
``summarize`` gives the same answer when re-deriving from stored events.

Rules (the lead's brief, issue 6 part 5):
- a segment runs from its ``segment`` event to the next ``segment``, ``stop`` or ``summary``
  event; while still open (the process died) it runs to the last ``telemetry`` seen in it;
- distance comes from telemetry ``distance_m`` deltas, attributed to the segment open when the
  reading arrives. The first reading is the baseline (we do not know what the counter held
  before the session); a reading below the previous one means the treadmill restarted its
  counter (a reconnect), and the new reading counts as distance since that restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from treadcoach.coach.events import (
    Event,
    SegmentStarted,
    Stop,
    Summary,
    Telemetry,
)
from treadcoach.coach.kinds import BACKWARD_KINDS, SegmentKind

__all__ = ["SegmentDone", "Tally", "segments_done", "step", "summarize"]


@dataclass(frozen=True, slots=True)
class Tally:
    """Running totals of one session's events. Immutable: ``step`` returns a new one."""

    duration_s: float = 0.0  # t of the latest event
    distance_m: float = 0.0
    closed_backward_s: float = 0.0  # backward segments already ended
    backward_distance_m: float = 0.0
    stop_reason: str | None = None  # the first stop's reason (the one that ended the session)
    completed: bool = False  # a summary said so
    # fold state: the segment still open and the last raw distance reading
    open_kind: SegmentKind | None = None
    open_since: float = 0.0
    open_until: float = 0.0  # last telemetry t inside the open segment
    last_reading_m: float | None = None

    @property
    def backward_s(self) -> float:
        """Seconds spent in backward segments, the open one counted up to its last telemetry."""
        if self.open_kind in BACKWARD_KINDS:
            return self.closed_backward_s + max(0.0, self.open_until - self.open_since)
        return self.closed_backward_s


def _close(tally: Tally, at_t: float) -> Tally:
    if tally.open_kind is None:
        return tally
    closed = tally.closed_backward_s
    if tally.open_kind in BACKWARD_KINDS:
        closed += max(0.0, at_t - tally.open_since)
    return replace(tally, closed_backward_s=closed, open_kind=None)


def step(tally: Tally, event: Event) -> Tally:
    """The tally after one more event."""
    tally = replace(tally, duration_s=max(tally.duration_s, event.t))
    if isinstance(event, SegmentStarted):
        tally = _close(tally, event.t)
        return replace(tally, open_kind=event.kind, open_since=event.t, open_until=event.t)
    if isinstance(event, Telemetry):
        reading = event.distance_m
        last = tally.last_reading_m
        if last is None:
            delta = 0.0
        elif reading >= last:
            delta = reading - last
        else:
            delta = max(0.0, reading)  # the counter restarted: the reading is distance since then
        backward = tally.backward_distance_m
        if tally.open_kind in BACKWARD_KINDS:
            backward += delta
        open_until = max(tally.open_until, event.t) if tally.open_kind else tally.open_until
        return replace(
            tally,
            distance_m=tally.distance_m + delta,
            backward_distance_m=backward,
            last_reading_m=reading,
            open_until=open_until,
        )
    if isinstance(event, Stop):
        tally = _close(tally, event.t)
        if tally.stop_reason is None:
            tally = replace(tally, stop_reason=str(event.reason))
        return tally
    if isinstance(event, Summary):
        tally = _close(tally, event.t)
        reason = str(event.stop_reason) if event.stop_reason is not None else tally.stop_reason
        return replace(tally, completed=event.completed, stop_reason=reason)
    return tally


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

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_t - self.start_t)


def segments_done(events: Iterable[Event]) -> list[SegmentDone]:
    """Every segment that started, with its actual time and distance (same rules as ``step``)."""
    done: list[SegmentDone] = []
    current: SegmentDone | None = None
    tally = Tally()
    for event in events:
        before = tally
        tally = step(tally, event)
        if isinstance(event, SegmentStarted | Stop | Summary) and current is not None:
            done.append(replace(current, end_t=max(current.start_t, event.t)))
            current = None
        if isinstance(event, SegmentStarted):
            current = SegmentDone(
                index=event.index,
                kind=event.kind,
                target_kmh=event.target_kmh,
                planned_duration_s=event.duration_s,
                planned_distance_m=event.distance_m,
                start_t=event.t,
                end_t=event.t,
                distance_m=0.0,
                max_speed_kmh=0.0,
                label=event.label,
            )
        elif isinstance(event, Telemetry) and current is not None:
            current = replace(
                current,
                end_t=max(current.end_t, event.t),
                distance_m=current.distance_m + (tally.distance_m - before.distance_m),
                max_speed_kmh=max(current.max_speed_kmh, event.speed_kmh),
            )
    if current is not None:
        done.append(current)  # interrupted: it ran to its last telemetry
    return done
