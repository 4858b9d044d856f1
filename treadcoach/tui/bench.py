"""``treadcoach bench tui-idle``: CPU and memory of a session screen nobody touches.

A headless TreadcoachApp shows a running session whose state is replaced at 10 Hz (as the
controller's tick does) with a telemetry event every 0.5 s, and the process's CPU time and RSS are
read over ``n`` seconds (default 10) at 80x24 and again at 160x48. Targets (DESIGN.md): < 3 % of one
core, < 80 MB RSS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from treadcoach.coach.events import Event, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SegmentView, SessionState
from treadcoach.safety.reasons import StopReason

__all__ = ["bench"]

STATE_HZ = 10.0
TELEMETRY_EVERY_S = 0.5
WARMUP_S = 1.0


class _SteadySession:
    """A session walking backward for ever: the load a real controller puts on the screen."""

    def __init__(self) -> None:
        segment = SegmentView(2, SegmentKind.BACKWARD_WALK, 3.2, duration_s=3600, distance_m=None)
        self._state = SessionState(
            phase=Phase.RUNNING,
            link=LinkState.CONNECTED,
            plan_name="bench",
            segment=segment,
            next_segment=SegmentView(3, SegmentKind.TURNAROUND, 1.5, 5, None),
            segment_count=7,
            remaining=3600.0,
            target_kmh=3.2,
            speed_kmh=3.2,
            heart_rate_bpm=110,
        )
        self._listeners: list[Callable[[Event], None]] = []
        self._stopped = asyncio.Event()

    @property
    def state(self) -> SessionState:
        return self._state

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        self._stopped.set()

    def request_pause(self, source: StopReason) -> None:
        pass

    def request_resume(self, source: StopReason) -> None:
        pass

    def request_speed(self, kmh: float, source: StopReason) -> None:
        pass

    def request_control_back(self) -> None:
        pass

    async def run(self) -> Summary:
        loop = asyncio.get_running_loop()
        start = loop.time()
        last_telemetry = start
        while not self._stopped.is_set():
            await asyncio.sleep(1 / STATE_HZ)
            now = loop.time()
            s = self._state
            self._state = replace(
                s,
                elapsed_s=now - start,
                remaining=max(0.0, 3600.0 - (now - start)),
                distance_m=(now - start) * 3.2 / 3.6,
                progress=(now - start) / 3600.0,
            )
            if now - last_telemetry >= TELEMETRY_EVERY_S:
                last_telemetry = now
                event = Telemetry(
                    t=now - start,
                    speed_kmh=3.2,
                    distance_m=self._state.distance_m,
                    segment_remaining=self._state.remaining,
                )
                for listener in list(self._listeners):
                    listener(event)
        return Summary(t=self._state.elapsed_s, completed=False, stop_reason=StopReason.KEY)


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

    app = TreadcoachApp(session=_SteadySession(), settings=TuiSettings(audio="none"))
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
