"""What the session says, pure: the events and cues of the stream (a contract), built from a
step or a reading. The controller decides *when*; this module decides *what*."""

from __future__ import annotations

from typing import Any

from treadcoach.coach.events import Cue, SegmentStarted, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.ports import StepLike
from treadcoach.coach.schedule import kind_phrase
from treadcoach.coach.state import SegmentView
from treadcoach.errors import TreadcoachError
from treadcoach.safety.reasons import StopReason

__all__ = [
    "CONTROL_LOST_CUE",
    "CONTROL_LOST_HINT",
    "DIZZY_CUE",
    "USE_STOP_BUTTON_CUE",
    "countdown_cue",
    "direction_after",
    "failure_text",
    "segment_started",
    "step_cue",
    "stop_cue",
    "summary",
    "telemetry",
    "view",
]

CONTROL_LOST_CUE = (
    "The treadmill console took control: treadcoach sends nothing until you take control back"
)
CONTROL_LOST_HINT = "The console has control. Press C to take it back."
#: spoken for a dizzy stop (seed: "stop immediately if dizzy"): what to do while the belt stops
DIZZY_CUE = "Dizzy: stopping the belt. Hold the rails and step off to the side when it stops."
USE_STOP_BUTTON_CUE = "The treadmill did not stop: use the treadmill's stop button"
#: resumed while the belt still coasts after a pause, on a machine where Start pauses a running
#: belt: Start waits until the belt is seen at rest
WAIT_FOR_BELT_CUE = "Waiting for the belt to come to rest before starting it again"


def failure_text(exc: BaseException) -> str:
    """What the user is told about an unexpected failure: treadcoach's own errors read as a
    sentence (``str``); anything else is a bug, said without a Python class name (the log
    keeps the traceback)."""
    if isinstance(exc, TreadcoachError) and str(exc):
        return str(exc)
    return "an internal error (details in the log)"


def view(step: StepLike) -> SegmentView:
    return SegmentView(
        index=step.index,
        kind=step.kind,
        target_kmh=step.target_kmh,
        duration_s=step.duration_s,
        distance_m=step.distance_m,
        label=step.label,
    )


def segment_started(
    step: StepLike, *, t: float, total: int, target_kmh: float | None = None
) -> SegmentStarted:
    """``target_kmh``: what the belt will run for the step (the link's snap to the machine's
    grid and minimum, never above the cap) when known; else the step's own target."""
    return SegmentStarted(
        t=t,
        index=step.index,
        kind=step.kind,
        target_kmh=step.target_kmh if target_kmh is None else target_kmh,
        duration_s=step.duration_s,
        distance_m=step.distance_m,
        incline_pct=step.incline_pct,
        label=step.label,
        total=total,
    )


def step_cue(step: StepLike, *, t: float) -> Cue | None:
    if not step.cue:
        return None
    if step.kind is SegmentKind.TURNAROUND:
        return Cue(t=t, text=step.cue, kind="turnaround")
    return Cue(t=t, text=step.cue, kind="form")


def direction_after(step: StepLike | None) -> str:
    """What a turnaround leads into, for its countdown: "backward walk", "cool-down"."""
    return kind_phrase(step.kind) if step is not None else "the next segment"


def countdown_cue(direction: str, whole: int, *, t: float) -> Cue:
    return Cue(
        t=t, text=f"Turn around: {direction} in {whole}", kind="countdown", countdown_s=whole
    )


def stop_cue(reason: StopReason, detail: str, *, t: float) -> Cue:
    if reason is StopReason.DIZZY:
        return Cue(t=t, text=DIZZY_CUE, kind="stop")
    return Cue(t=t, text=f"Stop: {detail}" if detail else f"Stop ({reason.value})", kind="stop")


def telemetry(
    data: Any,
    *,
    t: float,
    speed_kmh: float,
    distance_m: float,
    target_kmh: float | None,
    segment_index: int | None,
    remaining: float | None,
    heart_rate_bpm: int | None,
) -> Telemetry:
    """``heart_rate_bpm``: the pulse to carry -- the strap's when a strap is used, else the
    belt's own (the controller's choice, ``coach.pulse``)."""
    return Telemetry(
        t=t,
        speed_kmh=round(speed_kmh, 2),
        distance_m=round(distance_m, 1),
        target_kmh=target_kmh,
        incline_pct=data.inclination_pct,
        heart_rate_bpm=heart_rate_bpm,
        segment_index=segment_index,
        segment_remaining=None if remaining is None else round(remaining, 2),
    )


def summary(
    *,
    t: float,
    plan: str,
    completed: bool,
    stop_reason: StopReason | None,
    distance_m: float,
    planned_backward_s: float,
    backward_s: float,
    backward_distance_m: float,
    belt_may_be_running: bool,
) -> Summary:
    return Summary(
        t=t,
        completed=completed and stop_reason is StopReason.PLAN_END,
        plan=plan,
        duration_s=t,
        distance_m=round(distance_m, 1),
        planned_backward_s=planned_backward_s,
        backward_s=round(backward_s, 1),
        backward_distance_m=round(backward_distance_m, 1),
        stop_reason=stop_reason,
        belt_may_be_running=belt_may_be_running,
    )
