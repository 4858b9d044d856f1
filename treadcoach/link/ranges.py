"""What a treadmill will actually be asked for: a value clamped into a range and snapped to a step.

Pure arithmetic, shared by speed and incline. DESIGN invariant 4: values are clamped, never
rejected mid-session; invariant 1: the result never exceeds the range's maximum, even when the
maximum is not a whole number of steps (then we round down, not up).
"""

from __future__ import annotations

import math

__all__ = ["intersect", "snap"]

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
        return round(clamped, 2)
    steps = math.floor((clamped - lo) / step + 0.5 + _EPS)
    snapped = lo + steps * step
    if snapped > hi + _EPS:
        snapped = lo + math.floor((hi - lo) / step + _EPS) * step
    return round(min(max(snapped, lo), hi), 2)


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
