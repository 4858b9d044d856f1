"""Shared bits of the bumble tests (imported as ``bumble_helpers`` from tests/bumble)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from treadcoach.clock import run

T = TypeVar("T")


def on_virtual_time(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on the virtual clock (bumble's stack runs on the loop's timers)."""

    async def main() -> T:
        return await scenario()

    return run(main(), speedup=math.inf)
