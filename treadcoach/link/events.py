"""What ``TreadmillLink.events()`` yields: frozen values, each stamped with the loop clock.

Every event carries ``at`` (``loop.time()`` when the link saw it) so consumers such as the journal
and the safety watchdog never have to ask the clock themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadcoach.ftms import MachineStatus, TrainingStatus, TreadmillData

__all__ = [
    "BadFrameEvent",
    "ControlLostEvent",
    "LinkDownEvent",
    "LinkEvent",
    "LinkUpEvent",
    "StatusEvent",
    "StopUnconfirmedEvent",
    "TelemetryEvent",
    "TrainingStatusEvent",
]


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One complete Treadmill Data record (More Data fragments merged, unit quirks undone)."""

    data: TreadmillData
    at: float


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A Fitness Machine Status notification (stopped by user, safety key, target changed...)."""

    status: MachineStatus
    at: float


@dataclass(frozen=True, slots=True)
class TrainingStatusEvent:
    status: TrainingStatus
    at: float


@dataclass(frozen=True, slots=True)
class ControlLostEvent:
    """0xFF: someone at the console or another app took control. We no longer command the belt.

    Commands raise ``ControlLost`` until the session calls ``request_control()`` again.
    """

    at: float


@dataclass(frozen=True, slots=True)
class LinkDownEvent:
    """The Bluetooth link dropped. ``reconnecting`` is False when the link has given up for good."""

    reason: str
    reconnecting: bool
    at: float


@dataclass(frozen=True, slots=True)
class LinkUpEvent:
    """The link is up: first connection (``reconnected=False``) or back after a drop.

    ``belt_was_running`` is what telemetry said right after (re)connecting; on a reconnect the
    link then stopped the belt (``stopped_on_reconnect``) unless the session asked to resume.
    """

    reconnected: bool
    belt_was_running: bool
    stopped_on_reconnect: bool
    at: float


@dataclass(frozen=True, slots=True)
class StopUnconfirmedEvent:
    """The link could not get Stop acknowledged (after a reconnect, its retries ran out) and no
    standstill was reported: the belt may be running. Tell the user; ``reason`` says why."""

    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class BadFrameEvent:
    """A notification or indication we could not decode; it was skipped, the link stays up."""

    characteristic: str
    error: str
    data: bytes
    at: float


LinkEvent = (
    TelemetryEvent
    | StatusEvent
    | TrainingStatusEvent
    | ControlLostEvent
    | LinkDownEvent
    | LinkUpEvent
    | StopUnconfirmedEvent
    | BadFrameEvent
)
