"""Shared by the tests/hr files."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from treadcoach import clock

T = TypeVar("T")


def virtual(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on the virtual clock: simulated minutes cost milliseconds."""

    async def main() -> T:
        return await scenario()

    return clock.run(main(), speedup=math.inf)
