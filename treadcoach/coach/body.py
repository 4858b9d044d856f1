"""Progression that follows the body: pain, effort (RPE) and heart-rate habituation. Pure.

``coach.progression`` decides the next session's backward *volume* from what was completed.
This module reads how the body answered (the after-session check-in and the heart rate) and
may only make that decision more careful, or, for habituation, move speed or incline by one
step. It never raises a cap and never moves anything by more than one step. The rules, in
order (the first that applies wins; docs/plans.md lists them with their sources):

1. **Dizzy, or pain high** (a ``dizzy`` stop, or pain >= ``pain_stop`` = 5/10 after the
   session, or pain up by ``pain_rise`` = 2 points on the previous check-in): step back --
   the volume steps back and speed/incline stay. (Pain-monitoring model, Silbernagel et al.
   2007: up to 5/10 is acceptable if it settles; more, or rising, means too much.)
2. **Effort very hard** (RPE >= ``rpe_step_back`` = 17, "very hard" on Borg 6-20): step back.
   A check-in stored off its scale (a hand-edited journal) cannot be read: **hold** (after the
   dizzy rule, before the others: its numbers mean nothing).
3. **Pain moderate or effort hard** (pain >= ``pain_hold`` = 3, or RPE >= ``rpe_hold`` = 15):
   hold -- the volume may not grow, speed/incline stay.
4. **Habituation**: the heart rate at the same backward speed and incline has fallen by at least
   ``habituation_drop`` (8 %) over at least ``habituation_days`` (14) and ``habituation_sessions``
   (3) sessions, and the last check-in was easy (pain < ``pain_hold``, RPE < ``rpe_hold`` or
   not given): one step up -- ``speed_step_kmh`` if the speed stays within its cap, else
   ``incline_step_pct`` if the incline stays within its cap, else nothing. (Heath 2001: after
   four weeks of backward walking at the same speed, heart rate fell from ~143 to ~119 bpm, a
   17 % drop: the same dose had become easier.)
5. Otherwise: no change (``coach.progression`` decides the volume as it always has).

Hooper et al. 2004 (backward walking gives ~17-20 % higher %HRmax than forward at the same speed)
is why habituation compares backward segments with backward segments only.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "DEFAULT_BODY_RULES",
    "BodyAdvice",
    "BodyRules",
    "CheckIn",
    "HrAtSpeed",
    "VolumeAction",
    "advise",
    "apply_volume",
]


class VolumeAction(enum.StrEnum):
    FREE = "free"  # coach.progression decides
    HOLD = "hold"  # no growth: at most the last planned volume
    STEP_BACK = "step_back"  # at most one step back from the last planned volume


@dataclass(frozen=True, slots=True)
class BodyRules:
    pain_stop: float = 5.0
    pain_rise: float = 2.0
    pain_hold: float = 3.0
    rpe_step_back: int = 17
    rpe_hold: int = 15
    habituation_drop: float = 0.08
    habituation_days: float = 14.0
    habituation_sessions: int = 3
    same_speed_kmh: float = 0.15  # "the same speed" within this
    same_incline_pct: float = 0.5
    speed_step_kmh: float = 0.2
    incline_step_pct: float = 1.0

    def __post_init__(self) -> None:
        for name in ("speed_step_kmh", "incline_step_pct", "habituation_drop"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")


DEFAULT_BODY_RULES = BodyRules()


@dataclass(frozen=True, slots=True)
class CheckIn:
    """The after-session check-in: pain 0-10, RPE on Borg's 6-20 scale (None: not asked)."""

    at: datetime
    pain: float | None = None
    rpe: int | None = None
    stop_reason: str | None = None
    # a check-in was given but what is stored cannot be read (off its scale): how the session
    # went is unknown, so the volume holds (no growth from it, no step back on a number that
    # means nothing); a dizzy stop still steps back
    unreadable: bool = False

    def __post_init__(self) -> None:
        if self.pain is not None and not 0 <= self.pain <= 10:
            raise ValueError(f"pain is 0 to 10, not {self.pain!r}")
        if self.rpe is not None and not 6 <= self.rpe <= 20:
            raise ValueError(f"RPE is 6 to 20 (Borg), not {self.rpe!r}")


@dataclass(frozen=True, slots=True)
class HrAtSpeed:
    """The steady heart rate of one session's backward work at one speed and incline."""

    at: datetime
    speed_kmh: float
    incline_pct: float
    mean_bpm: float


@dataclass(frozen=True, slots=True)
class BodyAdvice:
    volume: VolumeAction
    speed_kmh: float
    incline_pct: float
    reason: str


def advise(
    checkins: Sequence[CheckIn],
    hr_history: Sequence[HrAtSpeed],
    *,
    speed_kmh: float,
    incline_pct: float,
    speed_cap_kmh: float,
    incline_cap_pct: float,
    rules: BodyRules = DEFAULT_BODY_RULES,
) -> BodyAdvice:
    """The body's word on the next session (see the module docstring), given its current dose.

    ``speed_kmh``/``incline_pct`` are the backward dose now; the caps are the active ones. The
    advice never exceeds a cap and never moves the dose by more than one step.
    """
    ordered = sorted(checkins, key=lambda c: c.at)
    last = ordered[-1] if ordered else None
    previous = ordered[-2] if len(ordered) > 1 else None
    # a dose already above a cap (the cap was lowered) is brought down to it, never up
    speed = min(speed_kmh, speed_cap_kmh)
    incline = min(incline_pct, incline_cap_pct)

    def keep(action: VolumeAction, reason: str) -> BodyAdvice:
        return BodyAdvice(action, speed, incline, reason)

    if last is not None:
        if last.stop_reason == "dizzy":
            return keep(VolumeAction.STEP_BACK, "Stopped dizzy last time: step back.")
        if last.unreadable:
            return keep(VolumeAction.HOLD, "Last time's check-in could not be read: hold.")
        if last.pain is not None and last.pain >= rules.pain_stop:
            return keep(VolumeAction.STEP_BACK, f"Pain {last.pain:g}/10 last time: step back.")
        if (
            last.pain is not None
            and previous is not None
            and previous.pain is not None
            and last.pain - previous.pain >= rules.pain_rise
        ):
            return keep(
                VolumeAction.STEP_BACK,
                f"Pain rose from {previous.pain:g} to {last.pain:g}/10: step back.",
            )
        if last.rpe is not None and last.rpe >= rules.rpe_step_back:
            return keep(VolumeAction.STEP_BACK, f"Effort {last.rpe}/20 (very hard): step back.")
        if (last.pain is not None and last.pain >= rules.pain_hold) or (
            last.rpe is not None and last.rpe >= rules.rpe_hold
        ):
            return keep(VolumeAction.HOLD, "Pain or effort was up last time: hold.")
    drop = habituation(hr_history, speed, incline, rules)
    if drop is not None:
        if speed + rules.speed_step_kmh <= speed_cap_kmh + 1e-9:
            return BodyAdvice(
                VolumeAction.FREE,
                speed + rules.speed_step_kmh,
                incline,
                f"Heart rate at {speed:.1f} km/h fell {drop:.0%}: one speed step up.",
            )
        if incline + rules.incline_step_pct <= incline_cap_pct + 1e-9:
            return BodyAdvice(
                VolumeAction.FREE,
                speed,
                incline + rules.incline_step_pct,
                f"Heart rate at {speed:.1f} km/h fell {drop:.0%}, speed at its cap: one incline "
                "step up.",
            )
        return keep(
            VolumeAction.FREE,
            f"Heart rate fell {drop:.0%}, but speed and incline are at their caps.",
        )
    return keep(VolumeAction.FREE, "")


def habituation(
    hr_history: Sequence[HrAtSpeed], speed_kmh: float, incline_pct: float, rules: BodyRules
) -> float | None:
    """The relative HR fall at this dose (0.17 = 17 %) when it counts as habituation, else None."""
    same = sorted(
        (
            h
            for h in hr_history
            if abs(h.speed_kmh - speed_kmh) <= rules.same_speed_kmh
            and abs(h.incline_pct - incline_pct) <= rules.same_incline_pct
            and h.mean_bpm > 0
        ),
        key=lambda h: h.at,
    )
    if len(same) < rules.habituation_sessions:
        return None
    first, last = same[0], same[-1]
    if (last.at - first.at).total_seconds() < rules.habituation_days * 86400:
        return None
    # the first and last two sessions, averaged: one good or bad day is not a trend
    early = sum(h.mean_bpm for h in same[:2]) / 2
    late = sum(h.mean_bpm for h in same[-2:]) / 2
    drop = (early - late) / early
    return drop if drop >= rules.habituation_drop else None


def apply_volume(
    volume_s: float, last_planned_s: float, action: VolumeAction, step_back_s: float
) -> float:
    """``coach.progression``'s volume, made as careful as ``action`` asks (never larger).

    ``step_back_s`` is the volume one step back from ``last_planned_s``
    (``ProgressionSettings.step_back``).
    """
    match action:
        case VolumeAction.HOLD:
            return min(volume_s, last_planned_s)
        case VolumeAction.STEP_BACK:
            return min(volume_s, step_back_s)
    return volume_s
