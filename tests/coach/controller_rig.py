"""A session rig for the controller tests: controller + real TreadmillLink + simulator, on virtual
time, recording every control-point write as the simulator receives it.

The treadmill's console is played through the simulator's own state (what a person at the
console does to the belt); nothing of the controller or the link is replaced.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bleak.backends.characteristic import BleakGATTCharacteristic

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from sim.server import WriteOutcome
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, Stop, Summary
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.ports import HeartPort
from treadcoach.coach.schedule import Caps, Step, backward_time_s, expand
from treadcoach.ftms import ControlResponse, ResultCode, encode_control_response
from treadcoach.link import TreadmillLink

SET_SPEED, START, STOP_PAUSE, REQUEST_CONTROL = 0x02, 0x07, 0x08, 0x00

PLAN = """
name = "short"
title = "Short"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 60
speed = 4.0

[[segments]]
kind = "backward_walk"
duration = 90
speed = 9.0          # clamped to 4.83 -> 4.8

[[segments]]
kind = "cooldown"
duration = 60
speed = 3.5
"""
# warm-up 0-60 s, turnaround 60-68 s, backward 68-158 s, turnaround 158-166 s, cool-down 166-226 s


def plan_steps(text: str = PLAN, caps: Caps | None = None) -> list[Step]:
    return expand(parse_plan(text, "plan.toml"), caps or Caps())


@dataclass(frozen=True)
class Write:
    t: float  # seconds since the session started
    data: bytes

    @property
    def opcode(self) -> int:
        return self.data[0]

    @property
    def kmh(self) -> float:
        assert self.opcode == SET_SPEED
        return int.from_bytes(self.data[1:3], "little") / 100


class RecordingClient(SimBleakClient):
    """The simulator's bleak backend, recording each control-point write (bleak's own seam)."""

    log: ClassVar[list[tuple[float, bytes]]] = []
    #: called with each write just before the treadmill gets it (to make things happen while
    #: a command is in flight); cleared by run_session
    before_write: ClassVar[Callable[[bytes], None] | None] = None

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        RecordingClient.log.append((asyncio.get_running_loop().time(), bytes(data)))
        if RecordingClient.before_write is not None:
            RecordingClient.before_write(bytes(data))
        await super().write_gatt_char(characteristic, data, response)


@dataclass
class Run:
    events: list[Event] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    summary: Summary | None = None
    belt_target_kmh: float | None = None
    belt_speed_kmh: float | None = None
    controller: SessionController | None = None

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.event == kind]

    def faults(self) -> list[str]:
        return [e.kind for e in self.of("fault")]

    def cues(self, kind: str | None = None) -> list[Any]:
        return [c for c in self.of("cue") if kind is None or c.kind == kind]

    @property
    def stop(self) -> Stop:
        stops = self.of("stop")
        assert len(stops) == 1, stops
        stop = stops[0]
        assert isinstance(stop, Stop)
        return stop

    def speeds_after(self, t: float) -> list[Write]:
        return [w for w in self.writes if w.t > t and w.opcode == SET_SPEED]


Scenario = Callable[[SimTreadmill, SessionController], Awaitable[None]]


async def _nothing(treadmill: SimTreadmill, controller: SessionController) -> None:
    return None


def run_session(
    steps: list[Step] | None = None,
    *,
    faults: tuple[str, ...] = (),
    during: Scenario = _nothing,
    config: SessionConfig | None = None,
    link_class: type[TreadmillLink] = TreadmillLink,
    notify_hz: float = 1.0,
    profile: str = "standard",
    heart: HeartPort | None = None,
) -> Run:
    """One whole session on virtual time; its events, its writes and the belt at the end."""
    steps = steps or plan_steps()
    result = Run()
    RecordingClient.log = []
    RecordingClient.before_write = None

    async def scenario() -> None:
        t0 = asyncio.get_running_loop().time()
        async with SimTreadmill(
            name="SimTread", profile=profile, faults=faults, notify_hz=notify_hz
        ) as treadmill:

            def link() -> TreadmillLink:
                return link_class(
                    treadmill.address,
                    client_backend=RecordingClient,
                    scanner_backend=SimBleakScanner,
                    max_reconnect_s=20.0,
                )

            controller = SessionController(
                link,
                steps,
                config or SessionConfig(plan_name="short", simulated=True),
                planned_backward_s=backward_time_s(steps),
                heart=heart,
            )
            result.controller = controller
            controller.add_listener(result.events.append)
            async with asyncio.TaskGroup() as tg:
                session = tg.create_task(controller.run())
                tg.create_task(during(treadmill, controller))
            result.summary = session.result()
            result.belt_target_kmh = treadmill.target_speed_kmh
            result.belt_speed_kmh = treadmill.belt_speed_kmh
        result.writes = [Write(round(at - t0, 3), data) for at, data in RecordingClient.log]

    clock.run(scenario(), speedup=math.inf)
    return result


def hold_config(**changes: Any) -> SessionConfig:
    """The TUI's session: 0xFF holds the plan until the user takes control back."""
    return SessionConfig(plan_name="short", simulated=True, end_on_control_lost=False, **changes)


# --- the person at the console ------------------------------------------------------------------


def console_sets_speed(treadmill: SimTreadmill, kmh: float) -> None:
    """Someone at the console turns the speed to ``kmh`` (the belt ramps there on its own)."""
    treadmill.belt_speed_kmh  # noqa: B018 -- brings the physics up to now first
    treadmill.server.target_speed_kmh = kmh
    treadmill.server.belt.target_kmh = kmh


def console_keeps_control(treadmill: SimTreadmill) -> Callable[[], None]:
    """The console holds on to control: every control-point write, Request Control included, is
    answered 0x05 (control not permitted). Returns a function that lets go."""
    server = treadmill.server
    original = server.write_control_point

    def refuse(data: bytes) -> WriteOutcome:
        response = ControlResponse(data[0], ResultCode.CONTROL_NOT_PERMITTED)
        return WriteOutcome(encode_control_response(response))

    server.write_control_point = refuse  # type: ignore[method-assign]
    return lambda: setattr(server, "write_control_point", original)
