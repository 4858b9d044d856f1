"""Helpers for the link tests (imported as ``link_helpers``; conftest.py fixes ``import sim``)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bleak.backends.client import BaseBleakClient
from bleak.exc import BleakDeviceNotFoundError, BleakError

from sim.bleak_backend import SimBleakClient
from treadcoach.clock import run
from treadcoach.ftms import uuids
from treadcoach.link import LinkEvent, TreadmillLink

T = TypeVar("T")
E = TypeVar("E")


def on_virtual_time(scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` on the virtual clock (no sleeping, no wall time)."""

    async def main() -> T:
        return await scenario()

    return run(main(), speedup=math.inf)


async def next_event(link: TreadmillLink, kind: type[E], within_s: float = 60.0) -> E:
    """The next event of type ``kind`` from the link (earlier events of other types skipped)."""
    async with asyncio.timeout(within_s):
        async for event in link.events():
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the event stream ended before a {kind.__name__}")


async def until(condition: Callable[[], bool], within_s: float, what: str) -> None:
    """Wait (loop time) until ``condition()`` holds; fail naming ``what`` after ``within_s``.

    For what a real radio reports a connection event later than the call that caused it (a
    peripheral learns of a hang-up when LL_TERMINATE_IND reaches it), where the fake reports it
    at once."""
    try:
        async with asyncio.timeout(within_s):
            # the simulator has no event for these (a state, not a notification): poll it
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"not {what} within {within_s} s") from None


async def collect(link: TreadmillLink, for_s: float) -> list[LinkEvent]:
    """Every event the link yields during the next ``for_s`` seconds (loop clock)."""
    events: list[LinkEvent] = []
    try:
        async with asyncio.timeout(for_s):
            async for event in link.events():
                events.append(event)
    except TimeoutError:
        pass
    return events


@dataclass
class Wire:
    """A scriptable bleak backend around a real one, for faults the simulator has no knob for:
    what a real stack does around the same machine (a slow connect, a write that leaks a
    CancelledError, a connection interval's delay, a machine that refuses Stop after 0xFF).

    ``client(base)`` wraps any client backend, so a Wire test runs over every transport
    (``Transport.link(wrap_client=wire.client)``). A scripted answer (``answers``) or
    ``notify`` is handed to the link's callback directly, the way the backend would deliver
    it, without crossing the radio; everything else crosses it.

    Everything not scripted goes through the wrapped backend (the fake's ``SimBleakClient`` or
    bumble's) to the simulated treadmill.
    """

    #: every control-point write, and the loop time it was made
    writes: list[bytes] = field(default_factory=list)
    write_times: list[float] = field(default_factory=list)
    #: called with each control-point write before it goes out (may inject a fault, call stop)
    before_write: Callable[[bytes], None] | None = None
    #: held this long before each control-point write reaches the machine
    write_delay_s: float = 0.0
    #: the machine's answer replaced: control-point writes with these bytes get this indication
    answers: dict[bytes, bytes] = field(default_factory=dict)
    #: raised (each once, in order) by the next control-point writes instead of writing
    write_raises: list[BaseException] = field(default_factory=list)
    #: a connect (with discovery) takes this long, as over a real stack
    connect_delay_s: float = 0.0
    #: connects fail (the treadmill is out of range)
    unreachable: bool = False
    #: raised (each once, in order) by the next connects
    connect_raises: list[BaseException] = field(default_factory=list)
    #: reads of these characteristics fail
    unreadable: set[str] = field(default_factory=set)
    #: notifications on these characteristics are not delivered
    muted: set[str] = field(default_factory=set)
    callbacks: dict[str, Callable[[bytearray], None]] = field(default_factory=dict)
    #: called with (uuid, data) of each notification or indication right after the link's
    #: callback ran, inside it: what it delivers is the next PDU of the same connection event,
    #: there before any task woken by this one runs
    after_delivery: Callable[[str, bytes], None] | None = None

    def notify(self, uuid: str, data: bytes) -> None:
        """Deliver ``data`` on ``uuid`` as the machine would (soon, not inside the caller)."""
        asyncio.get_running_loop().call_soon(self.callbacks[uuid], bytearray(data))

    def client(self, base: type[BaseBleakClient] = SimBleakClient) -> type[BaseBleakClient]:
        """``base`` (the fake's client, or bumble's: ``Transport.link(wrap_client=wire.client)``)
        with this script around it."""
        wire = self

        class ScriptedClient(base):  # type: ignore[valid-type, misc]
            async def connect(self, pair: bool = False, **kwargs: Any) -> None:
                await asyncio.sleep(wire.connect_delay_s)
                if wire.connect_raises:
                    raise wire.connect_raises.pop(0)
                if wire.unreachable:
                    raise BleakDeviceNotFoundError(self.address, "out of range")
                await super().connect(pair, **kwargs)

            async def read_gatt_char(self, characteristic: Any, **kwargs: Any) -> bytearray:
                if characteristic.uuid in wire.unreadable:
                    raise BleakError("read failed")
                return await super().read_gatt_char(characteristic, **kwargs)

            async def start_notify(self, characteristic: Any, callback: Any, **kwargs: Any) -> None:
                uuid = characteristic.uuid

                def deliver(data: bytearray) -> None:
                    if uuid not in wire.muted:
                        callback(data)
                        if wire.after_delivery is not None:
                            wire.after_delivery(uuid, bytes(data))

                wire.callbacks[uuid] = callback
                await super().start_notify(characteristic, deliver, **kwargs)

            async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
                raw = bytes(data)
                if characteristic.uuid != uuids.CONTROL_POINT_UUID:
                    await super().write_gatt_char(characteristic, data, response)
                    return
                wire.writes.append(raw)
                wire.write_times.append(asyncio.get_running_loop().time())
                if wire.before_write is not None:
                    wire.before_write(raw)
                if wire.write_raises:
                    raise wire.write_raises.pop(0)
                if wire.write_delay_s:
                    await asyncio.sleep(wire.write_delay_s)
                if raw in wire.answers:
                    wire.notify(uuids.CONTROL_POINT_UUID, wire.answers[raw])
                    return
                await super().write_gatt_char(characteristic, data, response)

        return ScriptedClient


def once(action: Callable[[bytes], None], when: bytes) -> Callable[[bytes], None]:
    """A ``before_write`` hook that runs ``action`` on the first write of ``when``, then never."""
    done = False

    def hook(data: bytes) -> None:
        nonlocal done
        if not done and data == when:
            done = True
            action(data)

    return hook
