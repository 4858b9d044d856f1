"""A recording stop target: the far end of the stop path, standing in for the session."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from treadcoach.coach.state import Phase
from treadcoach.safety.reasons import StopReason


@dataclass
class _State:
    phase: Phase = Phase.RUNNING


@dataclass
class RecordingTarget:
    """Records each request; pause and resume move ``state.phase`` as the controller does."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    state: _State = field(default_factory=_State)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        self._record("stop", reason, detail)

    def request_pause(self, source: StopReason) -> None:
        self.state = _State(Phase.PAUSED)
        self._record("pause", source)

    def request_resume(self, source: StopReason) -> None:
        self.state = _State(Phase.RUNNING)
        self._record("resume", source)

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        self.changed.set()

    async def wait_calls(self, n: int, within: float = 5.0) -> list[tuple[Any, ...]]:
        async with asyncio.timeout(within):
            while len(self.calls) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.calls
