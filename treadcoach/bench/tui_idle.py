"""``treadcoach bench tui-idle``: CPU and memory of a session screen nobody touches.

A headless TreadcoachApp shows a running session whose state is replaced at 10 Hz (as the
controller's tick does) with a telemetry event every 0.5 s, and the process's CPU time and RSS are
read over ``n`` seconds (default 10) at 80x24 and again at 160x48. Targets (DESIGN.md): < 3 % of one
core, < 80 MB RSS.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from treadcoach.bench.doubles import STATE_HZ, SteadySession

__all__ = ["bench"]

WARMUP_S = 1.0


def _rss_mb(field: str = "VmRSS") -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def _measure(seconds: float, size: tuple[int, int]) -> dict[str, Any]:
    from treadcoach.tui.app import TreadcoachApp
    from treadcoach.tui.settings import TuiSettings

    app = TreadcoachApp(session=SteadySession(), settings=TuiSettings(audio="none"))
    running = asyncio.get_running_loop().create_task(app.run_async(headless=True, size=size))
    try:
        await asyncio.sleep(WARMUP_S)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        rss = _rss_mb()
    finally:
        app.exit()
        await running
    return {
        "size": f"{size[0]}x{size[1]}",
        "cpu_pct": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 2),
        "rss_mb": None if rss is None else round(rss, 1),
    }


def bench(options: Any) -> dict[str, Any]:
    """Idle session screen: CPU % of one core and RSS, at 80x24 and 160x48."""
    seconds = float(getattr(options, "n", None) or 10)

    async def both() -> list[dict[str, Any]]:
        return [await _measure(seconds, (80, 24)), await _measure(seconds, (160, 48))]

    small, large = asyncio.run(both())
    peak = _rss_mb("VmHWM")
    return {
        "seconds": seconds,
        "state_hz": STATE_HZ,
        "cpu_pct": small["cpu_pct"],
        "rss_mb": small["rss_mb"],
        "cpu_pct_160x48": large["cpu_pct"],
        "rss_mb_160x48": large["rss_mb"],
        "peak_rss_mb": None if peak is None else round(peak, 1),
        "targets": {"cpu_pct": 3.0, "rss_mb": 80.0},
    }
