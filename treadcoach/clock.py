"""The clock every session runs on: the asyncio loop's own ``time()``.

Rather than thread a clock object through every layer (and risk one layer sleeping on the wall
clock while another counts virtual seconds), the *event loop* is the injected clock. Everything --
the simulator's belt physics, the link's command timeouts, the coach's segment timer -- uses
``loop.time()``, ``asyncio.sleep`` and ``asyncio.timeout``, and a session is run on one of:

* the ordinary loop (real time, a real treadmill);
* :class:`ScaledEventLoop` -- time runs ``speedup`` times faster (``treadcoach run --sim --speedup``);
* :class:`VirtualEventLoop` -- time jumps straight to the next timer whenever nothing is ready, so a
  45-minute plan against the simulator takes well under a second of wall time, with no sleeping.

The virtual loop is only sound when every waiter is a timer or an in-process callback: real sockets
(mosquitto) or threads must use the real or scaled loop.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ScaledEventLoop", "VirtualEventLoop", "new_event_loop", "now", "run"]

T = TypeVar("T")


def now() -> float:
    """Seconds on the running loop's clock (real, scaled or virtual)."""
    return asyncio.get_running_loop().time()


class _ScaledSelector(selectors.DefaultSelector):
    def __init__(self, speedup: float) -> None:
        super().__init__()
        self._speedup = speedup

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None:
            timeout = timeout / self._speedup
        return super().select(timeout)


class ScaledEventLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` runs ``speedup`` times faster than the wall clock."""

    def __init__(self, speedup: float) -> None:
        super().__init__(selector=_ScaledSelector(speedup))
        if not (speedup > 0 and math.isfinite(speedup)):
            self.close()
            raise ValueError(f"speedup must be a positive finite number, not {speedup!r}")
        self.speedup = speedup
        self._wall0 = time.monotonic()

    def time(self) -> float:
        return self._wall0 + (time.monotonic() - self._wall0) * self.speedup


class _VirtualSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualEventLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # No timer pending: only real I/O (or a thread) can wake us, so wait for it for real.
            return super().select(None)
        assert self.loop is not None
        self.loop.virtual_now += timeout
        return []


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: idle waits cost no wall time."""

    def __init__(self, start: float = 0.0) -> None:
        selector = _VirtualSelector()
        super().__init__(selector=selector)
        selector.loop = self
        self.virtual_now = start

    def time(self) -> float:
        return self.virtual_now


def new_event_loop(speedup: float | None = None) -> asyncio.AbstractEventLoop:
    """A loop for ``speedup``: None or 1 = real time, ``math.inf`` = virtual, else scaled."""
    if speedup is None or speedup == 1:
        return asyncio.new_event_loop()
    if math.isinf(speedup):
        return VirtualEventLoop()
    return ScaledEventLoop(speedup)


def run(main: Coroutine[Any, Any, T], *, speedup: float | None = None) -> T:
    """``asyncio.run`` on the clock chosen by ``speedup`` (see :func:`new_event_loop`)."""
    with asyncio.Runner(loop_factory=lambda: new_event_loop(speedup)) as runner:
        return runner.run(main)
