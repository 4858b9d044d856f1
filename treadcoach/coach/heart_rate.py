"""Heart rate that coaches: the ceiling, the stale-strap hold and the zone controller. Pure.

No clock, no asyncio, no link: the caller passes ``now`` (seconds on any monotonic clock, the
controller's injected one) and the latest strap sample, and gets back a :class:`HrDecision`.
The session governor applies it; this module never commands the belt itself.

How the governor uses a decision (one rule, so caps always win)::

    goal = decision.goal_kmh if decision.goal_kmh is not None else step.target_kmh
    if decision.limit_kmh is not None:
        goal = min(goal, decision.limit_kmh)
    goal = min(goal, active_cap)          # the caps (invariant 1) stay the governor's
    if decision.stop: stop(StopReason.HR_CEILING)

The governor then ramps toward ``goal`` at its own rates, as for any target.

Rules (the numbers are the named constants below, in :class:`HrCoachConfig`):

* **Trust.** A sample counts only when it is fresh (``stale_after_s`` = 5 s, and not stamped
  ahead of ``now`` by more than ``future_tolerance_s``: such a stamp is another clock's and its
  age is unknown, so it is stale), the strap reports
  skin contact (or cannot tell), and the value is a pulse a person can have (30-250 bpm; a strap
  sends 0 while it searches for a beat). Anything else is *not trusted*: every HR-driven increase
  is suspended (the zone goal and a ceiling limit may fall to the commanded speed, never rise),
  ``holding`` is set so the screen can say so, and nothing is stopped: a strap failing never
  stops the belt. Before the first trusted sample of a session the strap is *absent* and HR rules
  are off (plan speeds run as written).
* **Ceiling** (``hr_max_bpm``, from ``[limits]``). A trusted pulse above it lowers a speed limit
  by one step every ``ceiling_step_interval_s`` (the first step at once), never below the belt
  minimum and never up while above. Above it by ``ceiling_stop_margin_bpm`` for
  ``ceiling_stop_after_s`` of trusted samples in a row: ``stop`` (reason ``hr_ceiling``). Below
  ``hr_max_bpm - ceiling_release_bpm`` the limit lifts one step per ``adjust_interval_s`` (an
  HR-driven increase, so only on trusted samples) until it no longer limits.
* **Zone** (``hr_zone`` on a plan segment, bpm or % of ``hr_max_bpm``). A goal speed inside
  [belt minimum, segment cap] moves one step per ``adjust_interval_s`` at most: down when the
  pulse is above the zone or heading above it (its trend over ``trend_horizon_s``), up when it
  is below the zone and not heading into it, and not up while the belt has not yet reached the
  goal. The trend look-ahead is what keeps a lagging pulse (time constant ~30-60 s) from
  overshooting: without it the goal keeps rising for a minute after the pulse is already on its
  way into the zone.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from treadcoach.coach.plan import Plan
    from treadcoach.coach.schedule import Step

__all__ = [
    "HeartRateCoach",
    "HrCoachConfig",
    "HrDecision",
    "HrSample",
    "HrSampleLike",
    "HrSignal",
    "HrZone",
    "SpeedBounds",
    "ZoneState",
    "parse_hr_zone",
    "zone_for_step",
]

MIN_PLAUSIBLE_BPM = 30
MAX_PLAUSIBLE_BPM = 250


@dataclass(frozen=True, slots=True)
class HrCoachConfig:
    """The timing of every HR rule, in one place (DESIGN: one owner per fact)."""

    stale_after_s: float = 5.0
    #: how far ahead of ``now`` a sample's stamp may be and still count as fresh: the strap link
    #: stamps with the same loop clock, so only float noise and a read-then-stamp race are
    #: ahead at all; anything further comes from another clock and its age is unknown
    future_tolerance_s: float = 0.5
    step_kmh: float = 0.1  # one HR step; the governor snaps to the device increment
    ceiling_step_interval_s: float = 5.0
    ceiling_stop_margin_bpm: float = 10.0
    ceiling_stop_after_s: float = 20.0
    ceiling_release_bpm: float = 5.0
    adjust_interval_s: float = 10.0
    trend_horizon_s: float = 30.0
    trend_min_bpm_per_min: float = 3.0  # slower than this is drift/jitter, not "heading above"
    trend_smoothing_s: float = 20.0  # time constant of the pulse-slope estimate (1-bpm ticks)


class HrSignal(enum.StrEnum):
    ABSENT = "absent"  # no trusted sample yet this session: HR rules are off
    OK = "ok"
    STALE = "stale"  # the last sample is older than stale_after_s
    NO_CONTACT = "no_contact"  # the strap says it is off the skin
    INVALID = "invalid"  # 0 bpm or a value no person has


class ZoneState(enum.StrEnum):
    BELOW = "below"
    IN = "in"
    ABOVE = "above"


class HrSampleLike(Protocol):
    """What :meth:`HeartRateCoach.update` reads of a sample (``link.strap.StrapReading`` fits)."""

    @property
    def bpm(self) -> int: ...
    @property
    def contact(self) -> bool | None: ...
    @property
    def at_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class HrSample:
    """The latest Heart Rate Measurement: ``at_s`` is when it arrived, on the caller's clock."""

    bpm: int
    contact: bool | None
    at_s: float


@dataclass(frozen=True, slots=True)
class SpeedBounds:
    """Where HR may move the speed: [belt minimum, the active cap] in km/h."""

    floor_kmh: float
    cap_kmh: float

    def clamp(self, kmh: float) -> float:
        """``kmh`` inside the bounds; the cap wins when a cap is below the belt minimum."""
        return min(self.cap_kmh, max(self.floor_kmh, kmh))


@dataclass(frozen=True, slots=True)
class HrZone:
    """A heart-rate zone as a plan writes it: bpm, or percent of ``hr_max_bpm``."""

    low: float
    high: float
    unit: Literal["bpm", "pct"] = "bpm"

    def __post_init__(self) -> None:
        top = 100.0 if self.unit == "pct" else MAX_PLAUSIBLE_BPM
        bottom = 0.0 if self.unit == "pct" else MIN_PLAUSIBLE_BPM
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("the zone's ends must be finite numbers")
        if not bottom < self.low < self.high <= top:
            what = "percent of hr_max_bpm" if self.unit == "pct" else "bpm"
            raise ValueError(
                f"[{self.low:g}, {self.high:g}] is not a zone: it must be [low, high] with low < high, from {bottom:g} to "
                f"{top:g} {what}"
            )

    def in_bpm(self, hr_max_bpm: float | None) -> tuple[float, float] | None:
        """(low, high) in bpm; None when given in percent and no ``hr_max_bpm`` is set."""
        if self.unit == "bpm":
            return self.low, self.high
        if hr_max_bpm is None:
            return None
        return self.low * hr_max_bpm / 100.0, self.high * hr_max_bpm / 100.0


def _zone_value(value: object) -> tuple[float, bool]:
    if isinstance(value, bool):
        raise ValueError('the zone\'s ends are numbers (bpm) or strings like "70%", not true/false')
    if isinstance(value, int | float):
        return float(value), False
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]), True
        except ValueError:
            pass
    raise ValueError(f'the zone\'s ends are numbers (bpm) or strings like "70%", not {value!r}')


def parse_hr_zone(value: object) -> HrZone:
    """``[110, 125]`` (bpm) or ``["60%", "70%"]`` (of hr_max_bpm) -> HrZone; raises ValueError."""
    if isinstance(value, HrZone):
        return value
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(
            'must be [low, high], e.g. [110, 125] (bpm) or ["60%", "70%"] (of hr_max_bpm)'
        )
    (low, low_pct), (high, high_pct) = _zone_value(value[0]), _zone_value(value[1])
    if low_pct != high_pct:
        raise ValueError("give both ends of the zone in bpm, or both in percent")
    return HrZone(low, high, "pct" if low_pct else "bpm")


def zone_for_step(plan: Plan, step: Step) -> HrZone | None:
    """The ``hr_zone`` of the plan segment a schedule step came from (None: inserted/none)."""
    if step.source_path is None:
        return None
    for path, segment, _ in plan.flat():
        if path == step.source_path:
            zone: HrZone | None = getattr(segment, "hr_zone", None)
            return zone
    return None


@dataclass(frozen=True, slots=True)
class HrDecision:
    """What the heart rate asks of the governor now (see the module docstring)."""

    signal: HrSignal
    bpm: int | None = None  # the trusted pulse, None when not trusted
    limit_kmh: float | None = None  # never command above this (the ceiling); None: no limit
    goal_kmh: float | None = None  # the zone's goal speed; None: the plan's own target
    holding: bool = False  # HR-driven increases suspended (strap stale, off the skin, 0 bpm)
    above_ceiling: bool = False
    stop: bool = False  # stop the belt, reason hr_ceiling
    ceiling_bpm: float | None = None  # hr_max_bpm, for the stop's detail
    above_for_s: float | None = None  # how long above the ceiling by the margin (trusted)
    zone: tuple[float, float] | None = None  # the active zone in bpm
    zone_state: ZoneState | None = None
    trend_bpm_per_min: float | None = None


@dataclass(slots=True)
class _State:
    seen_trusted: bool = False
    limit_kmh: float | None = None
    last_ceiling_step_s: float = -math.inf
    last_release_s: float = -math.inf
    above_stop_since_s: float | None = None
    zone: HrZone | None = None
    goal_kmh: float | None = None
    last_adjust_s: float = -math.inf
    last_bpm: float | None = None
    last_at_s: float | None = None
    slope_bpm_per_s: float = 0.0


class HeartRateCoach:
    """One session's HR rules; call :meth:`begin_step` at each step, :meth:`update` each tick."""

    def __init__(self, hr_max_bpm: float | None, config: HrCoachConfig | None = None) -> None:
        if hr_max_bpm is not None and not MIN_PLAUSIBLE_BPM < hr_max_bpm <= MAX_PLAUSIBLE_BPM:
            raise ValueError(f"hr_max_bpm must be from 31 to 250, not {hr_max_bpm!r}")
        self.hr_max_bpm = hr_max_bpm
        self.config = config if config is not None else HrCoachConfig()
        self._s = _State()

    def begin_step(self, zone: HrZone | None, start_kmh: float) -> None:
        """A new step starts: its zone (None: none) and where its goal begins (its target).

        The ceiling limit carries over (the pulse does not reset at a segment boundary).
        """
        self._s.zone = zone
        self._s.goal_kmh = start_kmh if zone is not None else None
        self._s.last_adjust_s = -math.inf

    def update(
        self,
        now_s: float,
        sample: HrSampleLike | None,
        commanded_kmh: float,
        bounds: SpeedBounds,
    ) -> HrDecision:
        s = self._s
        signal = self._signal(now_s, sample)
        zone_bpm = self._zone_bpm()
        if signal is HrSignal.OK:
            assert sample is not None
            s.seen_trusted = True
            self._track_trend(sample)
        if not s.seen_trusted:
            return HrDecision(HrSignal.ABSENT, zone=zone_bpm)
        if signal is not HrSignal.OK:
            # hold: nothing HR-driven may rise; what was falling may keep falling
            s.above_stop_since_s = None
            if s.limit_kmh is not None:
                s.limit_kmh = min(s.limit_kmh, bounds.clamp(commanded_kmh))
            if s.goal_kmh is not None:
                s.goal_kmh = min(s.goal_kmh, bounds.clamp(commanded_kmh))
            return self._decision(signal, None, bounds, zone_bpm, holding=True)
        assert sample is not None
        bpm = sample.bpm
        above = self.hr_max_bpm is not None and bpm > self.hr_max_bpm
        stop = False
        if self.hr_max_bpm is not None:
            stop = self._ceiling(now_s, bpm, commanded_kmh, bounds)
        if zone_bpm is not None and s.goal_kmh is not None:
            self._steer(now_s, bpm, commanded_kmh, bounds, zone_bpm)
        decision = self._decision(signal, bpm, bounds, zone_bpm, above=above, stop=stop)
        if s.above_stop_since_s is None:
            return decision
        return dataclasses.replace(decision, above_for_s=now_s - s.above_stop_since_s)

    # --- the rules -------------------------------------------------------------------------------

    def _signal(self, now_s: float, sample: HrSampleLike | None) -> HrSignal:
        if sample is None:
            return HrSignal.STALE if self._s.seen_trusted else HrSignal.ABSENT
        age_s = now_s - sample.at_s
        if age_s > self.config.stale_after_s:
            return HrSignal.STALE
        if age_s < -self.config.future_tolerance_s:
            # Stamped ahead of now: another clock (a port that stamps with wall time, a strap's
            # own timestamps). Its age cannot be known, and trusting it would keep a silent
            # strap "fresh" until now passes the stamp + stale_after_s -- the zone could raise
            # the speed on a pulse from a minute ago. Not fresh, so stale: hold, never stop.
            return HrSignal.STALE
        if sample.contact is False:
            return HrSignal.NO_CONTACT
        if not MIN_PLAUSIBLE_BPM <= sample.bpm <= MAX_PLAUSIBLE_BPM:
            return HrSignal.INVALID
        return HrSignal.OK

    def _zone_bpm(self) -> tuple[float, float] | None:
        zone = self._s.zone
        if zone is None:
            return None
        band = zone.in_bpm(self.hr_max_bpm)
        if band is None or self.hr_max_bpm is None:
            return band
        low, high = band
        return min(low, self.hr_max_bpm - 1), min(high, self.hr_max_bpm)

    def _track_trend(self, sample: HrSampleLike) -> None:
        s = self._s
        if s.last_at_s is not None and s.last_bpm is not None and sample.at_s > s.last_at_s:
            dt = sample.at_s - s.last_at_s
            slope = (sample.bpm - s.last_bpm) / dt
            weight = 1.0 - math.exp(-dt / self.config.trend_smoothing_s)
            s.slope_bpm_per_s += weight * (slope - s.slope_bpm_per_s)
        if s.last_at_s is None or sample.at_s > s.last_at_s:
            s.last_at_s, s.last_bpm = sample.at_s, float(sample.bpm)

    def _ceiling(self, now_s: float, bpm: int, commanded_kmh: float, bounds: SpeedBounds) -> bool:
        s, cfg = self._s, self.config
        assert self.hr_max_bpm is not None
        if bpm > self.hr_max_bpm:
            s.last_release_s = now_s  # no lifting while above, nor right after
            if now_s - s.last_ceiling_step_s >= cfg.ceiling_step_interval_s:
                base = commanded_kmh if s.limit_kmh is None else min(s.limit_kmh, commanded_kmh)
                lowered = bounds.clamp(base - cfg.step_kmh)  # caps win, even over the belt minimum
                # never up: a limit already under the belt minimum (a cap below it) stays
                s.limit_kmh = lowered if s.limit_kmh is None else min(s.limit_kmh, lowered)
                s.last_ceiling_step_s = now_s
        elif (
            bpm < self.hr_max_bpm - cfg.ceiling_release_bpm
            and s.limit_kmh is not None
            and now_s - s.last_release_s >= cfg.adjust_interval_s
        ):
            s.last_release_s = now_s
            s.limit_kmh += cfg.step_kmh
            if s.limit_kmh >= bounds.cap_kmh:
                s.limit_kmh = None
        if bpm >= self.hr_max_bpm + cfg.ceiling_stop_margin_bpm:
            if s.above_stop_since_s is None:
                s.above_stop_since_s = now_s
            return now_s - s.above_stop_since_s >= cfg.ceiling_stop_after_s
        s.above_stop_since_s = None
        return False

    def _steer(
        self,
        now_s: float,
        bpm: int,
        commanded_kmh: float,
        bounds: SpeedBounds,
        zone_bpm: tuple[float, float],
    ) -> None:
        s, cfg = self._s, self.config
        assert s.goal_kmh is not None
        if now_s - s.last_adjust_s < cfg.adjust_interval_s:
            return
        low, high = zone_bpm
        predicted = bpm + s.slope_bpm_per_s * cfg.trend_horizon_s
        goal = s.goal_kmh
        rising = s.slope_bpm_per_s * 60.0 >= cfg.trend_min_bpm_per_min
        if bpm > high or (rising and predicted > high):
            goal -= cfg.step_kmh
        elif bpm < low and predicted < low and commanded_kmh >= goal - cfg.step_kmh / 2:
            goal += cfg.step_kmh
        goal = bounds.clamp(goal)
        if s.limit_kmh is not None:
            goal = min(goal, bounds.clamp(s.limit_kmh))
        if goal != s.goal_kmh:
            s.goal_kmh = goal
            s.last_adjust_s = now_s

    def _decision(
        self,
        signal: HrSignal,
        bpm: int | None,
        bounds: SpeedBounds,
        zone_bpm: tuple[float, float] | None,
        *,
        holding: bool = False,
        above: bool = False,
        stop: bool = False,
    ) -> HrDecision:
        s = self._s
        # caps always win: whatever the rules computed, nothing leaves above the cap
        if s.limit_kmh is not None and s.limit_kmh > bounds.cap_kmh:
            s.limit_kmh = bounds.cap_kmh
        if s.goal_kmh is not None:
            s.goal_kmh = bounds.clamp(s.goal_kmh)
        state: ZoneState | None = None
        if zone_bpm is not None and bpm is not None:
            low, high = zone_bpm
            state = (
                ZoneState.BELOW if bpm < low else ZoneState.ABOVE if bpm > high else ZoneState.IN
            )
        return HrDecision(
            signal=signal,
            bpm=bpm,
            limit_kmh=s.limit_kmh,
            goal_kmh=s.goal_kmh if zone_bpm is not None else None,
            holding=holding,
            above_ceiling=above,
            stop=stop,
            ceiling_bpm=self.hr_max_bpm,
            zone=zone_bpm,
            zone_state=state,
            trend_bpm_per_min=s.slope_bpm_per_s * 60.0 if s.last_at_s is not None else None,
        )
