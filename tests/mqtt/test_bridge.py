"""The MQTT bridge against a real mosquitto: state, availability, commands, buttons, outages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from doubles import FakeSessionHandle
from mqtt_doubles import Status, Watcher, running, running_session

from treadcoach.bench.mqtt_stop import mqtt_stop_latency
from treadcoach.bench.stats import latency_summary
from treadcoach.coach.events import SegmentStarted
from treadcoach.coach.kinds import SegmentKind
from treadcoach.mqtt import topics
from treadcoach.mqtt.bridge import MqttBridge
from treadcoach.mqtt.connection import make_tls_context
from treadcoach.mqtt.localbroker import LocalMosquitto, free_port
from treadcoach.mqtt.payloads import StatePayload
from treadcoach.safety.reasons import StopReason

pytestmark = pytest.mark.timeout(30)


def make_bridge(
    session: FakeSessionHandle, broker: LocalMosquitto, device_id: str, **options: Any
) -> MqttBridge:
    defaults: dict[str, Any] = {
        "hostname": broker.host,
        "port": broker.port,
        "device_id": device_id,
        "discovery_prefix": f"ha_{device_id}",
        "state_interval_s": 0.1,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
    }
    return MqttBridge(session, **{**defaults, **options})


async def online(watcher: Watcher, device_id: str) -> None:
    await watcher.expect(topics.availability_topic(device_id), lambda m: m.payload == b"online")


# --- state --------------------------------------------------------------------------------------


async def test_state_is_published_repeatedly_as_json_of_the_session_state(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    bridge = make_bridge(session, mosquitto, device_id)
    state_topic = topics.state_topic(device_id)
    async with Watcher(mosquitto.host, mosquitto.port, state_topic) as watcher, running(bridge):
        payloads = [
            StatePayload.model_validate_json((await watcher.expect(state_topic)).payload)
            for _ in range(3)
        ]
    first = payloads[0]
    assert all(p == first for p in payloads)  # the state didn't change: same JSON each tick
    assert first.phase == "running"
    assert first.running is True
    assert first.segment_kind is SegmentKind.BACKWARD_WALK
    assert first.segment_index == 3
    assert first.remaining_s == pytest.approx(87.3)
    assert first.remaining_m is None
    assert first.target_kmh == pytest.approx(3.2)
    assert first.speed_kmh == pytest.approx(3.19)
    assert first.distance_m == pytest.approx(402.6)
    assert first.heart_rate_bpm == 118
    assert first.stop_reason is None


async def test_state_carries_the_heart_rate_with_its_zone_and_the_straps_state(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    session.set_state_quietly(
        replace(
            session.state,
            heart_rate_bpm=128,
            strap_connected=True,
            hr_signal="ok",
            hr_zone_bpm=(115, 130),
            hr_zone_state="in",
        )
    )
    bridge = make_bridge(session, mosquitto, device_id)
    state_topic = topics.state_topic(device_id)
    async with Watcher(mosquitto.host, mosquitto.port, state_topic) as watcher, running(bridge):
        first = json.loads((await watcher.expect(state_topic)).payload)
        # the strap goes stale: the next state says the coach holds the speed
        session.set_state(replace(session.state, hr_signal="stale", hr_holding=True))
        stale = json.loads(
            (
                await watcher.expect(state_topic, lambda m: json.loads(m.payload)["hr_holding"])
            ).payload
        )
    assert first["heart_rate_bpm"] == 128
    assert first["hr_zone"] == {"low": 115, "high": 130}
    assert (first["hr_signal"], first["hr_zone_state"], first["hr_holding"]) == ("ok", "in", False)
    assert first["strap_connected"] is True
    assert (stale["hr_signal"], stale["hr_holding"]) == ("stale", True)


async def test_state_without_a_strap_has_no_heart_rate_zone_or_signal(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    bridge = make_bridge(session, mosquitto, device_id)
    state_topic = topics.state_topic(device_id)
    async with Watcher(mosquitto.host, mosquitto.port, state_topic) as watcher, running(bridge):
        state = json.loads((await watcher.expect(state_topic)).payload)
    assert state["heart_rate_bpm"] == 118  # the belt's own
    assert (state["strap_connected"], state["hr_signal"], state["hr_zone"]) == (None, None, None)
    assert state["hr_holding"] is False


async def test_segment_change_publishes_state_without_waiting_for_the_tick(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    # A tick far in the future: the only way a second state can arrive is the event path.
    bridge = make_bridge(session, mosquitto, device_id, state_interval_s=60.0)
    state_topic = topics.state_topic(device_id)
    async with Watcher(mosquitto.host, mosquitto.port, state_topic) as watcher, running(bridge):
        await watcher.expect(state_topic)  # the one sent on connect
        session.set_state_quietly(replace(session.state, cue="turn"))
        session.emit(
            SegmentStarted(
                t=1.0, index=4, kind=SegmentKind.TURNAROUND, target_kmh=1.0, duration_s=8
            )
        )
        message = await watcher.expect(state_topic)
    assert StatePayload.model_validate_json(message.payload).cue == "turn"


# --- availability -------------------------------------------------------------------------------


async def test_availability_is_online_while_running_and_offline_after_a_clean_exit(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    topic = topics.availability_topic(device_id)
    bridge = make_bridge(running_session(), mosquitto, device_id)
    async with Watcher(mosquitto.host, mosquitto.port, topic) as watcher:
        async with running(bridge):
            assert (await watcher.expect(topic)).payload == b"online"
        assert (await watcher.expect(topic)).payload == b"offline"
    assert bridge.connected is False
    # Retained: someone subscribing later still learns the bridge is gone.
    async with Watcher(mosquitto.host, mosquitto.port, topic) as late:
        message = await late.expect(topic)
    assert (message.payload, message.retain) == (b"offline", True)


async def test_last_will_says_offline_when_the_bridge_process_dies(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    topic = topics.availability_topic(device_id)
    child = Path(__file__).with_name("bridge_child.py")
    async with Watcher(mosquitto.host, mosquitto.port, topic) as watcher:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(child),
            mosquitto.host,
            str(mosquitto.port),
            device_id,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        try:
            await watcher.expect(topic, lambda m: m.payload == b"online", within=15)
            process.send_signal(signal.SIGKILL)  # no goodbye: only the broker's will can tell
            message = await watcher.expect(topic, within=10)
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
    assert message.payload == b"offline"


# --- Home Assistant discovery -------------------------------------------------------------------


async def test_discovery_configs_are_retained_valid_json_with_unique_ids_and_device(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    prefix = f"ha_{device_id}"
    status = Status()
    bridge = make_bridge(running_session(), mosquitto, device_id, on_status=status)
    async with running(bridge):
        await status.wait_for(True)  # configs are sent by now; retained, so a late subscriber...
        async with Watcher(mosquitto.host, mosquitto.port, f"{prefix}/#") as watcher:
            messages = await watcher.collect(f"{prefix}/+/+/config")  # ...gets them all
    configs = {m.topic.value: json.loads(m.payload) for m in messages if m.payload}
    assert all(m.retain for m in messages)
    assert len(configs) >= 12
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    for topic, config in configs.items():
        component = topic.split("/")[1]
        assert topic == f"{prefix}/{component}/{config['unique_id']}/config"
        assert device_id in config["unique_id"]
        assert config["availability_topic"] == topics.availability_topic(device_id)
        assert config["device"]["identifiers"] == [f"treadcoach_{device_id}"]
        assert config["device"]["manufacturer"] == "treadcoach"
        assert config["origin"]["name"] == "treadcoach"
        assert config["default_entity_id"].startswith(f"{component}.")
    by_id = {c["unique_id"]: c for c in configs.values()}
    speed = by_id[f"treadcoach_{device_id}_speed"]
    assert (speed["device_class"], speed["unit_of_measurement"]) == ("speed", "km/h")
    assert speed["state_topic"] == topics.state_topic(device_id)
    stop = by_id[f"treadcoach_{device_id}_stop"]
    assert (stop["command_topic"], stop["payload_press"]) == (
        topics.command_topic(device_id),
        "stop",
    )
    assert by_id[f"treadcoach_{device_id}_running"]["device_class"] == "running"
    heart = by_id[f"treadcoach_{device_id}_heart_rate"]
    assert "device_class" not in heart  # Home Assistant has no heart-rate device class
    assert (heart["unit_of_measurement"], heart["state_class"], heart["icon"]) == (
        "bpm",
        "measurement",
        "mdi:heart-pulse",
    )
    assert heart["state_topic"] == topics.state_topic(device_id)
    assert heart["value_template"] == "{{ value_json.heart_rate_bpm }}"
    dizzy = by_id[f"treadcoach_{device_id}_stop_dizzy"]
    assert (dizzy["command_topic"], dizzy["payload_press"]) == (
        topics.command_topic(device_id),
        "stop dizzy",
    )
    # Without remote control there is no resume button: its config is an empty (delete) payload.
    assert f"treadcoach_{device_id}_resume" not in by_id


async def test_home_assistant_birth_makes_the_bridge_resend_discovery(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    prefix = f"ha_{device_id}"
    speed_config = f"{prefix}/sensor/treadcoach_{device_id}_speed/config"
    bridge = make_bridge(running_session(), mosquitto, device_id)
    async with (
        Watcher(
            mosquitto.host, mosquitto.port, speed_config, topics.availability_topic(device_id)
        ) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        await watcher.expect(speed_config)
        await watcher.publish(f"{prefix}/status", "online")
        resent = await watcher.expect(speed_config, lambda m: not m.retain)
    assert json.loads(resent.payload)["unique_id"] == f"treadcoach_{device_id}_speed"


# --- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stop",
    [
        "stop",
        # any JSON object whose command is stop, in any case, extra keys allowed (issue 12 n)
        '{"command": "STOP", "source": "home assistant"}',
        '{"command": "stop", "kmh": 3}',
    ],
)
async def test_stop_on_the_command_topic_reaches_request_stop(
    mosquitto: LocalMosquitto, device_id: str, stop: str
) -> None:
    session = running_session()
    bridge = make_bridge(session, mosquitto, device_id)
    command = topics.command_topic(device_id)
    async with (
        Watcher(mosquitto.host, mosquitto.port, topics.availability_topic(device_id)) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        await watcher.publish(command, stop)
        await watcher.publish(command, "PAUSE\n")
        calls = await session.wait_calls(2)
    assert calls == [
        ("stop", StopReason.MQTT, f"mqtt command on {command}"),
        ("pause", StopReason.MQTT),
    ]


async def test_a_stop_is_acted_on_in_the_sockets_read_callback_before_any_loop_turn(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    """No loop turn between the bytes and ``request_stop``: a screen repaint or another task
    that is ready meanwhile cannot run ahead of the stop (bench stop-latency, MQTT path)."""
    session = running_session()
    seen: list[bool] = []
    request_stop = session.request_stop

    def stop_from_the_read_callback(reason: StopReason, detail: str = "") -> None:
        frames = {frame.name for frame in traceback.extract_stack()}
        seen.append("loop_read" in frames)  # paho's socket read, called by the loop's reader
        request_stop(reason, detail)

    session.request_stop = stop_from_the_read_callback  # type: ignore[method-assign]
    bridge = make_bridge(session, mosquitto, device_id)
    async with (
        Watcher(mosquitto.host, mosquitto.port, topics.availability_topic(device_id)) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        await watcher.publish(topics.command_topic(device_id), "stop")
        await session.wait_calls(1)
    assert seen == [True]


@pytest.mark.parametrize(
    "stop", ["stop dizzy", "STOP DIZZY", '{"command":"stop","reason":"dizzy"}']
)
async def test_stop_dizzy_on_the_command_topic_is_the_dizzy_stop(
    mosquitto: LocalMosquitto, device_id: str, stop: str
) -> None:
    session = running_session()
    bridge = make_bridge(session, mosquitto, device_id)
    command = topics.command_topic(device_id)
    result_topic = topics.command_result_topic(device_id)
    async with (
        Watcher(
            mosquitto.host, mosquitto.port, topics.availability_topic(device_id), result_topic
        ) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        await watcher.publish(command, "stop")  # an ordinary stop, then the dizzy one upgrades it
        await watcher.publish(command, stop)
        calls = await session.wait_calls(2)
        result = await watcher.expect(result_topic, lambda m: b"dizzy" in m.payload)
    assert calls == [
        ("stop", StopReason.MQTT, f"mqtt command on {command}"),
        ("stop", StopReason.DIZZY, f"mqtt command on {command}"),
    ]
    assert json.loads(result.payload)["accepted"] is True


async def test_speed_and_resume_are_refused_unless_remote_control_is_enabled(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    bridge = make_bridge(session, mosquitto, device_id)
    command, result = topics.command_topic(device_id), topics.command_result_topic(device_id)
    async with (
        Watcher(
            mosquitto.host, mosquitto.port, topics.availability_topic(device_id), result
        ) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        await watcher.publish(command, "speed 9")
        await watcher.publish(command, '{"command": "resume"}')
        refusals = [json.loads((await watcher.expect(result)).payload) for _ in range(2)]
        await watcher.publish(command, "stop")  # same topic, same QoS: arrives after the two above
        calls = await session.wait_calls(1)
    assert calls == [("stop", StopReason.MQTT, f"mqtt command on {command}")]
    assert [(r["command"], r["accepted"]) for r in refusals] == [
        ("speed", False),
        ("resume", False),
    ]
    assert "remote control" in refusals[0]["detail"]


async def test_speed_and_resume_are_passed_on_when_remote_control_is_enabled(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    bridge = make_bridge(session, mosquitto, device_id, remote_control=True)
    command = topics.command_topic(device_id)
    async with (
        Watcher(mosquitto.host, mosquitto.port, topics.availability_topic(device_id)) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        await watcher.publish(command, "speed 9")
        await watcher.publish(command, '{"command": "speed", "kmh": 4.5}')
        await watcher.publish(command, "resume")
        calls = await session.wait_calls(3)
    assert calls == [
        ("speed", 9.0, StopReason.MQTT),
        ("speed", 4.5, StopReason.MQTT),
        ("resume", StopReason.MQTT),
    ]


GARBAGE = [
    b"",
    b"\xff\xfe\x00stop",
    b"stop now please",
    b"speed",
    b"speed nan",
    b"speed inf",
    b"speed -3",
    b"speed 400",
    b"{not json",
    b'{"command": "explode"}',
    b'{"command": "speed"}',
    b"[1, 2, 3]",
    b"x" * 100_000,
]


async def test_garbage_commands_are_ignored_and_the_bridge_keeps_serving(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    status = Status()
    bridge = make_bridge(session, mosquitto, device_id, remote_control=True, on_status=status)
    command = topics.command_topic(device_id)
    async with (
        Watcher(mosquitto.host, mosquitto.port, topics.availability_topic(device_id)) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        for payload in GARBAGE:
            await watcher.publish(command, payload)
        await watcher.publish(command, "stop")
        calls = await session.wait_calls(1)
        assert bridge.connected
        assert [connected for connected, _ in status.history] == [True]  # never dropped
    assert calls == [("stop", StopReason.MQTT, f"mqtt command on {command}")]


async def test_a_retained_command_is_not_acted_on(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    command = topics.command_topic(device_id)
    bridge = make_bridge(session, mosquitto, device_id, remote_control=True)
    async with Watcher(
        mosquitto.host, mosquitto.port, topics.availability_topic(device_id)
    ) as watcher:
        await watcher.publish(command, "speed 12", retain=True)  # stale, from before the session
        async with running(bridge):
            await online(watcher, device_id)
            await watcher.publish(command, "pause")
            calls = await session.wait_calls(1)
        await watcher.publish(command, b"", retain=True)  # clear it
    assert calls == [("pause", StopReason.MQTT)]


# --- MQTT buttons -------------------------------------------------------------------------------


async def test_mqtt_buttons_stop_on_their_payload_only(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    session = running_session()
    z2m = f"zigbee2mqtt/{device_id}_button"
    plain = f"buttons/{device_id}/action"
    bridge = make_bridge(
        session, mosquitto, device_id, buttons=[(z2m, "action=single"), (plain, "press")]
    )
    async with (
        Watcher(mosquitto.host, mosquitto.port, topics.availability_topic(device_id)) as watcher,
        running(bridge),
    ):
        await online(watcher, device_id)
        # What zigbee2mqtt sends for a battery report, a double press, then a single press.
        await watcher.publish(z2m, '{"battery": 97, "linkquality": 120, "voltage": 3000}')
        await watcher.publish(z2m, '{"action": "double", "battery": 97, "linkquality": 120}')
        await watcher.publish(plain, "release")
        await watcher.publish(z2m, '{"action": "single", "battery": 97, "linkquality": 117}')
        await watcher.publish(plain, "press")
        calls = await session.wait_calls(2)
    assert calls == [
        ("stop", StopReason.MQTT, f"mqtt button {z2m}"),
        ("stop", StopReason.MQTT, f"mqtt button {plain}"),
    ]


# --- broker outages -----------------------------------------------------------------------------


async def test_broker_down_at_start_is_retried_until_it_comes_up(
    own_mosquitto: LocalMosquitto, device_id: str
) -> None:
    own_mosquitto.stop()
    session, status = running_session(), Status()
    bridge = make_bridge(session, own_mosquitto, device_id, on_status=status)
    async with running(bridge):
        detail = await status.wait_for(False)
        await status.wait_for(False)  # and again: it keeps trying
        assert not bridge.connected
        assert "retrying" in detail
        own_mosquitto.start()
        await status.wait_for(True)
        assert bridge.connected
        async with Watcher(own_mosquitto.host, own_mosquitto.port) as watcher:
            await watcher.publish(topics.command_topic(device_id), "stop")
            await session.wait_calls(1)


async def test_broker_restart_mid_session_reconnects_and_republishes(
    own_mosquitto: LocalMosquitto, device_id: str
) -> None:
    session, status = running_session(), Status()
    bridge = make_bridge(session, own_mosquitto, device_id, on_status=status)
    prefix = f"ha_{device_id}"
    async with running(bridge) as task:
        await status.wait_for(True)
        own_mosquitto.kill()
        await status.wait_for(False)
        assert not bridge.connected
        assert not task.done()
        own_mosquitto.start()  # same port, and no persistence: it has forgotten every retained message
        await status.wait_for(True)
        async with Watcher(
            own_mosquitto.host,
            own_mosquitto.port,
            topics.availability_topic(device_id),
            f"{prefix}/+/+/config",
        ) as watcher:
            await online(watcher, device_id)
            config = await watcher.expect(f"{prefix}/sensor/+/config")
            await watcher.publish(topics.command_topic(device_id), "stop")
            await session.wait_calls(1)
    assert config.retain
    assert [connected for connected, _ in status.history][:3] == [True, False, True]


async def test_wrong_password_is_reported_and_retried_and_right_one_connects(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    assert mosquitto.auth_port is not None
    status = Status()
    wrong = make_bridge(
        running_session(),
        mosquitto,
        f"{device_id}_w",
        port=mosquitto.auth_port,
        username="coach",
        password="wrong",
        on_status=status,
    )
    async with running(wrong):
        detail = await status.wait_for(False)
    assert "not authori" in detail.lower()
    status = Status()
    right = make_bridge(
        running_session(),
        mosquitto,
        device_id,
        port=mosquitto.auth_port,
        username="coach",
        password="s3cret",
        on_status=status,
    )
    async with running(right):
        await status.wait_for(True)


async def test_tls_connects_with_the_brokers_ca_and_refuses_an_unknown_certificate(
    tls_mosquitto: LocalMosquitto, device_id: str
) -> None:
    assert tls_mosquitto.tls_port is not None
    status = Status()
    untrusted = make_bridge(
        running_session(), tls_mosquitto, f"{device_id}_u", port=tls_mosquitto.tls_port,
        tls_context=make_tls_context(), on_status=status,
    )  # fmt: skip
    async with running(untrusted):
        detail = await status.wait_for(False)
    assert "certificate" in detail.lower()
    status = Status()
    trusted = make_bridge(
        running_session(), tls_mosquitto, device_id, port=tls_mosquitto.tls_port,
        tls_context=make_tls_context(tls_mosquitto.ca_file), on_status=status,
    )  # fmt: skip
    async with running(trusted):
        await status.wait_for(True)


async def test_cancelling_a_bridge_that_never_connected_returns_promptly(device_id: str) -> None:
    session = running_session()
    bridge = MqttBridge(
        session, hostname="127.0.0.1", port=free_port(), device_id=device_id, reconnect_min_s=5.0
    )
    async with running(bridge):
        await asyncio.sleep(0.05)
    assert session.listeners == []  # the bridge removed its session listener


async def test_cancelling_mid_publish_always_ends_the_bridge(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    # Python 3.11's asyncio.wait_for (inside aiomqtt) can swallow a cancel that lands together
    # with the broker's answer; a bridge that publishes non-stop must still end when cancelled,
    # or the session's TaskGroup would wait for it for ever.
    rng = random.Random(7)
    for round_ in range(25):
        status = Status()
        bridge = make_bridge(
            running_session(),
            mosquitto,
            f"{device_id}_{round_}",
            discovery=False,
            state_interval_s=0.0005,
            on_status=status,
        )
        task = asyncio.create_task(bridge.run())
        await status.wait_for(True)
        await asyncio.sleep(rng.uniform(0, 0.01))
        task.cancel()
        async with asyncio.timeout(5):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_stop_latency_benchmark_measures_each_stop(mosquitto: LocalMosquitto) -> None:
    samples = await mqtt_stop_latency(mosquitto.host, mosquitto.port, n=5, warmup=1)
    assert len(samples) == 5
    assert all(s > 0 for s in samples)
    assert set(latency_summary(samples)) >= {"n", "p50_ms", "p99_ms"}
