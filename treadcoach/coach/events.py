"""The session event stream (a contract).

``treadcoach run --headless --json`` prints one of these per line; the journal stores them; the TUI
and the MQTT bridge render them. Every event has ``t`` (seconds since session start on the session
clock, i.e. sim time under ``--speedup``) and ``event`` (its kind).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from treadcoach.coach.kinds import SegmentKind
from treadcoach.safety.reasons import StopReason

__all__ = [
    "Connected",
    "Cue",
    "Event",
    "Fault",
    "HeartRateStatus",
    "SegmentStarted",
    "Stop",
    "Summary",
    "Telemetry",
    "parse_event",
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    t: float = Field(description="seconds since session start (session clock)")


class Connected(_Event):
    event: Literal["connected"] = "connected"
    device: str
    address: str
    simulated: bool = False


class SegmentStarted(_Event):
    event: Literal["segment"] = "segment"
    index: int = Field(description="position in the expanded plan, from 0")
    kind: SegmentKind
    target_kmh: float
    duration_s: float | None = None
    distance_m: float | None = None
    incline_pct: float | None = None
    label: str = ""
    total: int = Field(default=0, description="number of segments in the expanded plan")


class Cue(_Event):
    event: Literal["cue"] = "cue"
    text: str
    kind: Literal["segment", "turnaround", "countdown", "form", "info", "stop"] = "info"
    countdown_s: int | None = None


class Telemetry(_Event):
    event: Literal["telemetry"] = "telemetry"
    speed_kmh: float
    distance_m: float
    target_kmh: float | None = None
    incline_pct: float | None = None
    heart_rate_bpm: int | None = None
    segment_index: int | None = None
    segment_remaining: float | None = Field(
        default=None, description="seconds (duration segment) or metres (distance segment) left"
    )


class Stop(_Event):
    event: Literal["stop"] = "stop"
    reason: StopReason
    detail: str = ""


class Fault(_Event):
    event: Literal["fault"] = "fault"
    kind: str
    detail: str = ""


class HeartRateStatus(_Event):
    """The heart-rate coaching changed state (strap up/down, signal, zone, hold, ceiling).

    Emitted on change only; the pulse itself rides on each ``telemetry`` event."""

    event: Literal["heart_rate"] = "heart_rate"
    strap_connected: bool
    signal: str = Field(
        description="coach.heart_rate.HrSignal: absent, ok, stale, no_contact, invalid"
    )
    bpm: int | None = None
    zone_low_bpm: int | None = None
    zone_high_bpm: int | None = None
    zone_state: str | None = Field(default=None, description="below, in or above the zone")
    holding: bool = Field(default=False, description="HR-driven increases suspended")
    above_ceiling: bool = False
    limit_kmh: float | None = Field(default=None, description="the ceiling's speed limit, if any")


class Summary(_Event):
    event: Literal["summary"] = "summary"
    completed: bool
    plan: str = ""
    duration_s: float = 0.0
    distance_m: float = 0.0
    planned_backward_s: float = 0.0
    backward_s: float = 0.0
    backward_distance_m: float = 0.0
    stop_reason: StopReason | None = None
    belt_may_be_running: bool = Field(
        default=False,
        description="treadcoach could not get the belt stopped (Stop refused or unconfirmed)",
    )


Event = Annotated[
    Connected | SegmentStarted | Cue | Telemetry | Stop | Fault | HeartRateStatus | Summary,
    Field(discriminator="event"),
]

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(line: str | bytes) -> Event:
    """Parse one JSON line of the event stream back into its model."""
    return _adapter.validate_json(line)
