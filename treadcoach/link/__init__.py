"""The Bluetooth link to an FTMS treadmill: the only package that imports bleak.

``discover_treadmills`` / ``find_treadmill`` scan for service 0x1826; ``TreadmillLink`` connects,
subscribes, commands the control point and reconnects; ``events()`` yields the typed events in
``treadcoach.link.events``. The simulator is reached through bleak's ``backend=`` seam
(``client_backend`` / ``scanner_backend``), so tests drive the code that drives a real treadmill.
"""

from __future__ import annotations

from treadcoach.link.bluetooth import bluetooth_unavailable, translate_bluetooth_errors
from treadcoach.link.events import (
    BadFrameEvent,
    ControlLostEvent,
    LinkDownEvent,
    LinkEvent,
    LinkUpEvent,
    StatusEvent,
    StopUnconfirmedEvent,
    TelemetryEvent,
    TrainingStatusEvent,
)
from treadcoach.link.profile import GENERIC_PROFILE, GenericProfile, LinkProfile
from treadcoach.link.ranges import snap
from treadcoach.link.scan import (
    FoundTreadmill,
    ProfileLookup,
    discover_treadmills,
    find_treadmill,
    is_address,
)
from treadcoach.link.session import (
    DEFAULT_INCLINE_RANGE,
    DEFAULT_SPEED_RANGE,
    KMH_PER_MPH,
    ProfileSource,
    TreadmillLink,
)

__all__ = [
    "DEFAULT_INCLINE_RANGE",
    "DEFAULT_SPEED_RANGE",
    "GENERIC_PROFILE",
    "KMH_PER_MPH",
    "BadFrameEvent",
    "ControlLostEvent",
    "FoundTreadmill",
    "GenericProfile",
    "LinkDownEvent",
    "LinkEvent",
    "LinkProfile",
    "LinkUpEvent",
    "ProfileLookup",
    "ProfileSource",
    "StatusEvent",
    "StopUnconfirmedEvent",
    "TelemetryEvent",
    "TrainingStatusEvent",
    "TreadmillLink",
    "bluetooth_unavailable",
    "discover_treadmills",
    "find_treadmill",
    "is_address",
    "snap",
    "translate_bluetooth_errors",
]
