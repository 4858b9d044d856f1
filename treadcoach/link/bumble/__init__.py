"""bleak backends on Google's bumble Bluetooth stack (optional: ``pip install treadcoach[bumble]``).

Import this package only when bumble is wanted (``--ble bumble:...``, the bumble tests): it
imports bumble. ``BumbleAdapter`` owns one bumble ``Device`` -- a USB dongle, a serial HCI
controller, a TCP HCI bridge, or a virtual controller on the in-process radio of ``air`` -- and
hands out bleak client/scanner backend classes bound to it.
"""

from __future__ import annotations

from treadcoach.link.bumble._adapter import CANCEL_WAIT_S, BumbleAdapter
from treadcoach.link.bumble._advertising import ParsedAdvertisement, parse_advertising_data
from treadcoach.link.bumble._client import REQUESTED_MTU, BumbleBleakClient
from treadcoach.link.bumble._errors import bleak_errors, cancel_was_requested
from treadcoach.link.bumble._scanner import BumbleBleakScanner
from treadcoach.link.bumble.air import (
    AirController,
    ConnectionEventLink,
    device_on_air,
    treadmill_on_air,
)

__all__ = [
    "CANCEL_WAIT_S",
    "REQUESTED_MTU",
    "AirController",
    "BumbleAdapter",
    "BumbleBleakClient",
    "BumbleBleakScanner",
    "ConnectionEventLink",
    "ParsedAdvertisement",
    "bleak_errors",
    "cancel_was_requested",
    "device_on_air",
    "parse_advertising_data",
    "treadmill_on_air",
]
