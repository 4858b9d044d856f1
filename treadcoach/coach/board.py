"""What a session shows: its listeners, its event stream and the fields of its state snapshot.

The one owner of what renderers see: events go to every listener (recorders first, so whatever
a renderer shows is already journalled: invariant 6), a broken listener never breaks the
session, and the state is a frozen :class:`SessionState` rebuilt only after something changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from treadcoach.coach.events import Event, Fault
from treadcoach.coach.handle import EventListener
from treadcoach.coach.state import Phase, SessionState

__all__ = ["Board"]

log = logging.getLogger(__name__)


class Board:
    def __init__(self, **fields: Any) -> None:
        self.fields: dict[str, Any] = fields
        self.t0: float | None = None  # the session clock's zero (loop time), once it runs
        self._listeners: list[EventListener] = []
        self._snapshot: SessionState | None = None

    def add(self, listener: EventListener, *, first: bool = False) -> Callable[[], None]:
        """Add a listener (``first``: before every other, for recorders); returns its remover."""
        if first:
            self._listeners.insert(0, listener)
        else:
            self._listeners.append(listener)
        return lambda: self._remove(listener)

    def _remove(self, listener: EventListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken renderer must never break the session
                log.exception("event listener failed")

    def fault(self, kind: str, detail: str) -> None:
        self.emit(Fault(t=self.t(), kind=kind, detail=detail))
        self.update(faults=(*self.fields.get("faults", ()), kind))

    def t(self) -> float:
        """Seconds since the session started, as the stream stamps them."""
        if self.t0 is None:
            return 0.0
        return round(asyncio.get_running_loop().time() - self.t0, 3)

    def update(self, **changes: Any) -> None:
        self.fields.update(changes)
        self._snapshot = None

    def snapshot(self, phase: Callable[[], Phase]) -> SessionState:
        """The state as renderers read it (``phase`` is asked only when it is rebuilt)."""
        if self._snapshot is None:
            self._snapshot = SessionState(phase=phase(), **self.fields)
        return self._snapshot
