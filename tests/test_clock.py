"""The loop-as-clock: virtual time costs no wall time, scaled time runs faster."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from treadcoach import clock


async def _sleep_and_measure(seconds: float) -> float:
    start = clock.now()
    await asyncio.sleep(seconds)
    return clock.now() - start


def test_virtual_loop_sleeps_45_minutes_without_wall_time() -> None:
    wall = time.perf_counter()
    elapsed = clock.run(_sleep_and_measure(45 * 60), speedup=math.inf)
    assert elapsed == pytest.approx(45 * 60)
    assert time.perf_counter() - wall < 5  # generous: it is really ~1 ms


def test_virtual_loop_timeouts_fire_in_virtual_time() -> None:
    async def scenario() -> float:
        start = clock.now()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.0):
                await asyncio.Event().wait()
        return clock.now() - start

    assert clock.run(scenario(), speedup=math.inf) == pytest.approx(2.0)


def test_virtual_loop_orders_timers_like_real_time() -> None:
    async def scenario() -> list[str]:
        order: list[str] = []

        async def after(delay: float, name: str) -> None:
            await asyncio.sleep(delay)
            order.append(name)

        async with asyncio.TaskGroup() as tg:
            tg.create_task(after(3, "c"))
            tg.create_task(after(1, "a"))
            tg.create_task(after(2, "b"))
        return order

    assert clock.run(scenario(), speedup=math.inf) == ["a", "b", "c"]


def test_scaled_loop_runs_faster_than_the_wall() -> None:
    wall = time.perf_counter()
    elapsed = clock.run(_sleep_and_measure(10.0), speedup=100)
    assert elapsed >= 10.0
    assert time.perf_counter() - wall < 2.0


def test_scaled_loop_rejects_nonsense_speedup() -> None:
    with pytest.raises(ValueError, match="speedup"):
        clock.ScaledEventLoop(0)


def test_scaled_loop_dilates_a_stall_instead_of_jumping_ahead() -> None:
    async def stall() -> float:
        start = clock.now()
        time.sleep(0.05)  # noqa: ASYNC251 -- the point: a 50 ms stall is 30 s at 600x
        return clock.now() - start

    elapsed = clock.run(stall(), speedup=600)
    assert elapsed <= 0.1 + 1e-9
