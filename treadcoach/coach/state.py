"""A snapshot of a running session, for renderers (TUI, MQTT state topic).

The controller replaces ``SessionController.state`` with a new frozen snapshot whenever anything
changes; renderers read it and never compute training logic themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from treadcoach.coach.kinds import SegmentKind
from treadcoach.safety.reasons import StopReason

__all__ = ["LinkState", "Phase", "SegmentView", "SessionState"]


class Phase(StrEnum):
    CONNECTING = "connecting"
    READY = "ready"  # connected, plan not started
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # stopped by a stop input or a fault; the session is over
    FINISHED = "finished"  # plan completed


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    NO_CONTROL = "no_control"  # connected, but the console/another app has control (0xFF)


@dataclass(frozen=True, slots=True)
class SegmentView:
    index: int
    kind: SegmentKind
    target_kmh: float
    duration_s: float | None
    distance_m: float | None
    label: str = ""


@dataclass(frozen=True, slots=True)
class SessionState:
    phase: Phase = Phase.CONNECTING
    link: LinkState = LinkState.CONNECTING
    plan_name: str = ""
    elapsed_s: float = 0.0
    segment: SegmentView | None = None
    next_segment: SegmentView | None = None
    segment_count: int = 0
    # time left (duration segment, s) or distance left (distance segment, m)
    remaining: float | None = None
    remaining_unit: str = "s"
    # 0..1 through the whole plan, by planned time
    progress: float = 0.0
    target_kmh: float | None = None
    speed_kmh: float = 0.0
    distance_m: float = 0.0
    incline_pct: float | None = None
    heart_rate_bpm: int | None = (
        None  # the strap's trusted pulse when a strap is used, else the belt's
    )
    # heart-rate coaching (issue 16); all None/False when no strap is configured
    strap_connected: bool | None = None  # None: no strap configured
    hr_signal: str | None = None  # coach.heart_rate.HrSignal value: ok, stale, no_contact, ...
    hr_zone_bpm: tuple[int, int] | None = None  # the current segment's zone, in bpm
    hr_zone_state: str | None = None  # coach.heart_rate.ZoneState value: below, in, above
    hr_holding: bool = False  # HR-driven increases suspended (stale strap, no contact, 0 bpm)
    turnaround_countdown_s: int | None = None  # set while counting down into a direction change
    cue: str = ""
    stop_reason: StopReason | None = None
    stop_detail: str = ""
    faults: tuple[str, ...] = field(default_factory=tuple)
