"""Red team 4: the MQTT bridge acting inside paho's read callback (aiomqtt ``queue_type``).

Against the real bridge, aiomqtt and paho: a scripted broker (red4_broker) where the order of
packets must be exact, the real mosquitto (tests/mqtt's LocalMosquitto) otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mqtt"))

from doubles import FakeSessionHandle
from mqtt_doubles import Watcher, running_session
from red4_broker import (
    DISCONNECT,
    PUBLISH,
    Packet,
    publish_packet,
    scripted_broker,
)

from treadcoach.coach.events import Event, Stop
from treadcoach.errors import MqttBridgeError
from treadcoach.mqtt import topics
from treadcoach.mqtt.bridge import MqttBridge
from treadcoach.mqtt.localbroker import LocalMosquitto
from treadcoach.safety.reasons import StopReason

pytestmark = pytest.mark.timeout(60)

_DEVICE = "red4"


def _bridge(session: FakeSessionHandle, port: int, **options: Any) -> MqttBridge:
    defaults: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "device_id": _DEVICE,
        "discovery": False,
        "state_interval_s": 0.1,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "timeout_s": 2.0,
    }
    return MqttBridge(session, **{**defaults, **options})


@contextlib.asynccontextmanager
async def _running(bridge: MqttBridge) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(bridge.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _is_state(packet: Packet) -> bool:
    return packet.kind == PUBLISH and packet.topic == topics.state_topic(_DEVICE)


@pytest.mark.parametrize("command", ["resume", "speed 9"])
@pytest.mark.parametrize(
    "moment",
    [
        "saying-offline",
        "after-disconnect",
    ],
)
async def test_nothing_that_moves_the_belt_is_acted_on_after_the_bridge_was_cancelled(
    command: str, moment: str
) -> None:
    sent: list[str] = []

    def late_command(packet: Packet, writer: asyncio.StreamWriter) -> None:
        offline = (
            packet.kind == PUBLISH
            and packet.topic == topics.availability_topic(_DEVICE)
            and packet.payload == topics.NOT_AVAILABLE.encode()
        )
        if (moment == "saying-offline" and offline) or (
            moment == "after-disconnect" and packet.kind == DISCONNECT
        ):
            # before the broker's PUBACK / before it closes: a command in flight meanwhile
            writer.write(publish_packet(topics.command_topic(_DEVICE), command.encode()))
            sent.append(command)

    session = running_session()
    async with scripted_broker(late_command) as broker:
        bridge = _bridge(session, broker.port, remote_control=True)
        task = asyncio.create_task(bridge.run())
        await asyncio.wait_for(broker.wait_for(_is_state), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)  # let a late read callback run, if any is still registered
    assert sent == [command]
    moved = [call for call in session.calls if call[0] in ("resume", "speed")]
    assert moved == []


async def test_a_stop_delivered_during_connect_before_the_bridge_says_connected_is_acted_on() -> (
    None
):
    """A stop the broker delivers right after the SUBACK (before availability and state are
    out) reaches request_stop at once and exactly once."""

    def stop_after_subscribe(packet: Packet, writer: asyncio.StreamWriter) -> None:
        if packet.kind == 8:  # SUBSCRIBE: the SUBACK follows this write
            writer.write(publish_packet(topics.command_topic(_DEVICE), b"STOP"))

    session = running_session()
    async with scripted_broker(stop_after_subscribe) as broker:
        bridge = _bridge(session, broker.port)
        async with _running(bridge):
            await session.wait_calls(1)
            await asyncio.wait_for(broker.wait_for(_is_state), 10)
    assert [call[0] for call in session.calls] == ["stop"]


async def test_a_retained_resume_delivered_on_subscribe_is_never_acted_on() -> None:
    def retained_resume(packet: Packet, writer: asyncio.StreamWriter) -> None:
        if packet.kind == 8:
            command = topics.command_topic(_DEVICE)
            writer.write(publish_packet(command, b"resume", retain=True))
            writer.write(publish_packet(command, b"pause"))  # then a live one

    session = running_session()
    async with scripted_broker(retained_resume) as broker:
        bridge = _bridge(session, broker.port, remote_control=True)
        async with _running(bridge):
            await session.wait_calls(1)
    assert [call[0] for call in session.calls] == ["pause"]


@pytest.fixture
def broker() -> Iterator[LocalMosquitto]:
    try:
        local = LocalMosquitto()
        local.start()
    except MqttBridgeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield local
    local.close()


async def test_a_listener_that_raises_inside_the_read_callback_never_stops_later_messages(
    broker: LocalMosquitto,
) -> None:
    """request_stop runs the session's listeners inside paho's on_message: one that raises (a
    TUI widget gone) must not escape into paho, and the next stop/pause is still handled."""
    session = running_session()

    def broken_listener(event: Event) -> None:
        if isinstance(event, Stop):
            raise RuntimeError("a listener broke")

    session.add_listener(broken_listener)
    bridge = _bridge(session, broker.port)
    command = topics.command_topic(_DEVICE)
    async with (
        Watcher(broker.host, broker.port, topics.availability_topic(_DEVICE)) as watcher,
        _running(bridge),
    ):
        await watcher.expect(
            topics.availability_topic(_DEVICE), lambda m: m.payload == topics.AVAILABLE.encode()
        )
        await watcher.publish(command, "stop")
        await session.wait_calls(1)
        await watcher.publish(command, "pause")
        await session.wait_calls(2)
        assert bridge.connected
    assert [call[0] for call in session.calls] == ["stop", "pause"]


async def test_huge_and_binary_garbage_never_stops_the_stop_behind_it(
    broker: LocalMosquitto,
) -> None:
    session = running_session()
    bridge = _bridge(session, broker.port)
    command = topics.command_topic(_DEVICE)
    garbage = [
        bytes(range(256)) * 8192,  # 2 MiB of every byte value
        b"[" * 200_000,  # JSON nested past any recursion limit
        b'{"command": "stop", "reason": "' + b"x" * 500_000 + b'"}',
        b"\xff\xfe\x00s\x00t\x00o\x00p",  # UTF-16 'stop' with a BOM
    ]
    async with (
        Watcher(broker.host, broker.port, topics.availability_topic(_DEVICE)) as watcher,
        _running(bridge),
    ):
        await watcher.expect(
            topics.availability_topic(_DEVICE), lambda m: m.payload == topics.AVAILABLE.encode()
        )
        for payload in garbage:
            await watcher.publish(command, payload)
        await watcher.publish(command, '{"command":"Stop"}')
        await session.wait_calls(1)
        assert bridge.connected
    stops = [call for call in session.calls if call[0] == "stop"]
    assert stops == [("stop", StopReason.MQTT, f"mqtt command on {command}")]


async def test_every_stop_and_button_press_reaches_the_session_exactly_once(
    broker: LocalMosquitto,
) -> None:
    """Back-to-back QoS 0 presses (Home Assistant's button default, the bench's raw publisher)
    and QoS 1 commands in one burst: each is one request_stop, none lost or doubled, although
    several may be decoded in one read callback."""
    from treadcoach.bench.button import ButtonPublisher

    session = running_session()
    button_topic = f"red4/{_DEVICE}/button"
    bridge = _bridge(session, broker.port, buttons=[(button_topic, "PRESS")])
    command = topics.command_topic(_DEVICE)
    async with (
        Watcher(broker.host, broker.port, topics.availability_topic(_DEVICE)) as watcher,
        _running(bridge),
    ):
        await watcher.expect(
            topics.availability_topic(_DEVICE), lambda m: m.payload == topics.AVAILABLE.encode()
        )
        with ButtonPublisher(broker.host, broker.port, "red4-button") as button:
            for _ in range(5):
                button.press(button_topic, b"PRESS")
                button.press(button_topic, b"RELEASE")  # not its payload: nothing
        for _ in range(5):
            await watcher.publish(command, "stop")
        await session.wait_calls(10)
        await asyncio.sleep(0.2)  # a doubled delivery would land meanwhile
    details = [call[2] for call in session.calls if call[0] == "stop"]
    assert len(session.calls) == 10
    assert details.count(f"mqtt button {button_topic}") == 5
    assert details.count(f"mqtt command on {command}") == 5
