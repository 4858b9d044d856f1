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
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["ScaledEventLoop", "VirtualEventLoop", "new_event_loop", "now", "run"]

T = TypeVar("T")


def now() -> float:
    """Seconds on the running loop's clock (real, scaled or virtual)."""
    return asyncio.get_running_loop().time()


class _ScaledSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: ScaledEventLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        assert self.loop is not None
        return self.loop._scaled_select(super().select, timeout)


class ScaledEventLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` runs ``speedup`` times faster than the wall clock.

    A stall (a GC pause, a busy CPU) would otherwise be multiplied too: at 600x, 5 ms of wall
    time is 3 s of session time, enough to make telemetry look stale or a command time out. So
    the clock is *dilated*, never jumped: work between two waits counts for at most
    ``max_lag_s`` session seconds, and a wait for at most what was asked plus ``max_lag_s``. Under
    load the session clock runs slower than ``speedup``; it never skips ahead of the code.
    """

    def __init__(self, speedup: float, *, max_lag_s: float = 0.1) -> None:
        selector = _ScaledSelector()
        super().__init__(selector=selector)
        selector.loop = self
        if not (speedup > 0 and math.isfinite(speedup)):
            self.close()
            raise ValueError(f"speedup must be a positive finite number, not {speedup!r}")
        self.speedup = speedup
        self.max_lag_s = max_lag_s
        self._virtual = time.monotonic()
        self._wall_mark = self._virtual

    def time(self) -> float:
        busy = (time.monotonic() - self._wall_mark) * self.speedup
        return self._virtual + min(busy, self.max_lag_s)

    def _scaled_select(
        self,
        select: Callable[[float | None], list[tuple[selectors.SelectorKey, int]]],
        timeout: float | None,
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self._virtual = self.time()
        self._wall_mark = time.monotonic()
        ready = select(None if timeout is None else timeout / self.speedup)
        waited = (time.monotonic() - self._wall_mark) * self.speedup
        allowed = math.inf if timeout is None else timeout + self.max_lag_s
        self._virtual += min(waited, allowed)
        self._wall_mark = time.monotonic()
        return ready


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
        # Always move forward: a timeout below the float resolution of the current time would
        # otherwise leave the clock where it is, and a waiter re-arming for the rest would spin.
        self.loop.virtual_now = max(self.loop.virtual_now + timeout, self.loop.virtual_now + 1e-9)
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


def is_real_time(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """Whether ``loop`` (default: the running one) runs on the wall clock, not scaled or virtual."""
    return not isinstance(loop or asyncio.get_running_loop(), ScaledEventLoop | VirtualEventLoop)


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
