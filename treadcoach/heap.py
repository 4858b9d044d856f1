"""Keep the garbage collector's full passes short: the stop path shares the loop with them.

CPython's cyclic collector stops the whole interpreter -- the event loop, so also a stop key, a
pedal press or an MQTT stop -- while it runs, and a full (generation 2) pass walks every object it
tracks. A session's heap is tens of thousands of objects built at start-up (Textual, pydantic,
bleak, the plan library) that live as long as the process. Measured with ``treadcoach bench
stop-latency`` (20 sessions side by side): full passes of 75-128 ms, and a stop that lands in one
waits that long. Frozen once everything is built, they are left out of every later pass: the full
passes fell to 22-42 ms there, and the MQTT stop's p99 from 7.7 to 3.2 ms.

Only a program that owns its process should do this (``treadcoach run`` / ``serve``: the
``settle_heap`` session option); a session embedded in another program leaves its collector be.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Collect what start-up left as garbage now (before the belt moves, not in a pause
    mid-session), then move every surviving object to the permanent generation."""
    gc.collect()
    gc.freeze()
