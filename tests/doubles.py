"""The one stand-in for a session that the tests share: ``FakeSessionHandle``.

It implements ``SessionHandle`` (``treadcoach/coach/handle.py``), so it also serves wherever only a
``StopTarget`` or a ``RemoteControl`` is needed (inputs, the MQTT bridge). It stands in for the
session controller so a renderer or an input can be tested on its own; the end-to-end tests with
the real controller and the simulator check the belt itself.

- The test moves it: ``set_state`` (and tell listeners), ``set_state_quietly`` (only a tick can
  notice), ``emit(event)``, ``finish(summary)``.
- It records every request in ``calls``, in order, as tuples: ``("stop", reason, detail)``,
  ``("pause", source)``, ``("resume", source)``, ``("speed", kmh, source)``, ``("control_back",)``;
  ``await wait_calls(n)`` waits until there are ``n``.
- It answers requests as a controller would, in outline: a stop moves it to STOPPED with a
  ``Stop`` event and ``run()`` returns a summary ``stop_takes_s`` later; pause and resume switch
  between PAUSED and RUNNING; taking control back reconnects and runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from treadcoach.coach.events import Event, Stop, Summary, Telemetry
from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.safety.reasons import StopReason

__all__ = ["FakeSessionHandle"]

_OVER = (Phase.STOPPED, Phase.FINISHED)


class FakeSessionHandle:
    def __init__(self, state: SessionState | None = None, *, stop_takes_s: float = 0.0) -> None:
        self._state = state or SessionState()
        self.listeners: list[Callable[[Event], None]] = []
        self.calls: list[tuple[Any, ...]] = []
        self.stop_takes_s = stop_takes_s
        self.run_cancelled = False
        self.run_returned = False
        self._summary: Summary | None = None
        # created on first use, inside the test's event loop
        self._finished: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None

    # --- what the test drives -------------------------------------------------------------------

    def set_state(self, state: SessionState, *, event: Event | None = None) -> None:
        """Replace the state and tell listeners (the controller emits telemetry as it moves)."""
        self._state = state
        self.emit(event or Telemetry(t=state.elapsed_s, speed_kmh=state.speed_kmh, distance_m=0.0))

    def set_state_quietly(self, state: SessionState) -> None:
        """Replace the state without an event: only a renderer's own tick can notice."""
        self._state = state

    def emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)

    def finish(self, summary: Summary) -> None:
        self._summary = summary
        self._finished_event().set()

    async def wait_calls(self, n: int, within: float = 5.0) -> list[tuple[Any, ...]]:
        changed = self._changed_event()
        async with asyncio.timeout(within):
            while len(self.calls) < n:
                changed.clear()
                await changed.wait()
        return self.calls

    # --- SessionHandle --------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        self._record("stop", reason, detail)
        if self._state.phase in _OVER:
            return
        self.set_state(
            replace(self._state, phase=Phase.STOPPED, stop_reason=reason, stop_detail=detail),
            event=Stop(t=self._state.elapsed_s, reason=reason, detail=detail),
        )
        summary = Summary(
            t=self._state.elapsed_s,
            completed=False,
            plan=self._state.plan_name,
            duration_s=self._state.elapsed_s,
            distance_m=self._state.distance_m,
            stop_reason=reason,
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called from synchronous test code: nothing is running it
            self.finish(summary)
            return
        loop.call_later(self.stop_takes_s, self.finish, summary)

    def request_pause(self, source: StopReason) -> None:
        self._record("pause", source)
        if self._state.phase not in _OVER:
            self.set_state(replace(self._state, phase=Phase.PAUSED))

    def request_resume(self, source: StopReason) -> None:
        self._record("resume", source)
        if self._state.phase not in _OVER:
            self.set_state(replace(self._state, phase=Phase.RUNNING))

    def request_speed(self, kmh: float, source: StopReason) -> None:
        self._record("speed", kmh, source)

    def request_control_back(self) -> None:
        self._record("control_back")
        if self._state.phase not in _OVER:
            self.set_state(replace(self._state, link=LinkState.CONNECTED, phase=Phase.RUNNING))

    async def run(self) -> Summary:
        try:
            await self._finished_event().wait()
        except asyncio.CancelledError:
            self.run_cancelled = True
            raise
        assert self._summary is not None
        self.run_returned = True
        return self._summary

    # --- inside ---------------------------------------------------------------------------------

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        self._changed_event().set()

    def _finished_event(self) -> asyncio.Event:
        if self._finished is None:
            self._finished = asyncio.Event()
        return self._finished

    def _changed_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed
