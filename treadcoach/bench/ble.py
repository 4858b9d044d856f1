"""``treadcoach bench ble-latency``: stop input -> ``08 01`` at the simulated treadmill over a
real ATT/GATT stack (bumble) at 7.5 / 30 / 50 ms connection intervals, and connect -> first
telemetry, on the real clock (the measuring lives in :mod:`treadcoach.link.bumble.bench`)."""

from __future__ import annotations

from typing import Any

from treadcoach.bench import BenchOptions

__all__ = ["bench"]


def bench(options: BenchOptions) -> dict[str, Any]:
    from treadcoach.link.bumble.bench import run_bench

    rows = run_bench(n=options.n or 100)
    return {"intervals": rows}
