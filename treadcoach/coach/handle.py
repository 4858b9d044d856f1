"""What a renderer (TUI) or remote (MQTT) holds of a running session.

The controller implements this; renderers depend only on it, so they never reach into the
controller's internals or hold training logic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from treadcoach.coach.events import Event, Summary
from treadcoach.coach.state import SessionState
from treadcoach.safety.stop import RemoteControl

__all__ = ["EventListener", "SessionHandle"]

EventListener = Callable[[Event], None]


class SessionHandle(RemoteControl, Protocol):
    @property
    def state(self) -> SessionState:
        """The latest snapshot (replaced, never mutated)."""
        ...

    def add_listener(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener(event)`` for every event from now on; returns a function that removes it.

        Listeners run on the loop, synchronously, and must not block (queue work, don't do it).
        """
        ...

    def request_control_back(self) -> None:
        """After the console took control (0xFF): ask for it again and carry on the plan.

        Only on the user's explicit request; a session never does this by itself.
        """
        ...

    async def run(self) -> Summary:
        """Connect, walk the plan, stop the belt, return the summary. Cancelling stops the belt."""
        ...
