"""End to end on real time: the session controller driving the simulator, bridged to mosquitto.

A ``stop`` on the command topic must stop the simulated belt through the session's one stop path,
and a broker killed and restarted mid-session must leave the session running and the bridge back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mqtt_doubles import Status, Watcher

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, Stop, Summary
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


@dataclass
class Bridged:
    treadmill: SimTreadmill
    controller: SessionController
    session: asyncio.Task[Summary]
    status: Status
    events: list[Event] = field(default_factory=list)

    def stops(self) -> list[tuple[StopReason, str]]:
        return [(e.reason, e.detail) for e in self.events if isinstance(e, Stop)]


@contextlib.asynccontextmanager
async def bridged_walk(
    broker: LocalMosquitto, device_id: str, **bridge: Any
) -> AsyncIterator[Bridged]:
    """A walk on the simulator, its controller bridged to ``broker``; yields once the bridge is
    connected and the belt moves, ends once the session has."""
    status = Status()
    moving = asyncio.Event()
    async with SimTreadmill(name="SimTread", notify_hz=10) as treadmill:
        controller = SessionController(
            lambda: TreadmillLink(
                treadmill.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
            ),
            expand(parse_plan(WALK, "walk.toml"), Caps()),
            SessionConfig(plan_name="walk", simulated=True),
        )
        events: list[Event] = []

        def watch(event: Event) -> None:
            events.append(event)
            if event.event == "telemetry" and event.speed_kmh > 0.5:
                moving.set()

        controller.add_listener(watch)
        mqtt = MqttBridge(
            controller,
            hostname=broker.host,
            port=broker.port,
            device_id=device_id,
            discovery=False,
            on_status=status,
            **bridge,
        )
        async with asyncio.TaskGroup() as tasks:
            session = tasks.create_task(controller.run())
            bridge_task = tasks.create_task(mqtt.run())
            await status.wait_for(True)
            async with asyncio.timeout(10):
                await moving.wait()
            yield Bridged(treadmill, controller, session, status, events)
            bridge_task.cancel()


async def _stopped_by(
    broker: LocalMosquitto, device_id: str, bridged: Bridged, command: str
) -> Summary:
    async with Watcher(broker.host, broker.port) as remote:
        await remote.publish(topics.command_topic(device_id), command)
        async with asyncio.timeout(30):
            return await asyncio.shield(bridged.session)


async def test_mqtt_stop_stops_the_simulated_belt_after_a_broker_restart(
    own_mosquitto: LocalMosquitto, device_id: str
) -> None:
    async with bridged_walk(
        own_mosquitto, device_id, reconnect_min_s=0.05, reconnect_max_s=0.2
    ) as walk:
        own_mosquitto.kill()
        await walk.status.wait_for(False)
        own_mosquitto.start()
        await walk.status.wait_for(True)
        assert walk.controller.state.phase is Phase.RUNNING  # the outage never touched it
        assert walk.treadmill.belt_speed_kmh > 0.5
        summary = await _stopped_by(own_mosquitto, device_id, walk, "stop")
    assert walk.stops() == [(StopReason.MQTT, f"mqtt command on {topics.command_topic(device_id)}")]
    assert not summary.completed
    assert walk.treadmill.server.target_speed_kmh == 0.0


async def test_mqtt_stop_dizzy_stops_the_simulated_belt_recorded_as_dizzy(
    mosquitto: LocalMosquitto, device_id: str
) -> None:
    async with bridged_walk(mosquitto, device_id) as walk:
        summary = await _stopped_by(mosquitto, device_id, walk, "Stop Dizzy")
    assert walk.stops() == [
        (StopReason.DIZZY, f"mqtt command on {topics.command_topic(device_id)}")
    ]
    assert summary.stop_reason is StopReason.DIZZY
    assert walk.treadmill.server.target_speed_kmh == 0.0
