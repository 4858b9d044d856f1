"""How long an MQTT ``stop`` takes to reach the one stop path.

Measured from the moment a separate client publishes ``stop`` on the command topic (as Home
Assistant's stop button does, QoS 1) to the moment the bridge calls ``request_stop`` on the
session, through a real broker on loopback. Both clients share one event loop, as the bridge
shares it with the session; the bridge publishes its 1 Hz state meanwhile. The session's own
hand-off (request_stop -> Stop opcode at the transport) is measured by ``treadcoach.safety.bench``;
the sum is the MQTT stop latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiomqtt

from treadcoach.coach.events import Event
from treadcoach.coach.state import SessionState
from treadcoach.mqtt import topics
from treadcoach.mqtt.bridge import MqttBridge
from treadcoach.safety.reasons import StopReason

__all__ = ["bench", "mqtt_stop_latency", "summarize"]

_DEVICE_ID = "bench"


class _StopClock:
    """A session stand-in that notes when ``request_stop`` is called (perf_counter seconds)."""

    def __init__(self) -> None:
        self.state = SessionState()
        self.arrived: asyncio.Future[float] | None = None

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        if self.arrived is not None and not self.arrived.done():
            self.arrived.set_result(time.perf_counter())

    def request_pause(self, source: StopReason) -> None:
        pass

    def request_resume(self, source: StopReason) -> None:
        pass

    def request_speed(self, kmh: float, source: StopReason) -> None:
        pass

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return lambda: None


async def mqtt_stop_latency(
    host: str, port: int, n: int = 1000, *, qos: int = 1, warmup: int = 20
) -> list[float]:
    """``n`` samples, in seconds, of publish(``stop``) -> ``request_stop`` through the broker."""
    session = _StopClock()
    connected = asyncio.Event()
    bridge = MqttBridge(
        session,
        hostname=host,
        port=port,
        device_id=_DEVICE_ID,
        discovery=False,
        on_status=lambda up, _detail: connected.set() if up else connected.clear(),
    )
    command = topics.command_topic(_DEVICE_ID)
    loop = asyncio.get_running_loop()
    samples: list[float] = []
    runner = asyncio.create_task(bridge.run())
    try:
        async with asyncio.timeout(10):
            await connected.wait()
        async with aiomqtt.Client(host, port) as publisher:
            for i in range(warmup + n):
                session.arrived = loop.create_future()
                sent = time.perf_counter()
                await publisher.publish(command, "stop", qos=qos)
                async with asyncio.timeout(5):
                    arrived = await session.arrived
                if i >= warmup:
                    samples.append(arrived - sent)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    return samples


def summarize(samples: list[float]) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in samples)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(ms[-1], 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def bench(options: Any) -> dict[str, Any]:
    """``treadcoach bench``-style entry: a throwaway mosquitto, n (default 1000) MQTT stops."""
    from treadcoach.mqtt.localbroker import LocalMosquitto

    n = getattr(options, "n", None) or 1000
    with LocalMosquitto() as broker:
        samples = asyncio.run(mqtt_stop_latency(broker.host, broker.port, n))
    return {"path": "mqtt publish -> request_stop", **summarize(samples)}
