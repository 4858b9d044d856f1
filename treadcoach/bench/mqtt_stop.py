"""How long an MQTT ``stop`` takes to reach the one stop path.

Measured from the moment a separate client publishes ``stop`` on the command topic (as Home
Assistant's stop button does, QoS 1) to the moment the bridge calls ``request_stop`` on the
session, through a real broker on loopback. Both clients share one event loop, as the bridge
shares it with the session; the bridge publishes its 1 Hz state meanwhile. The session's own
hand-off (request_stop -> Stop opcode at the transport) is measured by ``stop-latency``;
the sum is the MQTT stop latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiomqtt

from treadcoach.bench.doubles import SteadySession
from treadcoach.bench.stats import latency_summary
from treadcoach.mqtt import topics
from treadcoach.mqtt.bridge import MqttBridge

__all__ = ["bench", "mqtt_stop_latency"]

_DEVICE_ID = "bench"


async def mqtt_stop_latency(
    host: str, port: int, n: int = 1000, *, qos: int = 1, warmup: int = 20
) -> list[float]:
    """``n`` samples, in seconds, of publish(``stop``) -> ``request_stop`` through the broker."""
    arrived: asyncio.Future[float] | None = None

    def on_stop(_reason: object) -> None:
        if arrived is not None and not arrived.done():
            arrived.set_result(time.perf_counter())

    session = SteadySession(on_stop=on_stop)
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
                arrived = loop.create_future()
                sent = time.perf_counter()
                await publisher.publish(command, "stop", qos=qos)
                async with asyncio.timeout(5):
                    at = await arrived
                if i >= warmup:
                    samples.append(at - sent)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    return samples


def bench(options: Any) -> dict[str, Any]:
    """``treadcoach bench``-style entry: a throwaway mosquitto, n (default 1000) MQTT stops."""
    from treadcoach.mqtt.localbroker import LocalMosquitto

    n = getattr(options, "n", None) or 1000
    with LocalMosquitto() as broker:
        samples = asyncio.run(mqtt_stop_latency(broker.host, broker.port, n))
    return {"path": "mqtt publish -> request_stop", **latency_summary(samples)}
