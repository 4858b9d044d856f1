"""Plan -> steps: the pure schedule (no asyncio, no I/O).

``expand(plan, caps)`` flattens repeats into km/h :class:`Step` s and enforces two safety
invariants (DESIGN.md) before anything reaches a belt:

1. Every step's target is at most the cap that applies: ``min(max_kmh, device_max_kmh)`` and, for
   backward kinds and turnarounds, also ``backward_max_kmh`` -- whatever the plan says. Plan speeds
   above a cap are clamped, never rejected. A target is also at least the belt's minimum speed; if
   that minimum is above a cap, :class:`~treadcoach.errors.LimitsError` is raised rather than
   exceed the cap.
3. A ``turnaround`` step stands before every backward stretch (also at the very start of a plan)
   and after it, before any forward step. None is inserted between two backward segments (no
   direction change) or next to a turnaround the plan already has.

A turnaround *slows* the belt rather than pausing it: the walker keeps a moving footing while
turning, and many machines cannot restart reliably or run below ~1 km/h. Its target is
``caps.turnaround_kmh`` (default 1.0 km/h), raised to the belt minimum, never above the backward
cap. How the controller runs it: wait until the belt has slowed to ``target_kmh``, then count down
``countdown_from_s`` (>= 5) seconds over at least ``duration_s`` while announcing ``next_kind``;
then ramp to the next step's target.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan, Segment, describe_path
from treadcoach.errors import LimitsError
from treadcoach.safety.watchdog import WatchLimits

__all__ = [
    "DEFAULT_BACKWARD_CUE",
    "DEFAULT_BACKWARD_MAX_KMH",
    "DEFAULT_CAPS",
    "DEFAULT_MAX_KMH",
    "DEFAULT_MOTION",
    "MIN_TURNAROUND_S",
    "RAMP_DOWN_KMH_PER_S",
    "RAMP_UP_KMH_PER_S",
    "TURNAROUND_COUNTDOWN_S",
    "BeltMotion",
    "Caps",
    "PlanTotals",
    "Step",
    "backward_distance_m",
    "backward_time_s",
    "expand",
    "expected_duration_s",
    "expected_step_s",
    "kind_phrase",
    "planned_duration_s",
    "step_at",
    "step_distance_m",
    "step_duration_s",
    "totals",
    "totals_of",
]

DEFAULT_BACKWARD_MAX_KMH = 4.83  # 3 mph: "set speed to 2-3 mph" (seed)
# The default user limit when none is configured (used by `treadcoach plans show`).
DEFAULT_MAX_KMH = 16.0
TURNAROUND_COUNTDOWN_S = 5  # invariant 3: a countdown of at least 5 s before a direction change
MIN_TURNAROUND_S = 5.0

# Form cues from the seed's safety tips, shown on backward steps that bring no cue of their own.
DEFAULT_BACKWARD_CUE = (
    "Shorten your stride. Keep your torso tall, glance over your shoulder every few steps. "
    "Stop immediately if dizzy or strained."
)

_PHRASES = {
    SegmentKind.WARMUP: "warm-up",
    SegmentKind.FORWARD_WALK: "forward walk",
    SegmentKind.FORWARD_RUN: "forward run",
    SegmentKind.BACKWARD_WALK: "backward walk",
    SegmentKind.RETRO_RUN: "retro run",
    SegmentKind.RECOVERY: "recovery walk",
    SegmentKind.TURNAROUND: "turnaround",
    SegmentKind.COOLDOWN: "cool-down",
}


def kind_phrase(kind: SegmentKind) -> str:
    """A few words for a kind, for cues: "backward walk", "cool-down"."""
    return _PHRASES[kind]


def _check_positive(name: str, value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise LimitsError(name, f"must be a positive number of km/h or s, not {value!r}")


@dataclass(frozen=True, slots=True)
class Caps:
    """Speed limits for one session. All km/h. ``None`` device values: not known (not limiting)."""

    max_kmh: float = DEFAULT_MAX_KMH  # the user's own limit
    backward_max_kmh: float = DEFAULT_BACKWARD_MAX_KMH
    device_max_kmh: float | None = None  # from Supported Speed Range (0x2AD4) / devices.toml
    device_min_kmh: float | None = None
    turnaround_kmh: float = 1.0
    turnaround_s: float = 8.0  # how long the countdown at turnaround speed lasts, >= 5 s

    def __post_init__(self) -> None:
        for name in ("max_kmh", "backward_max_kmh", "turnaround_kmh", "turnaround_s"):
            _check_positive(name, getattr(self, name))
        if self.device_max_kmh is not None:
            _check_positive("device_max_kmh", self.device_max_kmh)
        if self.device_min_kmh is not None:
            if not math.isfinite(self.device_min_kmh) or self.device_min_kmh < 0:
                raise LimitsError(
                    "device_min_kmh", f"must be >= 0 km/h, not {self.device_min_kmh!r}"
                )
            if self.device_max_kmh is not None and self.device_min_kmh > self.device_max_kmh:
                raise LimitsError(
                    "device_min_kmh",
                    f"the belt minimum {self.device_min_kmh:g} km/h is above its maximum "
                    f"{self.device_max_kmh:g} km/h",
                )
        if self.turnaround_s < MIN_TURNAROUND_S:
            raise LimitsError(
                "turnaround_s",
                f"a turnaround must last at least {MIN_TURNAROUND_S:g} s, not {self.turnaround_s:g} s",
            )

    def cap_for(self, kind: SegmentKind) -> float:
        """The highest target allowed for a step of this kind (invariant 1)."""
        cap = self.max_kmh
        if self.device_max_kmh is not None:
            cap = min(cap, self.device_max_kmh)
        if kind.is_backward or kind is SegmentKind.TURNAROUND:
            cap = min(cap, self.backward_max_kmh)
        return cap

    def describe(self) -> str:
        parts = [f"max {self.max_kmh:g} km/h", f"backward max {self.backward_max_kmh:g} km/h"]
        if self.device_min_kmh is not None or self.device_max_kmh is not None:
            low = "?" if self.device_min_kmh is None else f"{self.device_min_kmh:g}"
            high = "?" if self.device_max_kmh is None else f"{self.device_max_kmh:g}"
            parts.append(f"belt {low}-{high} km/h")
        parts.append(f"turnaround {self.turnaround_kmh:g} km/h for {self.turnaround_s:g} s")
        return ", ".join(parts)


DEFAULT_CAPS = Caps()


@dataclass(frozen=True, slots=True)
class Step:
    """One stretch of the session as the controller runs it: km/h, capped, turnarounds explicit."""

    index: int
    kind: SegmentKind
    target_kmh: float
    duration_s: float | None
    distance_m: float | None
    incline_pct: float | None = None
    label: str = ""
    cue: str = ""
    requested_kmh: float = 0.0  # what the plan asked for (km/h) before the caps
    cap_kmh: float = math.inf  # the cap that applied to this step
    source_path: tuple[int, ...] | None = None  # entry indices in the plan; None: inserted
    source: str = ""  # the same, for people: "repeat 2 > segment 1 (retro_run)"
    rounds: tuple[tuple[int, int], ...] = ()  # (round, times) for each enclosing repeat
    # turnaround steps only: count down this many seconds before ``next_kind`` begins
    countdown_from_s: int | None = None
    next_kind: SegmentKind | None = None
    previous_kind: SegmentKind | None = None

    def __post_init__(self) -> None:
        if (self.duration_s is None) == (self.distance_m is None):
            raise ValueError("a step is timed or measured: exactly one of duration_s, distance_m")
        if not (self.target_kmh > 0 and math.isfinite(self.target_kmh)):
            raise ValueError(f"a step's target must be a positive speed, not {self.target_kmh!r}")

    @property
    def is_backward(self) -> bool:
        return self.kind.is_backward

    @property
    def is_turnaround(self) -> bool:
        return self.kind is SegmentKind.TURNAROUND

    @property
    def clamped(self) -> bool:
        """The plan asked for more than the cap (or less than the belt minimum).

        Rounding down to the FTMS resolution (3 mph = 4.828 km/h runs at 4.82) is not clamping.
        """
        if self.is_turnaround:
            return False
        return self.requested_kmh > self.cap_kmh + 1e-9 or self.target_kmh > self.requested_kmh


def _quantize_down(kmh: float) -> float:
    """To the FTMS resolution (0.01 km/h), never upward: rounding must not cross a cap."""
    q = round(kmh, 2)
    if q > kmh:
        q = round(q - 0.01, 2)
    return q


def _binding_setting(kind: SegmentKind, cap: float, caps: Caps) -> str:
    if (kind.is_backward or kind is SegmentKind.TURNAROUND) and cap == caps.backward_max_kmh:
        return "backward_max_kmh"
    if caps.device_max_kmh is not None and cap == caps.device_max_kmh:
        return "device_max_kmh"
    return "max_kmh"


def _target(kind: SegmentKind, wanted_kmh: float, caps: Caps, where: str) -> tuple[float, float]:
    cap = caps.cap_for(kind)
    low = caps.device_min_kmh
    if low is not None and low > cap:
        setting = _binding_setting(kind, cap, caps)
        raise LimitsError(
            setting,
            f"{where}: the treadmill cannot run slower than {low:g} km/h, which is above the "
            f"{cap:g} km/h cap for {kind_phrase(kind)}; raise the limit or use another treadmill",
        )
    target = _quantize_down(min(wanted_kmh, cap))
    if low is not None and target < low:
        target = low  # low <= cap, checked above
    if target <= 0:
        # a cap under 0.01 km/h leaves no speed to run at: a configuration problem
        raise LimitsError(
            _binding_setting(kind, cap, caps),
            f"{where}: no speed above 0 km/h is allowed by the caps",
        )
    return target, cap


def expand(plan: Plan, caps: Caps = DEFAULT_CAPS) -> list[Step]:
    """Flatten ``plan`` into capped km/h steps with a turnaround around every backward stretch."""
    steps: list[Step] = []

    def add_turnaround(
        wanted_kmh: float,
        duration_s: float,
        cue: str,
        label: str,
        path: tuple[int, ...] | None,
        where: str,
        rounds: tuple[tuple[int, int], ...] = (),
    ) -> None:
        target, cap = _target(SegmentKind.TURNAROUND, wanted_kmh, caps, where)
        steps.append(
            Step(
                index=len(steps),
                kind=SegmentKind.TURNAROUND,
                target_kmh=target,
                duration_s=max(duration_s, caps.turnaround_s, float(TURNAROUND_COUNTDOWN_S)),
                distance_m=None,
                label=label,
                cue=cue,
                requested_kmh=wanted_kmh,
                cap_kmh=cap,
                source_path=path,
                source=where if path is not None else "",
                rounds=rounds,
                countdown_from_s=TURNAROUND_COUNTDOWN_S,
            )
        )

    for path, segment, rounds in plan.flat():
        where = describe_path(plan, path)
        kmh = segment.speed_kmh(plan.units)
        previous = steps[-1] if steps else None
        if segment.kind is SegmentKind.TURNAROUND:
            # the plan's own turnaround: it may be slower than ours, never faster or shorter
            assert segment.duration_s is not None  # the model requires a timed turnaround
            add_turnaround(
                min(kmh, caps.turnaround_kmh),
                segment.duration_s,
                segment.cue,
                segment.label or "turnaround",
                path,
                where,
                rounds,
            )
            continue
        coming_backward = segment.kind.is_backward
        if previous is None:
            needs_turnaround = coming_backward  # stepping on facing away from the console
        elif previous.is_turnaround:
            needs_turnaround = False
        else:
            needs_turnaround = previous.is_backward != coming_backward
        if needs_turnaround:
            add_turnaround(caps.turnaround_kmh, caps.turnaround_s, "", "turnaround", None, where)
        target, cap = _target(segment.kind, kmh, caps, where)
        cue = segment.cue or (DEFAULT_BACKWARD_CUE if coming_backward else "")
        steps.append(
            Step(
                index=len(steps),
                kind=segment.kind,
                target_kmh=target,
                duration_s=segment.duration_s,
                distance_m=segment.distance_m,
                incline_pct=segment.incline_pct,
                label=_label(segment, rounds),
                cue=cue,
                requested_kmh=kmh,
                cap_kmh=cap,
                source_path=path,
                source=where,
                rounds=rounds,
            )
        )
    return _link_turnarounds(steps)


def _label(segment: Segment, rounds: tuple[tuple[int, int], ...]) -> str:
    base = segment.label or kind_phrase(segment.kind)
    if rounds:
        n, times = rounds[-1]
        return f"{base} {n}/{times}"
    return base


def _link_turnarounds(steps: list[Step]) -> list[Step]:
    """Tell each turnaround what it turns into, and give inserted ones their cue."""
    out: list[Step] = []
    for i, step in enumerate(steps):
        if step.is_turnaround:
            nxt = steps[i + 1].kind if i + 1 < len(steps) else None
            prev = steps[i - 1].kind if i > 0 else None
            cue = step.cue or _turnaround_cue(nxt)
            step = replace(step, next_kind=nxt, previous_kind=prev, cue=cue)
        out.append(step)
    return out


def _turnaround_cue(next_kind: SegmentKind | None) -> str:
    if next_kind is None:
        return "Turn around and slow down."
    if next_kind.is_backward:
        return (
            f"Turn around for the {kind_phrase(next_kind)}: face away from the console, "
            "hands on the side rails."
        )
    return f"Turn around for the {kind_phrase(next_kind)}: face the console, hands on the rails."


# --- derived numbers --------------------------------------------------------------------------


def step_duration_s(step: Step) -> float:
    """Planned seconds: a distance step takes distance / target speed."""
    if step.duration_s is not None:
        return step.duration_s
    assert step.distance_m is not None
    return step.distance_m / (step.target_kmh / 3.6)


def step_distance_m(step: Step) -> float:
    if step.distance_m is not None:
        return step.distance_m
    assert step.duration_s is not None
    return step.target_kmh / 3.6 * step.duration_s


def planned_duration_s(steps: Iterable[Step]) -> float:
    return sum(step_duration_s(s) for s in steps)


def backward_time_s(steps: Iterable[Step]) -> float:
    """Planned seconds on backward kinds (turnarounds excluded)."""
    return sum(step_duration_s(s) for s in steps if s.is_backward)


def backward_distance_m(steps: Iterable[Step]) -> float:
    return sum(step_distance_m(s) for s in steps if s.is_backward)


def step_at(steps: Sequence[Step], elapsed_s: float) -> int | None:
    """Index of the step running ``elapsed_s`` into the plan at planned speeds; None past the end."""
    t = 0.0
    for step in steps:
        t += step_duration_s(step)
        if elapsed_s < t:
            return step.index
    return None


# --- how long a session takes (planned steps plus the belt's own slowing and speeding up) -------

# The controller's governor: the commanded speed moves toward a new target at these rates (DESIGN
# invariant 4). The one definition; coach/controller.py's SessionConfig should default to these.
RAMP_UP_KMH_PER_S = 1.0
RAMP_DOWN_KMH_PER_S = 2.0


@dataclass(frozen=True, slots=True)
class BeltMotion:
    """How a belt follows its targets, for :func:`expected_step_s` (an estimate, not a promise).

    ``accel``/``decel``: the belt's own rates (devices.toml ``accel_kmh_per_s``; the simulator's
    physics). The controller judges turnaround and distance steps on telemetry, so those end on
    a ``telemetry_interval_s`` tick. A turnaround's countdown starts once the belt is within
    ``settle_tolerance_kmh`` of the turnaround speed (the watchdog's follow tolerance).
    """

    accel_kmh_per_s: float = 0.5  # devices.toml's default accel_kmh_per_s
    decel_kmh_per_s: float = 0.5
    telemetry_interval_s: float = 1.0  # FTMS treadmills (and the simulator) notify at 1 Hz
    settle_tolerance_kmh: float = WatchLimits().follow_tolerance_kmh

    def __post_init__(self) -> None:
        for name in ("accel_kmh_per_s", "decel_kmh_per_s", "telemetry_interval_s"):
            _check_positive(name, getattr(self, name))

    @property
    def up_kmh_per_s(self) -> float:
        return min(RAMP_UP_KMH_PER_S, self.accel_kmh_per_s)

    @property
    def down_kmh_per_s(self) -> float:
        return min(RAMP_DOWN_KMH_PER_S, self.decel_kmh_per_s)

    def _on_tick(self, seconds: float) -> float:
        tick = self.telemetry_interval_s
        return math.ceil(seconds / tick - 1e-9) * tick if seconds > 0 else 0.0

    def slowing_s(self, from_kmh: float, to_kmh: float) -> float:
        """Until the belt reads within the tolerance of ``to_kmh`` (on a telemetry tick)."""
        gap = from_kmh - (to_kmh + self.settle_tolerance_kmh)
        return self._on_tick(gap / self.down_kmh_per_s) if gap > 0 else 0.0

    def distance_s(self, distance_m: float, from_kmh: float, to_kmh: float) -> float:
        """A measured step entered at ``from_kmh``: ramp to ``to_kmh``, then cover the rest."""
        rate = self.up_kmh_per_s if to_kmh > from_kmh else self.down_kmh_per_s
        ramp_s = abs(to_kmh - from_kmh) / rate
        ramp_m = (from_kmh + to_kmh) / 2 / 3.6 * ramp_s
        if ramp_m >= distance_m:
            # done while still ramping: solve d = v0 t + a t^2 / 2 (m/s units)
            v0, a = from_kmh / 3.6, (rate if to_kmh > from_kmh else -rate) / 3.6
            if abs(a) < 1e-12:
                return self._on_tick(distance_m / v0)
            disc = max(v0 * v0 + 2 * a * distance_m, 0.0)
            return self._on_tick((math.sqrt(disc) - v0) / a)
        return self._on_tick(ramp_s + (distance_m - ramp_m) / (to_kmh / 3.6))

    def stopping_s(self, from_kmh: float) -> float:
        """From Stop to standstill: the summary counts it."""
        return self._on_tick(from_kmh / self.decel_kmh_per_s)


DEFAULT_MOTION = BeltMotion()


def expected_step_s(steps: Sequence[Step], motion: BeltMotion = DEFAULT_MOTION) -> list[float]:
    """Seconds each step takes on a belt that moves as ``motion`` says.

    Timed steps take their time (their clock starts when they begin, ramp included). A turnaround
    first waits for the belt to slow to its speed, then counts down ``duration_s`` (>= 5 s). A
    distance step covers its metres while the belt ramps from the previous speed.
    """
    out: list[float] = []
    belt_kmh = 0.0
    for step in steps:
        if step.is_turnaround:
            countdown = max(
                float(step.countdown_from_s or TURNAROUND_COUNTDOWN_S), step_duration_s(step)
            )
            out.append(motion.slowing_s(belt_kmh, step.target_kmh) + countdown)
        elif step.distance_m is not None:
            out.append(motion.distance_s(step.distance_m, belt_kmh, step.target_kmh))
        else:
            out.append(step_duration_s(step))
        belt_kmh = step.target_kmh
    return out


def expected_duration_s(steps: Sequence[Step], motion: BeltMotion = DEFAULT_MOTION) -> float:
    """What the whole session takes: every step, then the run-down to standstill at the end."""
    if not steps:
        return 0.0
    return sum(expected_step_s(steps, motion)) + motion.stopping_s(steps[-1].target_kmh)


@dataclass(frozen=True, slots=True)
class PlanTotals:
    steps: tuple[Step, ...] = field(repr=False)
    duration_s: float  # planned: the steps' own times (distance at target speed)
    backward_s: float
    backward_m: float
    turnarounds: int
    # what the session takes on the belt: turnarounds wait for the belt to slow, ramps, the stop
    expected_s: float = 0.0
    step_expected_s: tuple[float, ...] = field(default=(), repr=False)


def totals(
    plan: Plan, caps: Caps = DEFAULT_CAPS, motion: BeltMotion = DEFAULT_MOTION
) -> PlanTotals:
    """Expand and sum: what `treadcoach plans` lists and the summary's planned_backward_s."""
    return totals_of(expand(plan, caps), motion)


def totals_of(steps: Sequence[Step], motion: BeltMotion = DEFAULT_MOTION) -> PlanTotals:
    """:func:`totals` for steps already expanded (and perhaps put on a belt's speed grid)."""
    return PlanTotals(
        steps=tuple(steps),
        duration_s=planned_duration_s(steps),
        backward_s=backward_time_s(steps),
        backward_m=backward_distance_m(steps),
        turnarounds=sum(1 for s in steps if s.is_turnaround),
        expected_s=expected_duration_s(steps, motion),
        step_expected_s=tuple(expected_step_s(steps, motion)),
    )
