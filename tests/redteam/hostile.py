"""A hostile treadmill for the red-team tests: the simulator behind bleak's backend seam, with
scripted answers that the simulator has no knob for (an answer replaced by a sequence, a status
notification right after an answer, a write latency).

Everything not scripted goes to the real ``sim.SimTreadmill`` through ``SimBleakClient``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from bleak.backends.client import BaseBleakClient
from link_helpers import Wire

import sim
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.ftms import uuids
from treadcoach.link import TreadmillLink

CP = uuids.CONTROL_POINT_UUID
STATUS = uuids.MACHINE_STATUS_UUID


@dataclass
class Hostile(Wire):
    """``Wire`` plus: ``scripts[bytes]`` -- a list of actions, one per write of those bytes; each
    action gets the hostile wire and returns True when it answered in place of the machine."""

    scripts: dict[bytes, list[Callable[[Hostile], bool]]] = field(default_factory=dict)

    def cp_answer(self, data: bytes) -> None:
        self.notify(CP, data)

    def status(self, data: bytes) -> None:
        self.notify(STATUS, data)

    def client(self) -> type[SimBleakClient]:
        base = super().client()
        wire = self

        class HostileClient(base):  # type: ignore[misc, valid-type]
            async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
                raw = bytes(data)
                if characteristic.uuid == CP and wire.scripts.get(raw):
                    action = wire.scripts[raw].pop(0)
                    wire.writes.append(raw)
                    wire.write_times.append(asyncio.get_running_loop().time())
                    if wire.write_delay_s:
                        await asyncio.sleep(wire.write_delay_s)
                    if action(wire):
                        return
                    await SimBleakClient.write_gatt_char(self, characteristic, data, response)
                    return
                await super().write_gatt_char(characteristic, data, response)

        return HostileClient


def answer(
    *indication: int, then_status: bytes | None = None, status_after_s: float = 0.0
) -> Callable[[Hostile], bool]:
    """An action: answer with ``indication`` (and a Machine Status ``status_after_s`` later)."""

    def act(wire: Hostile) -> bool:
        wire.cp_answer(bytes(indication))
        if then_status is not None:
            data = then_status
            if status_after_s:
                asyncio.get_running_loop().call_later(status_after_s, wire.status, data)
            else:
                wire.status(data)
        return True

    return act


def silent(wire: Hostile) -> bool:
    """An action: the write is taken, no answer ever comes."""
    return True


def machine(wire: Hostile) -> bool:
    """An action: let the simulated machine answer as it would."""
    return False


@contextlib.asynccontextmanager
async def sim_link(
    sim_profile: str = "standard",
    *,
    notify_hz: float = 1.0,
    client_backend: type[BaseBleakClient] = SimBleakClient,
    **link_kwargs: Any,
) -> AsyncIterator[tuple[sim.SimTreadmill, TreadmillLink]]:
    """A simulated treadmill and a link to it over the in-process fake (these breaks script
    the fake's answers; tests/transports.py runs tests/link over the real stack too)."""
    async with sim.SimTreadmill(profile=sim_profile, notify_hz=notify_hz) as treadmill:
        link = TreadmillLink(
            treadmill.address,
            client_backend=client_backend,
            scanner_backend=SimBleakScanner,
            **link_kwargs,
        )
        async with link:
            yield treadmill, link
