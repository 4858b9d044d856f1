"""``treadcoach bench stop-latency``: from a stop input to the Stop opcode handed to bleak's write.

Each sample is a whole session against the simulator (telemetry at 10 Hz) on the real clock: the
belt is brought up, then -- at a random moment -- a stop input fires. The time is taken when
``write_gatt_char`` is called with ``08 01``; the simulator is reached through a bleak backend
that only adds that timestamp (bleak's own seam, not a mock of our transport).

Inputs measured: the stop path called directly (``request_stop``, as the TUI key binding, the
pedal and the signal handlers do), with the Textual session screen rendering the same session in
the same loop and an MQTT bridge publishing state when a mosquitto can be started; and, when it
can, the MQTT command topic (a separate client publishes ``stop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.coach.bench import percentile
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.library import find_plan
from treadcoach.coach.schedule import Caps, expand
from treadcoach.coach.state import Phase
from treadcoach.link import TreadmillLink
from treadcoach.safety.reasons import StopReason

__all__ = ["bench"]

_STOP = b"\x08\x01"


class _StopStampingClient(SimBleakClient):
    """The simulator's bleak backend, stamping the moment Stop is handed to it."""

    # address -> when the first Stop of the current sample was handed over
    stamps: ClassVar[dict[str, float]] = {}

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        if bytes(data[:2]) == _STOP:
            _StopStampingClient.stamps.setdefault(self.address, time.perf_counter())
        await super().write_gatt_char(characteristic, data, response)


def bench(options: Any) -> dict[str, Any]:
    n = options.n or 1000
    return asyncio.run(_bench(n))


def bench_fleet(options: Any) -> dict[str, Any]:
    """``stop-latency-fleet``: 20 simulated treadmills in one process, stops at random moments."""
    n = options.n or 1000
    return asyncio.run(_fleet(n, size=20))


async def _fleet(n: int, *, size: int) -> dict[str, Any]:
    steps = expand(find_plan("gentle-intro"), Caps())
    samples: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        treadmills = [
            await stack.enter_async_context(SimTreadmill(name=f"fleet{i}", notify_hz=10.0))
            for i in range(size)
        ]
        while len(samples) < n:
            async with asyncio.TaskGroup() as tg:
                for treadmill in treadmills:
                    tg.create_task(_one_sample(treadmill, steps, samples))
    return {"treadmills": size, **_stats(samples[:n])}


async def _one_sample(treadmill: SimTreadmill, steps: list[Any], samples: list[float]) -> None:
    controller = _controller(treadmill, steps, "fleet")
    session = asyncio.get_running_loop().create_task(controller.run())
    while controller.state.phase is not Phase.RUNNING or treadmill.belt_speed_kmh <= 0:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    await asyncio.sleep(random.uniform(0.0, 0.2))
    _StopStampingClient.stamps.pop(treadmill.address, None)
    start = time.perf_counter()
    controller.request_stop(StopReason.KEY, "benchmark")
    await session
    stamp = _StopStampingClient.stamps.pop(treadmill.address, None)
    if stamp is not None:
        samples.append(stamp - start)


async def _bench(n: int) -> dict[str, Any]:
    steps = expand(find_plan("gentle-intro"), Caps())
    result: dict[str, Any] = {}
    async with SimTreadmill(name="latency", notify_hz=10.0) as treadmill, _broker() as broker:
        key = await _samples(treadmill, steps, n, broker=broker, via_mqtt=False)
        result.update(_stats(key))
        result["with_mqtt_bridge"] = broker is not None
        tui = await _tui_samples(treadmill, steps, max(100, n // 5), broker=broker)
        result["tui_key"] = _stats(tui)
        if broker is not None:
            mqtt = await _samples(treadmill, steps, max(100, n // 5), broker=broker, via_mqtt=True)
            result["mqtt"] = _stats(mqtt)
    return result


async def _tui_samples(
    treadmill: SimTreadmill, steps: list[Any], n: int, *, broker: tuple[str, int] | None
) -> list[float]:
    """The stop key pressed in the running Textual app (headless), the MQTT bridge publishing."""
    from treadcoach.tui import TreadcoachApp, TuiSettings

    samples: list[float] = []
    for i in range(n):
        controller = _controller(treadmill, steps, "latency")
        app = TreadcoachApp(
            session=controller, settings=TuiSettings(audio="none", summary_delay_s=0.0)
        )
        async with app.run_test(size=(100, 30)) as pilot, asyncio.TaskGroup() as tg:
            bridge = _make_bridge(controller, broker, f"latency-tui{i % 4}")
            bridge_task = tg.create_task(_run_bridge(bridge)) if bridge else None
            while controller.state.phase is not Phase.RUNNING or treadmill.belt_speed_kmh <= 0:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            await asyncio.sleep(random.uniform(0.0, 0.1))
            _StopStampingClient.stamps.pop(treadmill.address, None)
            start = time.perf_counter()
            await pilot.press("space")
            while controller.summary is None:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            if bridge_task is not None:
                bridge_task.cancel()
        stamp = _StopStampingClient.stamps.pop(treadmill.address, None)
        if stamp is not None:
            samples.append(stamp - start)
    return samples


def _controller(treadmill: SimTreadmill, steps: list[Any], plan_name: str) -> SessionController:
    """A session against ``treadmill`` through the Stop-stamping bleak backend."""
    return SessionController(
        lambda: TreadmillLink(
            treadmill.address, client_backend=_StopStampingClient, scanner_backend=SimBleakScanner
        ),
        steps,
        SessionConfig(plan_name=plan_name, simulated=True),
    )


def _stats(samples: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.5), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "max_ms": round(max(ms), 3) if ms else None,
    }


async def _samples(
    treadmill: SimTreadmill,
    steps: list[Any],
    n: int,
    *,
    broker: tuple[str, int] | None,
    via_mqtt: bool,
) -> list[float]:
    import aiomqtt

    samples: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        # One long-lived publisher, as a Home Assistant button or zigbee2mqtt is.
        publisher = None
        if via_mqtt and broker is not None:
            publisher = await stack.enter_async_context(aiomqtt.Client(*broker))
        for i in range(n):
            controller = _controller(treadmill, steps, "latency")
            device_id = f"latency{i % 4}"
            async with asyncio.TaskGroup() as tg:
                session = tg.create_task(controller.run())
                bridge = _make_bridge(controller, broker, device_id)
                bridge_task = tg.create_task(_run_bridge(bridge)) if bridge else None
                while (  # noqa: ASYNC110 -- polling the sim is the point
                    controller.state.phase is not Phase.RUNNING
                    or treadmill.belt_speed_kmh <= 0
                    or (bridge is not None and not bridge.connected)
                ):
                    await asyncio.sleep(0.005)
                await asyncio.sleep(random.uniform(0.0, 0.1))  # land anywhere between telemetry
                _StopStampingClient.stamps.pop(treadmill.address, None)
                start = time.perf_counter()
                if publisher is not None:
                    await publisher.publish(f"treadcoach/{device_id}/command", b"stop", qos=1)
                else:
                    controller.request_stop(StopReason.KEY, "benchmark")
                await session
                if bridge_task is not None:
                    bridge_task.cancel()
            stamp = _StopStampingClient.stamps.pop(treadmill.address, None)
            if stamp is not None:
                samples.append(stamp - start)
    return samples


def _make_bridge(
    controller: SessionController, broker: tuple[str, int] | None, device_id: str
) -> Any:
    if broker is None:
        return None
    from treadcoach.mqtt.bridge import MqttBridge

    return MqttBridge(controller, hostname=broker[0], port=broker[1], device_id=device_id)


async def _run_bridge(bridge: Any) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await bridge.run()


@contextlib.asynccontextmanager
async def _broker() -> AsyncIterator[tuple[str, int] | None]:
    """A throwaway mosquitto on a free loopback port, or None when mosquitto is not installed."""
    from treadcoach.errors import MqttBridgeError
    from treadcoach.mqtt.localbroker import LocalMosquitto

    try:
        broker = LocalMosquitto()
    except MqttBridgeError:
        yield None
        return
    with broker:
        yield broker.host, broker.port
