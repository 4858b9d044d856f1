"""What a treadmill will actually be asked for: a value clamped into a range and snapped to a step.

Pure arithmetic, shared by speed and incline. DESIGN invariant 4: values are clamped, never
rejected mid-session; invariant 1: the result never exceeds the range's maximum, even when the
maximum is not a whole number of steps (then we round down, not up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

from treadcoach.errors import LimitsError
from treadcoach.ftms import InclinationRange, MachineFeatures, SpeedRange
from treadcoach.ftms.enums import TargetSettingFeature
from treadcoach.link.quirks import SpeedQuirks, commanded_kmh, wire_target_speed

__all__ = [
    "DEFAULT_INCLINE_RANGE",
    "DEFAULT_SPEED_RANGE",
    "EffectiveRanges",
    "SpeedTarget",
    "effective_ranges",
    "intersect",
    "snap",
    "speed_target",
]

# FTMS speeds and inclines travel in hundredths / tenths; 1e-9 absorbs float noise such as
# 4.9 / 0.1 = 48.99999.
_EPS = 1e-9


def snap(value: float, lo: float, hi: float, step: float) -> float:
    """``value`` clamped to ``[lo, hi]`` and rounded to the machine's grid: ``lo + k * step``.

    The grid starts at the minimum, as the machine counts its steps (a pad whose minimum is
    0.96 km/h and step 0.32 km/h runs 0.6, 0.8, 1.0 ... mph). A value rounded past the maximum is
    taken one step back inside. The result is rounded to 0.01, the finest FTMS resolution.
    """
    if not math.isfinite(value):
        raise ValueError(f"a target must be a finite number, not {value!r}")
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    clamped = min(max(value, lo), hi)
    if step <= 0:
        return _within(round(clamped, 2), hi)
    steps = math.floor((clamped - lo) / step + 0.5 + _EPS)
    snapped = lo + steps * step
    if snapped > hi + _EPS:
        snapped = lo + math.floor((hi - lo) / step + _EPS) * step
    return _within(round(min(max(snapped, lo), hi), 2), hi)


def _within(value: float, hi: float) -> float:
    """``value`` (already at 0.01), taken down to the 0.01 below ``hi`` if rounding put it above:
    a cap such as 4.828032 km/h (3 mph) must not be sent as 4.83."""
    if value > hi + _EPS:
        return math.floor(hi * 100 + 1e-6) / 100
    return value


def intersect(
    device: tuple[float, float] | None, configured: tuple[float | None, float | None]
) -> tuple[float, float] | None:
    """The overlap of the device's range and the configured limits (either may be missing).

    Returns None when both are missing, or when they do not overlap at all (then the caller
    falls back to the device's own range and logs why).
    """
    lo_cfg, hi_cfg = configured
    if device is None:
        if lo_cfg is None or hi_cfg is None:
            return None
        return (lo_cfg, hi_cfg)
    lo = device[0] if lo_cfg is None else max(device[0], lo_cfg)
    hi = device[1] if hi_cfg is None else min(device[1], hi_cfg)
    if lo > hi:
        return None
    return (lo, hi)


#: used when the machine has no Supported Speed Range (0x2AD4) and devices.toml sets no limits:
#: a conservative span every home treadmill and walking pad can run.
DEFAULT_SPEED_RANGE: Final = SpeedRange(min_kmh=1.0, max_kmh=12.0, increment_kmh=0.1)
#: used without 0x2AD5 and without configured limits: a flat belt, unless the machine says it
#: accepts inclination targets (then 0-10 % by 0.5).
DEFAULT_INCLINE_RANGE: Final = InclinationRange(min_pct=0.0, max_pct=0.0, increment_pct=0.5)
_INCLINE_IF_SUPPORTED: Final = InclinationRange(min_pct=0.0, max_pct=10.0, increment_pct=0.5)


class RangeLimits(Protocol):
    """The devices.toml limits ``effective_ranges`` reads (``LinkProfile`` has them)."""

    @property
    def min_kmh(self) -> float | None: ...
    @property
    def max_kmh(self) -> float | None: ...
    @property
    def speed_increment_kmh(self) -> float | None: ...
    @property
    def incline_min_pct(self) -> float | None: ...
    @property
    def incline_max_pct(self) -> float | None: ...
    @property
    def incline_step_pct(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class EffectiveRanges:
    speed: SpeedRange
    incline: InclinationRange
    #: why a configured limit was set aside (for the log), empty when none was
    warnings: tuple[str, ...] = ()


def effective_ranges(
    limits: RangeLimits,
    device_speed: SpeedRange | None,
    device_incline: InclinationRange | None,
    features: MachineFeatures | None,
) -> EffectiveRanges:
    """The machine's ranges (0x2AD4 / 0x2AD5) within devices.toml's limits, with fallbacks."""
    p, dev = limits, device_speed
    warnings: list[str] = []
    span = intersect(
        (dev.min_kmh, dev.max_kmh) if dev is not None else None, (p.min_kmh, p.max_kmh)
    )
    if span is None and dev is not None:
        warnings.append(
            f"devices.toml speed limits {p.min_kmh}-{p.max_kmh} km/h do not overlap the "
            f"machine's {dev.min_kmh}-{dev.max_kmh}; using the machine's"
        )
        span = (dev.min_kmh, dev.max_kmh)
    step = p.speed_increment_kmh or (dev.increment_kmh if dev is not None else 0.0)
    if span is None:
        lo = p.min_kmh if p.min_kmh is not None else DEFAULT_SPEED_RANGE.min_kmh
        hi = p.max_kmh if p.max_kmh is not None else DEFAULT_SPEED_RANGE.max_kmh
        span = (lo, max(lo, hi))
    speed = SpeedRange(span[0], span[1], step or DEFAULT_SPEED_RANGE.increment_kmh)

    inc = device_incline
    fallback = DEFAULT_INCLINE_RANGE
    if features is not None and features.target_setting & TargetSettingFeature.INCLINATION_TARGET:
        fallback = _INCLINE_IF_SUPPORTED
    ispan = intersect(
        (inc.min_pct, inc.max_pct) if inc is not None else None,
        (p.incline_min_pct, p.incline_max_pct),
    )
    if ispan is None and inc is not None:
        ispan = (inc.min_pct, inc.max_pct)
    if ispan is None:
        lo = p.incline_min_pct if p.incline_min_pct is not None else fallback.min_pct
        hi = p.incline_max_pct if p.incline_max_pct is not None else fallback.max_pct
        ispan = (lo, max(lo, hi))
    istep = p.incline_step_pct or (inc.increment_pct if inc is not None else 0.0)
    incline = InclinationRange(ispan[0], ispan[1], istep or fallback.increment_pct)
    return EffectiveRanges(speed, incline, tuple(warnings))


@dataclass(frozen=True, slots=True)
class SpeedTarget:
    """A Set Target Speed as it goes on the wire, and the true km/h it asks of the belt."""

    wire: float
    commanded_kmh: float


def speed_target(
    kmh: float,
    speed_range: SpeedRange,
    quirks: SpeedQuirks,
    *,
    ceiling_kmh: float | None = None,
    machine: str = "the treadmill",
) -> SpeedTarget:
    """``kmh`` clamped to the range and its grid, never above ``ceiling_kmh`` (the session's
    active cap, DESIGN invariant 1), also after mph conversion (rounded down). A cap below the
    machine's minimum raises LimitsError (naming ``machine``): no speed would honour it."""
    hi = speed_range.max_kmh
    if ceiling_kmh is not None:
        if ceiling_kmh < speed_range.min_kmh:
            raise LimitsError(
                "ceiling_kmh",
                f"the cap of {ceiling_kmh:g} km/h is below {machine}'s minimum speed of "
                f"{speed_range.min_kmh:g} km/h",
            )
        hi = min(hi, ceiling_kmh)
    value = snap(kmh, speed_range.min_kmh, hi, speed_range.increment_kmh)
    wire = wire_target_speed(value, quirks, lo=speed_range.min_kmh, hi=hi)
    return SpeedTarget(wire, commanded_kmh(wire, quirks))
