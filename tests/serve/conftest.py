"""A session on the simulator (real time) with its view channel, for the serve tests."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, Summary
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, expand
from treadcoach.link import TreadmillLink
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import WatchLimits
from treadcoach.serve.channel import ViewChannel

TOKEN = "right-token"

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
class Served:
    treadmill: SimTreadmill
    controller: SessionController
    channel: ViewChannel
    path: Path
    session: asyncio.Task[Summary]
    events: list[Event] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    moving: asyncio.Event = field(default_factory=asyncio.Event)
    view_lost: asyncio.Event = field(default_factory=asyncio.Event)

    def stops_written(self) -> int:
        """How many ``08 01`` (Stop) writes reached the simulated treadmill."""
        return sum(1 for w in self.treadmill.writes if w.data == b"\x08\x01")

    async def wait_moving(self) -> None:
        async with asyncio.timeout(15):
            await self.moving.wait()


def socket_path() -> Path:
    # Unix socket paths are limited to ~100 bytes: pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="tc-serve-")) / "session.sock"


@contextlib.asynccontextmanager
async def served_session(notify_hz: float = 10) -> AsyncIterator[Served]:
    async with SimTreadmill(name="SimTread", notify_hz=notify_hz) as treadmill:
        controller = SessionController(
            lambda: TreadmillLink(
                treadmill.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
            ),
            expand(parse_plan(WALK, "walk.toml"), Caps()),
            # real time beside a browser and Pilot on a 2-core CI box: a loaded moment is not
            # what these tests are about (the stale watchdog has its own tests)
            SessionConfig(plan_name="walk", simulated=True, watch=WatchLimits(stale_after_s=10.0)),
        )
        lost: list[str] = []
        lost_event = asyncio.Event()

        def view_lost(detail: str) -> None:
            lost.append(detail)
            lost_event.set()

        channel = ViewChannel(controller, socket_path(), token=TOKEN, on_view_lost=view_lost)
        async with asyncio.TaskGroup() as tasks:
            session = tasks.create_task(controller.run())
            channel_task = tasks.create_task(channel.run())
            served = Served(
                treadmill,
                controller,
                channel,
                channel.path,
                session,
                lost=lost,
                view_lost=lost_event,
            )

            def watch(event: Event) -> None:
                served.events.append(event)
                if event.event == "telemetry" and event.speed_kmh > 0.5:
                    served.moving.set()

            controller.add_listener(watch)
            await channel.ready.wait()
            try:
                yield served
            finally:
                if not session.done():
                    controller.request_stop(StopReason.QUIT)
                async with asyncio.timeout(20):
                    await asyncio.wait([session])
                channel_task.cancel()
