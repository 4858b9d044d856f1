"""One central's connection to a simulated treadmill, as the treadmill's GATT server sees it.

Holds what a real peripheral keeps per connection: the Client Characteristic Configuration of
each characteristic (notifications 0x0001, indications 0x0002) and where to deliver them.
Delivery is scheduled on the loop (``call_soon``), never run inside the caller: on a real link a
write's response comes back before the indication it triggers, and a callback must never run
inside the write that caused it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

__all__ = ["CCCD_INDICATE", "CCCD_NOTIFY", "SimLink"]

log = logging.getLogger(__name__)

CCCD_NOTIFY = 0x0001
CCCD_INDICATE = 0x0002

Deliver = Callable[[bytearray], None]


class SimLink:
    """A live connection; ``close()`` ends it for good (a reconnect makes a new one)."""

    def __init__(self, address: str, on_lost: Callable[[], None] | None = None) -> None:
        self.address = address
        self.connected = True
        #: the ATT MTU of this connection (23 until the central exchanges a larger one): a
        #: notification carries at most ``att_mtu - 3`` bytes
        self.att_mtu = 23
        self.cccd: dict[str, int] = {}
        self._callbacks: dict[str, Deliver] = {}
        self._on_lost = on_lost
        self._loop = asyncio.get_running_loop()

    def subscribe(self, uuid: str, callback: Deliver | None, cccd: int) -> None:
        """Enable notifications/indications on ``uuid`` (a CCCD write); ``callback`` gets them."""
        self.cccd[uuid] = cccd
        if callback is not None:
            self._callbacks[uuid] = callback

    def unsubscribe(self, uuid: str) -> None:
        self.cccd.pop(uuid, None)
        self._callbacks.pop(uuid, None)

    def enabled(self, uuid: str) -> bool:
        return bool(self.connected and self.cccd.get(uuid))

    def send(self, uuid: str, data: bytes) -> None:
        """Notify/indicate ``data`` on ``uuid`` if the central enabled it (else it is dropped)."""
        if self.enabled(uuid):
            self._loop.call_soon(self._deliver, uuid, bytes(data))

    def _deliver(self, uuid: str, data: bytes) -> None:
        # the central may have unsubscribed or dropped between scheduling and now
        callback = self._callbacks.get(uuid)
        if self.connected and callback is not None and self.cccd.get(uuid):
            callback(bytearray(data))

    def close(self, *, notify_central: bool = True) -> None:
        """End the link; the central's disconnected callback runs soon after (as bleak's does)."""
        if not self.connected:
            return
        self.connected = False
        self.cccd.clear()
        self._callbacks.clear()
        if notify_central and self._on_lost is not None:
            self._loop.call_soon(self._on_lost)
