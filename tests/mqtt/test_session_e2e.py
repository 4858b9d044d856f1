"""End to end on real time: the session controller driving the simulator, bridged to mosquitto.

A ``stop`` on the command topic must stop the simulated belt through the session's one stop path,
and a broker killed and restarted mid-session must leave the session running and the bridge back.
"""

from __future__ import annotations

import asyncio

import pytest
from mqtt_doubles import Status, Watcher

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, expand
from treadcoach.coach.state import Phase
from treadcoach.link import TreadmillLink
from treadcoach.mqtt import topics
from treadcoach.mqtt.bridge import MqttBridge
from treadcoach.mqtt.localbroker import LocalMosquitto
from treadcoach.safety.reasons import StopReason

pytestmark = pytest.mark.timeout(40)

WALK = """
name = "walk"
title = "Walk"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 600
speed = 3.0
"""


async def test_mqtt_stop_stops_the_simulated_belt_after_a_broker_restart(
    own_mosquitto: LocalMosquitto, device_id: str
) -> None:
    events: list[Event] = []
    status = Status()
    moving = asyncio.Event()

    def watch(event: Event) -> None:
        events.append(event)
        if event.event == "telemetry" and event.speed_kmh > 0.5:
            moving.set()

    async with SimTreadmill(name="SimTread", notify_hz=10) as treadmill:
        controller = SessionController(
            lambda: TreadmillLink(
                treadmill.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
            ),
            expand(parse_plan(WALK, "walk.toml"), Caps()),
            SessionConfig(plan_name="walk", simulated=True),
        )
        controller.add_listener(watch)
        bridge = MqttBridge(
            controller,
            hostname=own_mosquitto.host,
            port=own_mosquitto.port,
            device_id=device_id,
            discovery=False,
            reconnect_min_s=0.05,
            reconnect_max_s=0.2,
            on_status=status,
        )
        async with asyncio.TaskGroup() as tasks:
            session = tasks.create_task(controller.run())
            bridge_task = tasks.create_task(bridge.run())
            await status.wait_for(True)
            async with asyncio.timeout(10):
                await moving.wait()

            own_mosquitto.kill()
            await status.wait_for(False)
            own_mosquitto.start()
            await status.wait_for(True)
            assert controller.state.phase is Phase.RUNNING  # the outage never touched the session
            assert treadmill.belt_speed_kmh > 0.5

            async with Watcher(own_mosquitto.host, own_mosquitto.port) as remote:
                await remote.publish(topics.command_topic(device_id), "stop")
                async with asyncio.timeout(30):
                    summary = await asyncio.shield(session)
            bridge_task.cancel()

    stops = [e for e in events if e.event == "stop"]
    assert [(s.reason, s.detail) for s in stops] == [  # type: ignore[union-attr]
        (StopReason.MQTT, f"mqtt command on {topics.command_topic(device_id)}")
    ]
    assert not summary.completed
    assert treadmill.server.target_speed_kmh == 0.0
