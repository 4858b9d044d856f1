"""MQTT test helpers: the session the bridge serves (``tests/doubles.py``), a watcher client.

The session double records what the bridge asks of it; it is the far end of the stop path, not
our transport, so the bridge under test talks to a real mosquitto through real aiomqtt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiomqtt
from doubles import FakeSessionHandle

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SegmentView, SessionState
from treadcoach.mqtt.bridge import MqttBridge

RUNNING_STATE = SessionState(
    phase=Phase.RUNNING,
    link=LinkState.CONNECTED,
    plan_name="retro-intro",
    elapsed_s=312.46,
    segment=SegmentView(
        index=3, kind=SegmentKind.BACKWARD_WALK, target_kmh=3.2, duration_s=150, distance_m=None
    ),
    segment_count=9,
    remaining=87.26,
    remaining_unit="s",
    progress=0.4123,
    target_kmh=3.2,
    speed_kmh=3.187,
    distance_m=402.55,
    heart_rate_bpm=118,
)


def running_session() -> FakeSessionHandle:
    """The bridge's target: the shared session double, mid-plan."""
    return FakeSessionHandle(RUNNING_STATE)


class Status:
    """Records ``on_status`` callbacks and lets a test wait for a given connectivity."""

    def __init__(self) -> None:
        self.history: list[tuple[bool, str]] = []
        self._changed = asyncio.Event()

    def __call__(self, connected: bool, detail: str) -> None:
        self.history.append((connected, detail))
        self._changed.set()

    async def wait_for(self, connected: bool, within: float = 10.0) -> str:
        start = len(self.history)
        async with asyncio.timeout(within):
            while True:
                for seen, detail in self.history[start:]:
                    if seen is connected:
                        return detail
                start = len(self.history)
                self._changed.clear()
                await self._changed.wait()


@contextlib.asynccontextmanager
async def running(bridge: MqttBridge) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``bridge.run()`` for the body of the block, then cancel it as a session would."""
    task = asyncio.create_task(bridge.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Watcher:
    """A separate MQTT client that subscribes to topics and lets a test wait for messages."""

    def __init__(self, host: str, port: int, *topics: str) -> None:
        self._host, self._port, self._topics = host, port, topics
        self.messages: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        self._stack = contextlib.AsyncExitStack()
        self.client: aiomqtt.Client | None = None

    async def __aenter__(self) -> Watcher:
        self.client = aiomqtt.Client(self._host, self._port)
        await self._stack.enter_async_context(self.client)
        for topic in self._topics:
            await self.client.subscribe(topic, qos=1)
        task = asyncio.create_task(self._pump(self.client))
        self._stack.push_async_callback(_cancel, task)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _pump(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.messages.put_nowait(message)

    async def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        assert self.client is not None
        await self.client.publish(topic, payload, qos=1, retain=retain)

    async def expect(
        self,
        topic: str,
        where: Callable[[aiomqtt.Message], bool] = lambda m: True,
        within: float = 5.0,
    ) -> aiomqtt.Message:
        """The next message on ``topic`` (wildcards allowed) that satisfies ``where``."""
        async with asyncio.timeout(within):
            while True:
                message = await self.messages.get()
                if message.topic.matches(topic) and where(message):
                    return message

    async def collect(self, topic: str, quiet_s: float = 0.3) -> list[aiomqtt.Message]:
        """Every message on ``topic`` until none has arrived for ``quiet_s``."""
        found = []
        while True:
            try:
                async with asyncio.timeout(quiet_s):
                    message = await self.messages.get()
            except TimeoutError:
                return found
            if message.topic.matches(topic):
                found.append(message)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await task
