"""Progression: the next session's plan, from the sessions already done (pure, no I/O).

The guidance (shared/seed/backwards-running.txt): "Begin with backward walking for 2-3 minutes",
"Progress to 20-30 second bouts of retro running", "Build gradually - Increase to 5-10 minutes
total over weeks. Never jump straight to long backward runs."

The rules, in order (all volumes are planned backward seconds; docs/plans.md explains them):

* No history: start at ``start_backward_s`` (2 min) of backward walking.
* Last session completed: grow by ``min(step_s, step_fraction x volume)`` -- the stricter of +30 s
  and +20 % -- at most one increase per calendar day.
* Last session stopped by the person (stop key, pedal, remote, safety key, console, unknown):
  step back ``stepback_fraction`` (-20 %). Stopped by a fault (link lost, stale data, error...):
  repeat the same volume.
* More than ``missed_days`` (7) since the last session: step back 20 % from it. More than
  ``restart_days`` (21): restart at the beginning (2 min), or lower if already lower.
* Only sessions with backward work count: planned, and begun (or completed).
* Always: at least ``min_backward_s``; never more than one growth step above the last *completed*
  session (however the rules above combine); never above ``max_backward_s`` (10 min).
* Rounded down to 5 s.

The ladder turns a volume into a plan: up to 3 min it is one backward walk (2 mph below 2:30,
then 2.5 mph); above 3 min, 2 min of backward walking plus 20-30 s retro bouts at 3 mph, each
after a 60 s forward recovery walk; above 6 min the bouts stay at 8 x 30 s and the walk grows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan, Repeat, Segment
from treadcoach.errors import LimitsError

__all__ = [
    "ABSOLUTE_MAX_BACKWARD_S",
    "DEFAULT_SETTINGS",
    "FAULT_STOPS",
    "PastSession",
    "ProgressionSettings",
    "Suggestion",
    "first_plan",
    "next_backward_s",
    "plan_for",
    "suggest_next",
]

# "Increase to 5-10 minutes total over weeks": no setting may take a session beyond this.
ABSOLUTE_MAX_BACKWARD_S = 600.0

# Stops that say nothing about how the person coped: the same volume is offered again.
# Everything else (key, pedal, mqtt, quit, sigint, console, safety_key, unknown) steps back.
FAULT_STOPS = frozenset(
    {
        "disconnect",
        "stale",
        "control_lost",
        "error",
        "target_ignored",
        "overspeed",
        "sigterm",
        "sighup",
    }
)

_GRID_S = 5.0

# --- the ladder (km/h and seconds) -------------------------------------------------------------
WARMUP_S = 300.0  # "Warm up normally first - 5-10 minutes of walking or light forward jogging."
WARMUP_KMH = 5.0
BACKWARD_WALK_SLOW_KMH = 3.2  # 2 mph ("set speed to 2-3 mph")
BACKWARD_WALK_KMH = 4.0  # 2.5 mph, once 2:30 of backward walking is familiar
BRISK_FROM_S = 150.0
RETRO_KMH = 4.8  # 3 mph; capped by backward_max_kmh anyway
SPLIT_ABOVE_S = 180.0  # "comfortable at 2-3 min of backward walking": then add retro bouts
WALK_BLOCK_S = 120.0
BOUT_MAX_S = 30.0  # "Progress to 20-30 second bouts of retro running."
MAX_BOUTS = 8
RECOVERY_S = 60.0
RECOVERY_KMH = 5.0
COOLDOWN_S = 180.0
COOLDOWN_KMH = 4.5

_SOURCE = "\n".join(
    [
        "Warm up normally first",
        "Begin with backward walking for 2\u20133 minutes on a track or treadmill.",
        "Progress to 20\u201330 second bouts of retro running.",
        "Increase to 5\u201310 minutes total over weeks.",
        "Never jump straight to long backward runs.",
    ]
)
_WALK_CUE = (
    "Backward walk: hands on the side rails until confident. Shorten your stride, torso tall. "
    "Stop immediately if dizzy or strained."
)
_RETRO_CUE = "Retro run: short quick steps, torso tall, glance over your shoulder."


@dataclass(frozen=True, slots=True)
class PastSession:
    """One session from the journal, as progression needs it."""

    started_at: datetime
    plan: str
    planned_backward_s: float
    backward_s: float  # done
    completed: bool
    stop_reason: str | None


@dataclass(frozen=True, slots=True)
class ProgressionSettings:
    start_backward_s: float = 120.0  # "Begin with backward walking for 2-3 minutes"
    min_backward_s: float = 60.0  # step-backs stop here
    max_backward_s: float = ABSOLUTE_MAX_BACKWARD_S
    step_s: float = 30.0  # growth per completed session: the stricter of step_s ...
    step_fraction: float = 0.20  # ... and step_fraction x volume
    stepback_fraction: float = 0.20  # after a stopped session or a missed week
    missed_days: int = 7
    restart_days: int = 21

    def __post_init__(self) -> None:
        checks = [
            ("max_backward_s", 0 < self.max_backward_s <= ABSOLUTE_MAX_BACKWARD_S, "0 < x <= 600"),
            ("min_backward_s", 0 < self.min_backward_s <= self.max_backward_s, "0 < x <= max"),
            (
                "start_backward_s",
                self.min_backward_s <= self.start_backward_s <= self.max_backward_s,
                "min <= x <= max",
            ),
            ("step_s", 0 < self.step_s <= 30, "0 < x <= 30"),
            ("step_fraction", 0 < self.step_fraction <= 0.2, "0 < x <= 0.2"),
            ("stepback_fraction", 0 <= self.stepback_fraction < 1, "0 <= x < 1"),
            ("missed_days", 0 < self.missed_days <= self.restart_days, "0 < x <= restart_days"),
        ]
        for name, ok, rule in checks:
            value = getattr(self, name)
            if not ok or not math.isfinite(value):
                raise LimitsError(f"progression.{name}", f"must be {rule}, not {value!r}")

    def grow(self, volume_s: float) -> float:
        return volume_s + min(self.step_s, self.step_fraction * volume_s)

    def step_back(self, volume_s: float) -> float:
        return volume_s * (1 - self.stepback_fraction)


DEFAULT_SETTINGS = ProgressionSettings()


@dataclass(frozen=True, slots=True)
class Suggestion:
    plan: Plan
    backward_s: float  # planned backward seconds of ``plan``
    reason: str


def suggest_next(
    history: Sequence[PastSession],
    today: date,
    settings: ProgressionSettings = DEFAULT_SETTINGS,
) -> Suggestion:
    """The plan for the next session, and why."""
    volume, reason = next_backward_s(history, today, settings)
    plan = plan_for(volume)
    planned = _backward_s(plan)
    return Suggestion(
        plan=plan, backward_s=planned, reason=f"{reason} Next: {_mmss(planned)} backward."
    )


def first_plan() -> Plan:
    """The programme's first session, named ``progression`` (what `plans show progression` shows)."""
    plan = plan_for(DEFAULT_SETTINGS.start_backward_s)
    return plan.model_copy(
        update={
            "name": "progression",
            "title": "Progression programme (next session from your history)",
            "description": (
                "Builds backward volume from 2 min toward 10 min over weeks, never a jump. "
                "Shown: the first session; `treadcoach run --plan progression` picks the next one "
                "from your history."
            ),
        }
    )


def next_backward_s(
    history: Sequence[PastSession],
    today: date,
    settings: ProgressionSettings = DEFAULT_SETTINGS,
) -> tuple[float, str]:
    """The next session's backward volume (s) and the reason, by the rules in the module doc.

    New volumes (a step up or back) are rounded down to 5 s; a repeat keeps the exact volume, so
    repeating never drifts downward.
    """
    relevant = sorted((s for s in history if _counts(s)), key=lambda s: s.started_at)
    if not relevant:
        volume = settings.start_backward_s
        return volume, (
            f"First session: {_mmss(volume)} of backward walking "
            '("Begin with backward walking for 2\u20133 minutes").'
        )
    last = relevant[-1]
    last_day = _local_date(last.started_at)
    completed = [s for s in relevant if s.completed]
    ceiling = (
        _round(settings.grow(completed[-1].planned_backward_s))
        if completed
        else settings.start_backward_s
    )
    done = f"{_mmss(last.planned_backward_s)} backward ({last.plan}, {last_day.isoformat()})"

    if last.completed:
        if last_day >= today:
            volume, why = last.planned_backward_s, f"Completed {done}; one increase a day: repeat."
        else:
            volume = _round(settings.grow(last.planned_backward_s))
            why = f"Completed {done}: a small step up."
    elif last.stop_reason in FAULT_STOPS:
        volume = last.planned_backward_s
        why = f"Stopped by a fault ({last.stop_reason}) at {done}: repeat it."
    else:
        volume = _round(settings.step_back(last.planned_backward_s))
        stopped = f"stopped ({last.stop_reason})" if last.stop_reason else "stopped"
        why = f"Session {stopped} at {done}: step back {settings.stepback_fraction:.0%}."

    gap_days = (today - last_day).days
    if gap_days > settings.restart_days:
        volume = min(volume, settings.start_backward_s)
        why = f"{gap_days} days since the last session: restart near the beginning."
    elif gap_days > settings.missed_days:
        volume = min(volume, _round(settings.step_back(last.planned_backward_s)))
        why = (
            f"{gap_days} days since the last session ({done}): "
            f"step back {settings.stepback_fraction:.0%}."
        )

    volume = max(volume, settings.min_backward_s)
    if volume > ceiling:
        volume = ceiling  # never more than one step above the last completed session
    return min(volume, settings.max_backward_s), why


def _counts(session: PastSession) -> bool:
    """Only sessions with backward work count: one stopped in the warm-up, before any backward
    step, says nothing about how the walker copes (and must not cut the next step)."""
    if not (math.isfinite(session.planned_backward_s) and session.planned_backward_s > 0):
        return False
    return session.completed or (math.isfinite(session.backward_s) and session.backward_s > 0)


def plan_for(backward_s: float) -> Plan:
    """A session with ``backward_s`` of backward work (or a little less: bouts are whole seconds)."""
    if not (backward_s > 0 and math.isfinite(backward_s)):
        raise ValueError(f"backward volume must be positive, not {backward_s!r}")
    volume = min(backward_s, ABSOLUTE_MAX_BACKWARD_S)
    entries: list[Segment | Repeat] = [
        Segment(
            kind=SegmentKind.WARMUP,
            duration_s=WARMUP_S,
            speed=WARMUP_KMH,
            label="warm-up walk",
            cue="Warm up: easy forward walk.",
        )
    ]
    if volume <= SPLIT_ABOVE_S:
        speed = BACKWARD_WALK_SLOW_KMH if volume < BRISK_FROM_S else BACKWARD_WALK_KMH
        entries.append(_walk(volume, speed))
        shape = "backward walk"
    else:
        rest = volume - WALK_BLOCK_S
        if rest <= MAX_BOUTS * BOUT_MAX_S:
            bouts = math.ceil(rest / BOUT_MAX_S)
            bout_s = float(math.floor(rest / bouts))  # > 20 s since rest > 60 s
            walk_s = WALK_BLOCK_S
        else:
            bouts, bout_s = MAX_BOUTS, BOUT_MAX_S
            walk_s = volume - MAX_BOUTS * BOUT_MAX_S
        entries.append(_walk(walk_s, BACKWARD_WALK_KMH))
        entries.append(
            Repeat(
                times=bouts,
                segments=[
                    Segment(
                        kind=SegmentKind.RECOVERY,
                        duration_s=RECOVERY_S,
                        speed=RECOVERY_KMH,
                        label="recovery walk",
                        cue="Walk forward and recover.",
                    ),
                    Segment(
                        kind=SegmentKind.RETRO_RUN,
                        duration_s=bout_s,
                        speed=RETRO_KMH,
                        label="retro bout",
                        cue=_RETRO_CUE,
                    ),
                ],
            )
        )
        shape = f"backward walk + {bouts} x {bout_s:g} s retro"
    entries.append(
        Segment(
            kind=SegmentKind.COOLDOWN,
            duration_s=COOLDOWN_S,
            speed=COOLDOWN_KMH,
            label="cool-down walk",
            cue="Cool down: easy forward walk.",
        )
    )
    planned = _backward_entries_s(entries)
    return Plan(
        name=f"progression-{planned:g}s".replace(".", "-"),
        title=f"Progression: {_mmss(planned)} backward ({shape})",
        description="Generated by the progression programme from your session history.",
        source=_SOURCE,
        units="kmh",
        segments=entries,
    )


def _walk(duration_s: float, kmh: float) -> Segment:
    return Segment(
        kind=SegmentKind.BACKWARD_WALK,
        duration_s=duration_s,
        speed=kmh,
        label="backward walk",
        cue=_WALK_CUE,
    )


def _backward_entries_s(entries: Sequence[Segment | Repeat]) -> float:
    total = 0.0
    for entry in entries:
        if isinstance(entry, Repeat):
            total += entry.times * _backward_entries_s(entry.segments)
        elif entry.kind.is_backward and entry.duration_s is not None:
            total += entry.duration_s
    return total


def _backward_s(plan: Plan) -> float:
    return _backward_entries_s(plan.segments)


def _round(volume_s: float) -> float:
    """Down to 5 s (never up: rounding must not add to a step); tiny volumes stay as they are."""
    rounded = math.floor(volume_s / _GRID_S + 1e-9) * _GRID_S
    return rounded if rounded > 0 else volume_s


def _local_date(moment: datetime) -> date:
    return moment.astimezone().date() if moment.tzinfo is not None else moment.date()


def _mmss(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
