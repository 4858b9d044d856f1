"""Percentiles and the latency summary every benchmark prints (``n``, ``p50_ms``, ``p99_ms``)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["latency_summary", "percentile"]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) with linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_summary(samples_s: list[float]) -> dict[str, Any]:
    """Samples in seconds -> ``{"n", "p50_ms", "p99_ms", "max_ms", "mean_ms"}`` (None when empty)."""
    ms = [s * 1000 for s in samples_s]
    if not ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3),
        "mean_ms": round(sum(ms) / len(ms), 3),
    }
