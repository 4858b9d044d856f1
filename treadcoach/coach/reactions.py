"""What the session does about each link event, pure: a table from event to reaction.

The controller's reader task takes each event of ``link.events()``, asks :func:`react`, and does
what it says. Kept apart so the whole mapping is one table a test can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadcoach.ftms.enums import MachineStatusOp
from treadcoach.safety.reasons import StopReason

__all__ = [
    "BAD_FRAME_FAULT_EVERY_S",
    "ControlLostReaction",
    "Fault",
    "LinkUpReaction",
    "Reaction",
    "Reading",
    "StopFor",
    "react",
]

#: at most one "garbage" fault per this many seconds (a noisy link sends many)
BAD_FRAME_FAULT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class Reading:
    """A telemetry record, judged by when the link received it."""

    data: object
    at: float


@dataclass(frozen=True, slots=True)
class StopFor:
    """Stop the session; ``fault`` (kind, detail) is reported first when given."""

    reason: StopReason
    detail: str
    fault: tuple[str, str] | None = None
    link_down: bool = False


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class ControlLostReaction:
    pass


@dataclass(frozen=True, slots=True)
class LinkUpReaction:
    pass


Reaction = Reading | StopFor | Fault | ControlLostReaction | LinkUpReaction


def react(
    event: object, *, now: float, own_stop_until: float, last_bad_frame_at: float
) -> Reaction | None:
    """The reaction to one link event (None: nothing to do).

    ``own_stop_until``: a "stopped by user" status before this is the echo of our own Stop or
    Pause, not someone at the console. ``last_bad_frame_at``: when a garbage fault was last
    reported.
    """
    # Imported here: treadcoach.link pulls in bleak, which plan tools importing coach never need.
    from treadcoach.link import events as le

    match event:
        case le.TelemetryEvent(data=data, at=at):
            return Reading(data, at)
        case le.StatusEvent(status=status):
            if status.op == MachineStatusOp.STOPPED_BY_SAFETY_KEY:
                return StopFor(
                    StopReason.SAFETY_KEY,
                    "safety key pulled",
                    ("safety_key", "the treadmill's safety key was pulled"),
                )
            if status.op == MachineStatusOp.STOPPED_OR_PAUSED_BY_USER and now > own_stop_until:
                return StopFor(StopReason.CONSOLE, "stopped at the treadmill console")
            return None
        case le.ControlLostEvent():
            return ControlLostReaction()
        case le.LinkDownEvent(reason=reason):
            return StopFor(
                StopReason.DISCONNECT,
                "Bluetooth link lost; the belt is stopped as soon as it reconnects",
                ("disconnect", f"link lost: {reason}"),
                link_down=True,
            )
        case le.LinkUpEvent():
            return LinkUpReaction()
        case le.StopUnconfirmedEvent(reason=reason):
            # the link could not (yet) get its Stop accepted: the belt may be running
            return Fault("stop_unconfirmed", reason)
        case le.BadFrameEvent(error=error) if now - last_bad_frame_at >= BAD_FRAME_FAULT_EVERY_S:
            return Fault("garbage", f"skipped a malformed frame: {error}")
    return None
