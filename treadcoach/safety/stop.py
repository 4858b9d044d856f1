"""The one stop path's public face, as used by every input (keys, pedal, MQTT, signals).

Inputs hold a :class:`StopTarget` and call ``request_stop(reason)``: it is synchronous, never blocks,
never raises, and is safe to call from signal handlers (via the loop) and from any task. The
implementation hands the Stop opcode to the transport at once, ahead of any queued command.
"""

from __future__ import annotations

from typing import Protocol

from treadcoach.safety.reasons import StopReason

__all__ = ["RemoteControl", "StopTarget"]


class StopTarget(Protocol):
    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        """Stop the belt now. Idempotent; later calls after the first only add detail to the log."""
        ...

    def request_pause(self, source: StopReason) -> None:
        """Pause the belt (keeps the plan position). Always allowed from any input."""
        ...


class RemoteControl(StopTarget, Protocol):
    """What a remote (MQTT) may ask for. Resume and speed are refused unless the user enabled them."""

    def request_resume(self, source: StopReason) -> None: ...

    def request_speed(self, kmh: float, source: StopReason) -> None: ...
