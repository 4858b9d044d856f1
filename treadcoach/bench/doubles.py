"""The one session stand-in the benchmarks share (the tests have theirs in ``tests/doubles.py``).

``SteadySession`` walks backward for ever, replacing its state at 10 Hz with a telemetry event every
0.5 s: the load a real controller puts on a renderer (``tui-idle``) or on the MQTT bridge
(``mqtt-stop``), without a belt. ``on_stop`` is called synchronously inside ``request_stop``, so a
benchmark can take the time at the exact moment the stop path is entered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from treadcoach.coach.events import Event, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SegmentView, SessionState
from treadcoach.safety.reasons import StopReason

__all__ = ["STATE_HZ", "TELEMETRY_EVERY_S", "SteadySession"]

STATE_HZ = 10.0
TELEMETRY_EVERY_S = 0.5
_SEGMENT_S = 3600.0
_KMH = 3.2


class SteadySession:
    """Implements ``SessionHandle``; ``run()`` ends at the first ``request_stop``."""

    def __init__(self, *, on_stop: Callable[[StopReason], None] | None = None) -> None:
        segment = SegmentView(
            2, SegmentKind.BACKWARD_WALK, _KMH, duration_s=_SEGMENT_S, distance_m=None
        )
        self._state = SessionState(
            phase=Phase.RUNNING,
            link=LinkState.CONNECTED,
            plan_name="bench",
            segment=segment,
            next_segment=SegmentView(3, SegmentKind.TURNAROUND, 1.5, 5, None),
            segment_count=7,
            remaining=_SEGMENT_S,
            target_kmh=_KMH,
            speed_kmh=_KMH,
            heart_rate_bpm=110,
        )
        self._listeners: list[Callable[[Event], None]] = []
        self._stopped = asyncio.Event()
        self._on_stop = on_stop

    @property
    def state(self) -> SessionState:
        return self._state

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        if self._on_stop is not None:
            self._on_stop(reason)
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
            elapsed = now - start
            self._state = replace(
                self._state,
                elapsed_s=elapsed,
                remaining=max(0.0, _SEGMENT_S - elapsed),
                distance_m=elapsed * _KMH / 3.6,
                progress=elapsed / _SEGMENT_S,
            )
            if now - last_telemetry >= TELEMETRY_EVERY_S:
                last_telemetry = now
                event = Telemetry(
                    t=elapsed,
                    speed_kmh=_KMH,
                    distance_m=self._state.distance_m,
                    segment_remaining=self._state.remaining,
                )
                for listener in list(self._listeners):
                    listener(event)
        return Summary(t=self._state.elapsed_s, completed=False, stop_reason=StopReason.KEY)
