"""The one stop path's public face, as used by every input (keys, pedal, MQTT, signals).

Inputs hold a :class:`StopTarget` and call ``request_stop(reason)``: it is synchronous, never blocks,
never raises, and is safe to call from signal handlers (via the loop) and from any task. The
implementation hands the Stop opcode to the transport at once, ahead of any queued command.
"""

from __future__ import annotations

from typing import Protocol

from treadcoach.errors import CommandTimeout, ControlLost, ControlRejected, StopRefused
from treadcoach.ftms import ResultCode
from treadcoach.safety.reasons import StopReason

__all__ = ["USER_STOPS", "RemoteControl", "StopTarget", "stop_failure"]


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


#: stops the user asked for (key, pedal, MQTT, quit, signals): the link may ask for control to
#: get them accepted, also after 0xFF (DESIGN invariant 3). Any other stop is a parting one.
USER_STOPS = frozenset(
    {
        StopReason.KEY,
        StopReason.PEDAL,
        StopReason.MQTT,
        StopReason.DIZZY,
        StopReason.QUIT,
        StopReason.SIGINT,
        StopReason.SIGTERM,
        StopReason.SIGHUP,
    }
)


def stop_failure(error: BaseException) -> tuple[str, str] | None:
    """The fault (kind, detail) for a Stop the machine did not accept, or None when the link was
    down (then the link stops the belt first thing on reconnect).

    ``stop_refused``: the machine said no -- StopRefused, or (from a link that does not raise it
    yet) ControlLost or "control not permitted"; ``stop_failed``: it never confirmed.
    """
    if isinstance(error, (StopRefused, ControlLost)) or (
        isinstance(error, ControlRejected) and error.result_code == ResultCode.CONTROL_NOT_PERMITTED
    ):
        return "stop_refused", f"the treadmill refused Stop ({error})"
    if isinstance(error, (ControlRejected, CommandTimeout)):
        return "stop_failed", f"the treadmill did not confirm Stop ({error})"
    return None
