"""The probe's stop inputs are a session's: a signal or any key on the terminal stops the belt."""

from __future__ import annotations

import asyncio
import math
import os
import signal

import pytest
from probe_helpers import SimConsole

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.commands.probe import _any_key, _probe
from treadcoach.config import Settings, shipped_devices
from treadcoach.probe import Step
from treadcoach.probe._driver import ProbeAborted, ProbeOptions, Prober
from treadcoach.safety.reasons import StopReason


def _settings() -> Settings:
    import tomllib

    return Settings.model_validate(tomllib.loads(shipped_devices().read_text("utf-8")))


def _probe_with(trigger: str) -> tuple[ProbeAborted | None, float]:
    """Run the command's probe (its signal handlers and stop inputs) and pull ``trigger`` as
    the units step begins (the belt is running then). Returns the abort and the belt after."""
    result: list[ProbeAborted | None] = [None]
    belt: list[float] = [math.nan]

    async def scenario() -> None:
        async with SimTreadmill(profile="standard") as treadmill:
            loop = asyncio.get_running_loop()
            master, slave = os.openpty()
            prober: Prober | None = None

            def on_step(step: Step) -> None:
                if step is not Step.UNITS:
                    return
                if trigger == "sigint":
                    loop.call_soon(os.kill, os.getpid(), signal.SIGINT)
                else:
                    loop.call_soon(os.write, master, b"x")

            prober = Prober(
                ProbeOptions(
                    treadmill.address,
                    client_backend=SimBleakClient,
                    scanner_backend=SimBleakScanner,
                    console=SimConsole(treadmill),
                    on_step=on_step,
                )
            )
            try:
                keys = _any_key(prober, fd=slave)
                assert keys is not None
                async with asyncio.TaskGroup() as tg:
                    reader = tg.create_task(keys)
                    try:
                        await _probe(prober, _settings())
                    except ProbeAborted as exc:
                        result[0] = exc
                    finally:
                        reader.cancel()
            finally:
                os.close(master)
                os.close(slave)
            await asyncio.sleep(20)
            belt[0] = treadmill.belt_speed_kmh

    clock.run(scenario(), speedup=math.inf)
    return result[0], belt[0]


@pytest.mark.parametrize(
    ("trigger", "reason"), [("sigint", StopReason.SIGINT), ("key", StopReason.KEY)]
)
def test_a_signal_or_any_key_during_the_probe_stops_the_belt(
    trigger: str, reason: StopReason
) -> None:
    aborted, belt_after = _probe_with(trigger)
    assert aborted is not None
    assert aborted.reason is reason
    assert belt_after == 0.0


def test_a_treadmill_that_cannot_be_found_is_a_plain_typed_error_not_a_group() -> None:
    from treadcoach.errors import TreadcoachError

    async def scenario() -> None:
        prober = Prober(
            ProbeOptions(
                "SIM-NOBODY-HERE",
                client_backend=SimBleakClient,
                scanner_backend=SimBleakScanner,
                find_timeout_s=0.5,
            )
        )
        with pytest.raises(TreadcoachError) as caught:
            await _probe(prober, _settings())
        assert not isinstance(caught.value, BaseExceptionGroup)

    clock.run(scenario(), speedup=math.inf)
