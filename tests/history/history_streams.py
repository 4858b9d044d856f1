"""Event streams shaped like a real session, for the journal, FIT and CLI tests.

A plain module (not conftest) so tests can import it by its unique name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from treadcoach.coach.events import (
    Connected,
    Cue,
    Event,
    Fault,
    SegmentStarted,
    Stop,
    Summary,
    Telemetry,
)
from treadcoach.coach.kinds import SegmentKind
from treadcoach.safety.reasons import StopReason

STARTED_AT = datetime(2025, 3, 1, 7, 30, tzinfo=UTC)

# (kind, target km/h, seconds): warm-up, turnaround, 20 s backward walk, turnaround, cool-down
PLAN: list[tuple[SegmentKind, float, float]] = [
    (SegmentKind.WARMUP, 5.0, 30.0),
    (SegmentKind.TURNAROUND, 1.0, 6.0),
    (SegmentKind.BACKWARD_WALK, 3.6, 20.0),
    (SegmentKind.TURNAROUND, 1.0, 6.0),
    (SegmentKind.COOLDOWN, 4.0, 10.0),
]


def session_events(*, hz: float = 2.0, heart_rate: bool = True) -> list[Event]:
    """A completed session of PLAN with telemetry at ``hz``; one of every event kind."""
    events: list[Event] = [Connected(t=0.0, device="Sim", address="SIM-1", simulated=True)]
    t = 1.0
    distance = 0.0
    for index, (kind, kmh, seconds) in enumerate(PLAN):
        events.append(
            SegmentStarted(
                t=t, index=index, kind=kind, target_kmh=kmh, duration_s=seconds, total=len(PLAN)
            )
        )
        if kind == SegmentKind.TURNAROUND:
            events.append(Cue(t=t, text="turn around", kind="turnaround", countdown_s=5))
        steps = round(seconds * hz)
        for _ in range(steps):
            t += 1.0 / hz
            distance += kmh / 3.6 / hz
            events.append(
                Telemetry(
                    t=t,
                    speed_kmh=kmh,
                    distance_m=round(distance, 3),
                    target_kmh=kmh,
                    heart_rate_bpm=100 + index if heart_rate else None,
                    segment_index=index,
                )
            )
    events.append(Fault(t=t, kind="nack", detail="speed change refused once"))
    events.append(Stop(t=t, reason=StopReason.PLAN_END))
    events.append(Summary(t=t, completed=True, plan="starter", stop_reason=StopReason.PLAN_END))
    return events


JournalFiller = Callable[..., int]


def paused_session_events(*, hz: float = 1.0, retro: bool = False) -> list[Event]:
    """A session as issue 15 describes one: a 105 s pause in the warm-up, a backward walk (or,
    with ``retro``, 6 min of retro running), a stop by the key, the belt's ~6 s run-down, the
    summary, and a broker that goes down a second after the summary."""
    events: list[Event] = [Connected(t=0.0, device="Sim", address="SIM-1", simulated=True)]
    state = {"t": 1.0, "distance": 0.0}

    def run(seconds: float, kmh: float, index: int) -> None:
        for _ in range(round(seconds * hz)):
            state["t"] += 1.0 / hz
            state["distance"] += kmh / 3.6 / hz
            events.append(
                Telemetry(
                    t=round(state["t"], 3),
                    speed_kmh=kmh,
                    distance_m=round(state["distance"], 3),
                    target_kmh=kmh,
                    heart_rate_bpm=100 + index,
                    segment_index=index,
                )
            )

    back_kind = SegmentKind.RETRO_RUN if retro else SegmentKind.BACKWARD_WALK
    back_kmh, back_s = (4.8, 360.0) if retro else (3.2, 60.0)
    plan = [
        (SegmentKind.WARMUP, 5.0, 300.0),
        (SegmentKind.TURNAROUND, 1.0, 8.0),
        (back_kind, back_kmh, back_s),
    ]
    for index, (kind, kmh, seconds) in enumerate(plan):
        events.append(
            SegmentStarted(
                t=state["t"],
                index=index,
                kind=kind,
                target_kmh=kmh,
                duration_s=seconds,
                total=len(plan),
                label="Easy walk" if kind is SegmentKind.WARMUP else "",
            )
        )
        if kind is SegmentKind.WARMUP:
            run(99.0, kmh, index)
            events.append(Cue(t=state["t"], text="Paused (key)", kind="info"))
            run(105.0, 0.0, index)
            events.append(Cue(t=state["t"], text="Resumed (key)", kind="info"))
            run(seconds - 99.0, kmh, index)
        else:
            run(seconds, kmh, index)
    events.append(Stop(t=state["t"], reason=StopReason.KEY))
    run(6.0, back_kmh / 2, len(plan) - 1)  # the run-down: still moving, no segment open
    end = state["t"] + 0.5
    events.append(Summary(t=end, completed=False, plan="starter", stop_reason=StopReason.KEY))
    events.append(Fault(t=end + 1.0, kind="mqtt_down", detail="broker gone"))
    return events
