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

Then the body (``coach.body``, from the check-in and the heart rate; docs/plans.md):

* Dizzy stop, pain >= 5/10, pain up by 2 on the previous check-in, or RPE >= 17: step back
  (at most ``step_back`` of the last planned volume). Pain >= 3 or RPE >= 15: hold (at most the
  last planned volume). Speed and incline never go up then.
* Heart rate at the same backward walking speed and incline falling over weeks (habituation),
  the last session completed on time and nothing above: one step of walking speed (or, at its
  cap, of incline) instead of a volume step -- one step per session, never both, within caps.
* A speed or incline step sticks: later plans keep it (it rides on the ladder's walking speed)
  until a week is missed, which brings the dose back to the ladder.

The ladder turns a volume into a plan: up to 3 min it is one backward walk (2 mph below 2:30,
then 2.5 mph); above 3 min, 2 min of backward walking plus 20-30 s retro bouts at 3 mph, each
after a 60 s forward recovery walk; above 6 min the bouts stay at 8 x 30 s and the walk grows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from treadcoach.coach.body import DEFAULT_BODY_RULES, BodyRules, HrAtSpeed, VolumeAction
from treadcoach.coach.body import CheckIn as BodyCheckIn
from treadcoach.coach.body import advise as body_advise
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan, Repeat, Segment
from treadcoach.errors import LimitsError
from treadcoach.safety.reasons import StopReason

__all__ = [
    "ABSOLUTE_MAX_BACKWARD_S",
    "BACKWARD_INCLINE_MAX_PCT",
    "BACKWARD_WALK_MAX_KMH",
    "DEFAULT_DOSE_CAPS",
    "DEFAULT_SETTINGS",
    "FAULT_STOPS",
    "PROGRESSION_PLAN_PREFIX",
    "Dose",
    "DoseCaps",
    "PastSession",
    "ProgressionSettings",
    "Suggestion",
    "first_plan",
    "ladder_walk_kmh",
    "next_backward_s",
    "next_dose",
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
# The programme's caps on the backward walk's dose, whatever the body says: "set speed to 2-3
# mph" (the seed) -> 3 mph; incline: a conservative 5 % (no source gives one for backward
# walking; the treadmill's own range and [limits] still apply on top).
BACKWARD_WALK_MAX_KMH = 4.83
BACKWARD_INCLINE_MAX_PCT = 5.0
# Plans generated here are named "progression-..."; only their dose is ours to carry on.
PROGRESSION_PLAN_PREFIX = "progression-"

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
    # the after-session check-in (history/checkin.py); None: skipped or not asked
    rpe: int | None = None
    pain: int | None = None
    # the dose its backward walk ran at: segment target speed and incline (None: no walk ran)
    walk_kmh: float | None = None
    walk_incline_pct: float = 0.0
    # steady heart rate of its backward work, per speed and incline (history/body_input.py)
    hr_at_speed: tuple[HrAtSpeed, ...] = ()
    # a check-in was stored but cannot be read (off its scale: a hand-edited journal): the body
    # rules hold on it (coach.body rule 0)
    checkin_unreadable: bool = False


@dataclass(frozen=True, slots=True)
class DoseCaps:
    """The backward walk's speed and incline caps: the lower of the programme's and the user's."""

    walk_kmh: float = BACKWARD_WALK_MAX_KMH
    incline_pct: float = BACKWARD_INCLINE_MAX_PCT

    def __post_init__(self) -> None:
        if not (math.isfinite(self.walk_kmh) and self.walk_kmh > 0):
            raise LimitsError("progression.walk_kmh", f"must be > 0, not {self.walk_kmh!r}")
        if not (math.isfinite(self.incline_pct) and self.incline_pct >= 0):
            raise LimitsError("progression.incline_pct", f"must be >= 0, not {self.incline_pct!r}")

    @classmethod
    def within(cls, backward_max_kmh: float, incline_max_pct: float | None = None) -> DoseCaps:
        """The programme's caps, lowered to the user's ``[limits]`` (and the belt's incline)."""
        incline = BACKWARD_INCLINE_MAX_PCT
        if incline_max_pct is not None:
            incline = max(0.0, min(incline, incline_max_pct))
        return cls(walk_kmh=min(BACKWARD_WALK_MAX_KMH, backward_max_kmh), incline_pct=incline)


DEFAULT_DOSE_CAPS = DoseCaps()


@dataclass(frozen=True, slots=True)
class Dose:
    """The next session: backward volume, and the backward walk's dose above the ladder."""

    volume_s: float
    speed_up_kmh: float  # added to the ladder's walking speed (>= 0), within the caps
    incline_pct: float  # of the backward walk (>= 0)
    reason: str


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
    *,
    caps: DoseCaps = DEFAULT_DOSE_CAPS,
    rules: BodyRules = DEFAULT_BODY_RULES,
) -> Suggestion:
    """The plan for the next session, and why."""
    dose = next_dose(history, today, settings, caps=caps, rules=rules)
    plan = plan_for(
        dose.volume_s,
        speed_up_kmh=dose.speed_up_kmh,
        incline_pct=dose.incline_pct,
        walk_cap_kmh=caps.walk_kmh,
    )
    planned = _backward_s(plan)
    return Suggestion(
        plan=plan, backward_s=planned, reason=f"{dose.reason} Next: {_mmss(planned)} backward."
    )


def ladder_walk_kmh(backward_s: float) -> float:
    """The ladder's backward walking speed for a volume (before any habituation step)."""
    if backward_s <= SPLIT_ABOVE_S:
        return BACKWARD_WALK_SLOW_KMH if backward_s < BRISK_FROM_S else BACKWARD_WALK_KMH
    return BACKWARD_WALK_KMH


def next_dose(
    history: Sequence[PastSession],
    today: date,
    settings: ProgressionSettings = DEFAULT_SETTINGS,
    *,
    caps: DoseCaps = DEFAULT_DOSE_CAPS,
    rules: BodyRules = DEFAULT_BODY_RULES,
) -> Dose:
    """The next volume (``next_backward_s``), made as careful as the body asks, and the dose.

    The body may only lower the volume (hold, step back) or, for habituation, raise the
    walking speed or incline by one step *instead of* the volume step. Caps always win: the
    dose never exceeds ``caps`` (a dose above a lowered cap comes down to it).
    """
    volume, why = next_backward_s(history, today, settings)
    relevant = sorted((s for s in history if _counts(s)), key=lambda s: s.started_at)
    # the dose carried on: the last progression plan's walk, above the ladder for its volume
    ours = [s for s in relevant if s.plan.startswith(PROGRESSION_PLAN_PREFIX) and s.walk_kmh]
    speed_up, incline = 0.0, 0.0
    if ours:
        carried = ours[-1]
        assert carried.walk_kmh is not None
        speed_up = max(0.0, carried.walk_kmh - ladder_walk_kmh(carried.planned_backward_s))
        incline = max(0.0, carried.walk_incline_pct)
    last = relevant[-1] if relevant else None
    gap_days = (today - _local_date(last.started_at)).days if last is not None else 0
    if last is None or gap_days > settings.missed_days:
        speed_up, incline = 0.0, 0.0  # a missed week (or a restart): back to the ladder's dose
    incline = min(incline, caps.incline_pct)
    if last is None:
        return Dose(volume, 0.0, 0.0, why)

    # the body's word, from the sessions that have one (backward work done, a check-in, dizzy)
    said = sorted((s for s in history if _says_something(s)), key=lambda s: s.started_at)
    checkins = [
        BodyCheckIn(
            at=s.started_at,
            pain=s.pain,
            rpe=s.rpe,
            stop_reason=s.stop_reason,
            unreadable=s.checkin_unreadable,
        )
        for s in said
    ]
    hr = [h for s in relevant for h in s.hr_at_speed]
    walk_now = min(ladder_walk_kmh(last.planned_backward_s) + speed_up, caps.walk_kmh)
    advice = body_advise(
        checkins,
        hr,
        speed_kmh=walk_now,
        incline_pct=incline,
        speed_cap_kmh=caps.walk_kmh,
        incline_cap_pct=caps.incline_pct,
        rules=rules,
    )
    last_planned = last.planned_backward_s
    if advice.volume is not VolumeAction.FREE:
        if advice.volume is VolumeAction.STEP_BACK:
            careful = max(_round(settings.step_back(last_planned)), settings.min_backward_s)
        else:
            careful = last_planned
        if careful < volume:  # the body's word is the reason; else the rules' own was stricter
            done = f"{_mmss(last_planned)} backward ({last.plan}, {_local_date(last.started_at)})"
            return Dose(careful, speed_up, incline, f"{advice.reason} Last: {done}.")
        return Dose(volume, speed_up, incline, f"{why} {advice.reason}")
    raised = advice.speed_kmh > walk_now + 1e-9 or advice.incline_pct > incline + 1e-9
    # completed, not today (one increase a day), no week missed
    on_time = last.completed and 0 < gap_days <= settings.missed_days
    if raised and on_time and last.plan.startswith(PROGRESSION_PLAN_PREFIX):
        # one step per session: the dose goes up, so the volume stays where it was
        speed_up = max(0.0, advice.speed_kmh - ladder_walk_kmh(last_planned))
        return Dose(
            min(volume, last_planned), speed_up, advice.incline_pct, f"{advice.reason} Repeat."
        )
    return Dose(volume, speed_up, incline, why)


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


def _says_something(session: PastSession) -> bool:
    """Whether the body rules read this session: it had backward work, a check-in or a dizzy
    stop (one stopped in the warm-up with none of these says nothing about the body)."""
    return (
        _counts(session)
        or session.rpe is not None
        or session.pain is not None
        or session.checkin_unreadable
        or session.stop_reason == StopReason.DIZZY
    )


def _counts(session: PastSession) -> bool:
    """Only sessions with backward work count: one stopped in the warm-up, before any backward
    step, says nothing about how the walker copes (and must not cut the next step)."""
    if not (math.isfinite(session.planned_backward_s) and session.planned_backward_s > 0):
        return False
    return session.completed or (math.isfinite(session.backward_s) and session.backward_s > 0)


def plan_for(
    backward_s: float,
    *,
    speed_up_kmh: float = 0.0,
    incline_pct: float = 0.0,
    walk_cap_kmh: float = BACKWARD_WALK_MAX_KMH,
) -> Plan:
    """A session with ``backward_s`` of backward work (or a little less: bouts are whole seconds).

    The backward walk runs at the ladder's speed plus ``speed_up_kmh`` (never above
    ``walk_cap_kmh``) and at ``incline_pct``; the retro bouts stay at the ladder's speed.
    """
    if not (backward_s > 0 and math.isfinite(backward_s)):
        raise ValueError(f"backward volume must be positive, not {backward_s!r}")
    if not (math.isfinite(speed_up_kmh) and speed_up_kmh >= 0):
        raise ValueError(f"speed_up_kmh must be >= 0, not {speed_up_kmh!r}")
    if not (math.isfinite(incline_pct) and incline_pct >= 0):
        raise ValueError(f"incline_pct must be >= 0, not {incline_pct!r}")
    volume = min(backward_s, ABSOLUTE_MAX_BACKWARD_S)

    def walk(duration_s: float, ladder_kmh: float) -> Segment:
        kmh = ladder_kmh  # exactly the ladder (and the plans it has always made)...
        if speed_up_kmh > 0:  # ... or above it, down to 0.01 km/h: never rounded over the cap
            raised = min(ladder_kmh + speed_up_kmh, max(walk_cap_kmh, ladder_kmh))
            kmh = math.floor(raised * 100 + 1e-6) / 100
        return _walk(duration_s, kmh, incline_pct)

    # an inclined walk: every other segment says 0 % so the belt levels out after it (a
    # segment without an incline leaves the belt where it is)
    level = 0.0 if incline_pct > 0 else None
    entries: list[Segment | Repeat] = [
        Segment(
            kind=SegmentKind.WARMUP,
            duration_s=WARMUP_S,
            speed=WARMUP_KMH,
            incline_pct=level,
            label="warm-up walk",
            cue="Warm up: easy forward walk.",
        )
    ]
    if volume <= SPLIT_ABOVE_S:
        entries.append(walk(volume, ladder_walk_kmh(volume)))
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
        entries.append(walk(walk_s, BACKWARD_WALK_KMH))
        entries.append(
            Repeat(
                times=bouts,
                segments=[
                    Segment(
                        kind=SegmentKind.RECOVERY,
                        duration_s=RECOVERY_S,
                        speed=RECOVERY_KMH,
                        incline_pct=level,
                        label="recovery walk",
                        cue="Walk forward and recover.",
                    ),
                    Segment(
                        kind=SegmentKind.RETRO_RUN,
                        duration_s=bout_s,
                        speed=RETRO_KMH,
                        incline_pct=level,
                        label="retro bout",
                        cue=_RETRO_CUE,
                    ),
                ],
            )
        )
        shape = f"backward walk + {bouts} x {bout_s:g} s retro"
    if speed_up_kmh > 0 or incline_pct > 0:
        walk_kmh = next(e.speed for e in entries if isinstance(e, Segment) and e.kind.is_backward)
        # (kept short: a title is at most 80 characters)
        shape += f", {walk_kmh:g} km/h" + (f", {round(incline_pct, 1):g}%" if incline_pct else "")
    entries.append(
        Segment(
            kind=SegmentKind.COOLDOWN,
            duration_s=COOLDOWN_S,
            speed=COOLDOWN_KMH,
            incline_pct=level,
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


def _walk(duration_s: float, kmh: float, incline_pct: float = 0.0) -> Segment:
    return Segment(
        kind=SegmentKind.BACKWARD_WALK,
        duration_s=duration_s,
        speed=kmh,
        incline_pct=incline_pct if incline_pct > 0 else None,
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
