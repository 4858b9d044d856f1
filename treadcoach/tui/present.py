"""Turn a ``SessionState`` into the words and numbers the session screen shows.

Pure functions, no Textual: what to *show* for a state the controller already decided on. Nothing
here decides anything about training (targets, caps, turnarounds all come from the controller).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SegmentView, SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.settings import Units

__all__ = [
    "KM_PER_MILE",
    "SessionView",
    "format_clock",
    "format_distance",
    "format_speed",
    "heart_words",
    "kind_words",
    "present",
    "stop_words",
]

KM_PER_MILE = 1.609344

_KIND_WORDS: dict[SegmentKind, str] = {
    SegmentKind.WARMUP: "WARM-UP",
    SegmentKind.FORWARD_WALK: "FORWARD WALK",
    SegmentKind.FORWARD_RUN: "FORWARD RUN",
    SegmentKind.BACKWARD_WALK: "BACKWARD WALK",
    SegmentKind.RETRO_RUN: "RETRO RUN",
    SegmentKind.RECOVERY: "RECOVERY",
    SegmentKind.TURNAROUND: "TURN AROUND",
    SegmentKind.COOLDOWN: "COOL-DOWN",
}

_STOP_WORDS: dict[StopReason, str] = {
    StopReason.KEY: "stop key",
    StopReason.PEDAL: "foot pedal",
    StopReason.MQTT: "remote stop",
    StopReason.QUIT: "quit",
    StopReason.PLAN_END: "plan complete",
    StopReason.ERROR: "error",
    StopReason.SIGINT: "interrupted",
    StopReason.SIGTERM: "terminated",
    StopReason.SIGHUP: "terminal closed",
    StopReason.SAFETY_KEY: "safety key pulled",
    StopReason.CONSOLE: "stopped at the console",
    StopReason.STALE: "no data from the treadmill",
    StopReason.OVERSPEED: "belt too fast",
    StopReason.TARGET_IGNORED: "belt ignored the target speed",
    StopReason.DISCONNECT: "link lost",
    StopReason.CONTROL_LOST: "console took control",
    StopReason.HR_CEILING: "heart rate too high",
    StopReason.DIZZY: "you said you felt dizzy",
}

_LINK_WORDS: dict[LinkState, str] = {
    LinkState.CONNECTING: "connecting",
    LinkState.CONNECTED: "connected",
    LinkState.RECONNECTING: "reconnecting",
    LinkState.DISCONNECTED: "disconnected",
    LinkState.NO_CONTROL: "console has control",
}


def kind_words(kind: SegmentKind) -> str:
    return _KIND_WORDS[kind]


def stop_words(reason: StopReason | None) -> str:
    return _STOP_WORDS.get(reason, str(reason)) if reason is not None else "stopped"


def format_speed(kmh: float | None, units: Units) -> str:
    """'3.2 km/h' or '2.0 mph', one decimal; '--' when unknown."""
    if kmh is None:
        return "--"
    if units == "mph":
        return f"{kmh / KM_PER_MILE:.1f} mph"
    return f"{kmh:.1f} km/h"


def format_distance(metres: float, units: Units) -> str:
    """Session distance: metres below 1 km (or 0.1 mi), then km / mi with two decimals."""
    if units == "mph":
        miles = metres / 1000 / KM_PER_MILE
        return f"{metres:.0f} m" if miles < 0.1 else f"{miles:.2f} mi"
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.2f} km"


def format_clock(seconds: float) -> str:
    """Whole seconds left, rounded up, as mm:ss (h:mm:ss past an hour): '00:01' until it is over."""
    whole = max(0, math.ceil(seconds - 1e-9))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def _segment_size(segment: SegmentView) -> str:
    if segment.distance_m is not None:
        return f"{segment.distance_m:.0f} m"
    if segment.duration_s is not None:
        return format_clock(segment.duration_s)
    return ""


@dataclass(frozen=True, slots=True)
class SessionView:
    """Everything the session screen displays, as strings; equal views need no repaint."""

    banner: str  # "BACKWARD WALK", "TURN AROUND IN 5", "STOPPED — SAFETY KEY PULLED"
    tone: str  # css class: forward / backward / turnaround / stopped / paused / idle
    countdown: str  # for Digits: "02:15", "120" (metres) or "" (nothing to count)
    countdown_label: str  # "left", "metres left", ""
    target: str
    actual: str
    distance: str
    heart_rate: str  # "128 bpm", "128 · zone 115-130 ↑", "HR stale: holding speed"; "" when absent
    next_up: str
    segment_of: str  # "segment 3 of 12"
    progress_pct: float  # 0..100
    link: str
    link_ok: bool
    cue: str
    plan: str
    elapsed: str
    # which keys the footer offers (the screen names them from the settings)
    paused: bool = False
    no_control: bool = False  # the console took control: C takes it back
    leaving: bool = False  # quit (or a signal) waits for the belt to stand still
    not_saved: bool = False  # the journal failed: this session is not (wholly) in the history
    heart_alert: bool = False  # heart_rate is a strap problem (stale, off skin, reconnecting)


# What the pulse is doing against the segment's zone (coach.heart_rate.ZoneState values).
_ZONE_ARROWS = {"above": " ↑", "below": " ↓", "in": ""}

# Why the strap's pulse cannot be used, by coach.heart_rate.HrSignal value (no HR rule acts on
# it then: the governor holds the speed). ABSENT with the strap connected: no sample yet.
_SIGNAL_WORDS = {
    "stale": "HR stale: holding speed",
    "no_contact": "strap off skin",
    "invalid": "bad HR: holding speed",
    "absent": "waiting for HR",
}


def heart_words(state: SessionState) -> tuple[str, bool]:
    """(the heart-rate readout, whether it reports a strap problem); ("", False): show nothing.

    The pulse with the segment's zone when there is one ("128 · zone 115-130 ↑": the arrow says
    the pulse is above or below the zone), or, with a strap configured, what is wrong with it:
    reconnecting, off the skin, stale. A belt's own pulse (no strap) is shown as it comes.
    """
    if state.strap_connected is False:
        return "strap reconnecting", True
    signal = state.hr_signal
    if state.strap_connected and signal in _SIGNAL_WORDS:
        return _SIGNAL_WORDS[signal], signal != "absent"
    bpm = state.heart_rate_bpm
    if not bpm:
        return "", False
    zone = state.hr_zone_bpm
    if zone is None:
        text = f"{bpm} bpm"
    else:
        arrow = _ZONE_ARROWS.get(state.hr_zone_state or "", "")
        text = f"{bpm} · zone {zone[0]}-{zone[1]}{arrow}"
    if state.hr_holding:
        return f"{text} · holding", False
    return text, False


def _turnaround_count(state: SessionState) -> int | None:
    """The seconds to turn while the controller counts down a direction change, else None.

    Only the controller's own count is shown: while the belt is still slowing into a turnaround
    it has not started counting, and a number taken from the segment's time would jump back up.
    """
    return state.turnaround_countdown_s


def _banner(state: SessionState) -> tuple[str, str]:
    phase = state.phase
    if phase is Phase.STOPPED:
        return f"STOPPED — {stop_words(state.stop_reason).upper()}", "stopped"
    if phase is Phase.FINISHED:
        return "DONE — PLAN COMPLETE", "idle"
    if phase is Phase.CONNECTING:
        return "CONNECTING…", "idle"
    if phase is Phase.READY:
        return "READY", "idle"
    if phase is Phase.PAUSED:
        return "PAUSED", "paused"
    segment = state.segment
    countdown = _turnaround_count(state)
    if countdown is not None:
        return (f"TURN AROUND IN {countdown}" if countdown > 0 else "TURN AROUND NOW"), "turnaround"
    if segment is not None and segment.kind is SegmentKind.TURNAROUND:
        return "SLOWING — GET READY TO TURN", "turnaround"
    if segment is None:
        return "RUNNING", "idle"
    return kind_words(segment.kind), "backward" if segment.kind.is_backward else "forward"


# Below this the belt stands still (as the controller's standstill check).
_STANDSTILL_KMH = 0.2


def _run_down(state: SessionState, *, leaving: bool, session_over: bool) -> tuple[str, str, str]:
    """(big number, its label, the line under it) after a stop: the belt's speed falling to
    standstill, so the seconds before the summary (or before quitting) never look frozen."""
    then = "quitting" if leaving else "the summary follows"
    detail = f"{state.stop_detail}. " if state.stop_detail else ""
    if session_over or state.speed_kmh <= _STANDSTILL_KMH:
        return "0.0", "km/h · belt stopped", f"{detail}The belt stands still: {then}."
    return (
        f"{state.speed_kmh:.1f}",
        "km/h · belt slowing to a stop",
        f"{detail}Waiting for the belt to stand still, then {then}.",
    )


def present(
    state: SessionState,
    units: Units,
    *,
    leaving: bool = False,
    session_over: bool = False,
    not_saved: bool = False,
) -> SessionView:
    """The view of ``state``; ``leaving``: quit waits for the stop, ``session_over``: the
    session has returned (the belt confirmed standstill, or gave up waiting)."""
    banner, tone = _banner(state)
    heart, heart_alert = heart_words(state)
    over = state.phase in (Phase.STOPPED, Phase.FINISHED)
    if over:
        countdown, label, _ = _run_down(state, leaving=leaving, session_over=session_over)
    elif state.remaining is None:
        countdown, label = "", ""
    elif tone == "turnaround":
        # one big number to turn on, readable over a shoulder (none while the belt slows)
        count = _turnaround_count(state)
        countdown = "" if count is None else str(count)
        label = "seconds to turn around" if count is not None else "slowing down"
    elif state.remaining_unit == "m":
        countdown, label = f"{max(0, math.ceil(state.remaining - 1e-9))}", "metres left"
    else:
        countdown, label = format_clock(state.remaining), "left"
    nxt = state.next_segment
    if nxt is None:
        next_up = "last segment" if state.segment is not None else ""
    else:
        parts = [kind_words(nxt.kind), _segment_size(nxt), format_speed(nxt.target_kmh, units)]
        next_up = " · ".join(p for p in parts if p)
    if state.segment is not None and state.segment_count:
        segment_of = f"segment {state.segment.index + 1} of {state.segment_count}"
    else:
        segment_of = ""
    cue = state.cue
    if over:
        # the plan's cue and next segment no longer apply once the session is over
        next_up = ""
        _, _, cue = _run_down(state, leaving=leaving, session_over=session_over)
    return SessionView(
        banner=banner,
        tone=tone,
        countdown=countdown,
        countdown_label=label,
        target=format_speed(state.target_kmh, units),
        actual=format_speed(state.speed_kmh, units),
        distance=format_distance(state.distance_m, units),
        heart_rate=heart,
        heart_alert=heart_alert,
        next_up=next_up,
        segment_of=segment_of,
        # whole percent: finer steps cannot be seen and would repaint the bar on every tick
        progress_pct=float(round(max(0.0, min(100.0, state.progress * 100)))),
        link=_LINK_WORDS[state.link],
        link_ok=state.link is LinkState.CONNECTED,
        cue=cue,
        plan=state.plan_name,
        elapsed=format_clock(state.elapsed_s),
        paused=state.phase is Phase.PAUSED,
        no_control=state.link is LinkState.NO_CONTROL,
        leaving=leaving,
        not_saved=not_saved,
    )
