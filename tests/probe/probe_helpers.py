"""Run the probe, and a session with the entry it wrote, against a simulated treadmill."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from sim.quirks import press_console
from treadcoach import clock
from treadcoach.coach.events import Event, Summary
from treadcoach.coach.plan import parse_plan
from treadcoach.config import Settings, load_settings
from treadcoach.ftms import uuids
from treadcoach.link import TreadmillLink
from treadcoach.probe import Analysis, ProbeRecord, Step, analyse, entry_keys, render_entry
from treadcoach.probe._driver import ProbeAborted, ProbeOptions, Prober
from treadcoach.session import Session, SessionOptions

#: the simulator's name in ``Session(sim=True)``: a probed entry matching it is used there
SESSION_SIM_NAME = "treadcoach-sim"

# A short plan with every kind of step a session has: forward, a turnaround, backward, back.
PLAN = parse_plan(
    """
name = "probe-check"
title = "Probe check"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 40
speed = 2.5

[[segments]]
kind = "backward_walk"
duration = 40
speed = 2.5

[[segments]]
kind = "cooldown"
duration = 30
speed = 2.0
""",
    "probe-check.toml",
)


class SimConsole:
    def __init__(self, treadmill: SimTreadmill) -> None:
        self.treadmill = treadmill

    async def press(self) -> bool:
        press_console(self.treadmill)
        return True


@dataclass
class ProbeRun:
    record: ProbeRecord | None = None
    aborted: ProbeAborted | None = None
    writes: list[bytes] = field(default_factory=list)  # control-point writes, as on the air
    stop_requested_at: int | None = None  # index into writes when the test asked for a stop
    stop_requested_time: float | None = None  # loop time of that request
    #: every ``TreadmillLink.stop`` call: (loop time, take_control, index into writes)
    link_stops: list[tuple[float, bool, int]] = field(default_factory=list)
    belt_kmh_after: float = math.nan  # the simulator's truth, well after the probe ended
    target_kmh_after: float = math.nan
    max_belt_kmh: float = 0.0  # the simulator's truth, sampled at every control-point write

    @property
    def analysis(self) -> Analysis:
        assert self.record is not None, self.aborted
        return analyse(self.record)


def recording_client(run: ProbeRun, treadmill: SimTreadmill) -> type[SimBleakClient]:
    class Recording(SimBleakClient):
        async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
            if characteristic.uuid == uuids.CONTROL_POINT_UUID:
                run.writes.append(bytes(data))
                run.max_belt_kmh = max(run.max_belt_kmh, treadmill.belt_speed_kmh)
            await super().write_gatt_char(characteristic, data, response)

    return Recording


def run_probe(
    profile: str | Any,
    *,
    name: str | None = None,
    stop_at: Step | None = None,
    stop_delay_s: float = 0.0,
    fault_at: tuple[Step, str] | None = None,
) -> ProbeRun:
    """Probe a simulated treadmill on virtual time.

    ``stop_at``: the stop key is pressed ``stop_delay_s`` after that step began (a loop
    callback, as a key reader or a signal handler calls it). ``fault_at``: the simulator shows
    that fault as the step begins."""
    run = ProbeRun()

    async def scenario() -> None:
        async with SimTreadmill(name=name, profile=profile) as treadmill:
            prober: Prober | None = None
            loop = asyncio.get_running_loop()

            def press_stop() -> None:
                from treadcoach.safety.reasons import StopReason

                run.stop_requested_at = len(run.writes)
                run.stop_requested_time = loop.time()
                assert prober is not None
                prober.request_stop(StopReason.KEY, "test stop key")

            def on_step(step: Step) -> None:
                if step is stop_at:
                    loop.call_later(stop_delay_s, press_stop)
                if fault_at is not None and step is fault_at[0]:
                    loop.call_soon(treadmill.inject, fault_at[1])

            prober = Prober(
                ProbeOptions(
                    treadmill.address,
                    client_backend=recording_client(run, treadmill),
                    scanner_backend=SimBleakScanner,
                    console=SimConsole(treadmill),
                    on_step=on_step,
                )
            )
            try:
                run.record = await prober.run()
            except ProbeAborted as exc:
                run.aborted = exc
                run.record = prober.record
            await asyncio.sleep(20.0)  # long enough for any belt to coast to a stop
            run.belt_kmh_after = treadmill.belt_speed_kmh
            run.target_kmh_after = treadmill.target_speed_kmh

    real_stop = TreadmillLink.stop

    def spied_stop(self: TreadmillLink, **kwargs: Any) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        run.link_stops.append((loop.time(), bool(kwargs.get("take_control")), len(run.writes)))
        return real_stop(self, **kwargs)

    TreadmillLink.stop = spied_stop  # type: ignore[method-assign]
    try:
        clock.run(scenario(), speedup=math.inf)
    finally:
        TreadmillLink.stop = real_stop  # type: ignore[method-assign]
    return run


def entry_text(run: ProbeRun) -> str:
    return render_entry(entry_keys(run.analysis))


def settings_with(entry: str, tmp_path: Path) -> Settings:
    """The real loader, with the probed entry as the user's devices.toml."""
    path = tmp_path / "devices.toml"
    path.write_text(entry, encoding="utf-8")
    return load_settings(path)


@dataclass
class SessionRun:
    summary: Summary | None = None
    events: list[Event] = field(default_factory=list)
    belt_kmh_after: float = math.nan

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.event == kind]


def run_session(profile: str, settings: Settings) -> SessionRun:
    """A whole session (treadcoach.session.Session, simulator inside) on virtual time."""
    result = SessionRun()
    options = SessionOptions(
        plan=PLAN, sim=True, sim_profile=profile, record=False, handle_signals=False
    )
    session = Session(options, settings)
    assert session.treadmill is not None
    session.add_listener(result.events.append)

    async def scenario() -> None:
        result.summary = await session.run()

    clock.run(scenario(), speedup=math.inf)
    return result
