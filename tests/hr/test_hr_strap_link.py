"""treadcoach.link.strap against the simulated strap, through bleak's backend seam, virtual time."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar

import pytest
from bleak.exc import BleakError
from hr_helpers import virtual

from sim.bleak_backend import SimBleakClient, SimBleakScanner
from sim.strap import SimStrap, StrapFault
from sim.treadmill import SimTreadmill
from treadcoach import clock
from treadcoach.link.scan import discover_treadmills
from treadcoach.link.strap import (
    SILENT_RECONNECT_S,
    StrapBadFrame,
    StrapDown,
    StrapEvent,
    StrapLink,
    StrapReading,
    StrapUp,
    discover_straps,
    open_strap,
)

T = TypeVar("T")
SIM = {"client_backend": SimBleakClient, "scanner_backend": SimBleakScanner}


async def collect(link: StrapLink, seconds: float) -> list[StrapEvent]:
    out: list[StrapEvent] = []

    async def reader() -> None:
        async for event in link.events():
            out.append(event)

    with_timeout = asyncio.timeout(seconds)
    try:
        async with with_timeout:
            await reader()
    except TimeoutError:
        pass
    return out


@pytest.mark.parametrize("by", ["name", "address"])
def test_strap_connects_by_name_or_address_and_delivers_readings(by: str) -> None:
    async def scenario() -> tuple[list[StrapEvent], StrapLink]:
        async with SimStrap(name="SimHR Chest") as strap:
            target = "simhr" if by == "name" else strap.address.lower()
            async with open_strap(target, **SIM) as link:
                events = await collect(link, 30)
                assert link.connected
                return events, link

    events, link = virtual(scenario)
    assert isinstance(events[0], StrapUp)
    assert events[0].reconnected is False
    assert events[0].name == "SimHR Chest"
    readings = [e for e in events if isinstance(e, StrapReading)]
    assert len(readings) >= 25
    assert all(r.contact is True and r.bpm > 50 for r in readings)
    assert link.latest == readings[-1]


def test_a_dropped_strap_reconnects_on_its_own() -> None:
    async def scenario() -> list[StrapEvent]:
        async with SimStrap() as strap, open_strap(strap.address, **SIM) as link:
            strap.schedule_fault(StrapFault.DROP, 10)
            return await collect(link, 40)

    events = virtual(scenario)
    kinds = [type(e).__name__ for e in events if not isinstance(e, StrapReading)]
    assert kinds == ["StrapUp", "StrapDown", "StrapUp"]
    down = next(e for e in events if isinstance(e, StrapDown))
    assert down.reason == "link dropped"
    assert down.retry_in_s == 1.0
    up_again = [e for e in events if isinstance(e, StrapUp)][1]
    assert up_again.reconnected
    assert any(isinstance(e, StrapReading) and e.at_s > up_again.at_s for e in events)


def test_a_silent_strap_is_dropped_and_reconnected() -> None:
    async def scenario() -> list[StrapEvent]:
        async with SimStrap() as strap, open_strap(strap.address, **SIM) as link:
            strap.schedule_fault(StrapFault.STALE, 10)
            return await collect(link, 60)

    events = virtual(scenario)
    down = next(e for e in events if isinstance(e, StrapDown))
    assert "sent nothing" in down.reason
    last_before = max(e.at_s for e in events if isinstance(e, StrapReading) and e.at_s < down.at_s)
    assert down.at_s - last_before == pytest.approx(SILENT_RECONNECT_S, abs=1.01)
    assert any(isinstance(e, StrapReading) and e.at_s > down.at_s for e in events)


def test_a_missing_strap_backs_off_and_never_raises() -> None:
    async def scenario() -> list[StrapEvent]:
        async with open_strap("AA:BB:CC:DD:EE:FF", **SIM) as link:
            return await collect(link, 120)

    events = virtual(scenario)
    assert events
    assert all(isinstance(e, StrapDown) for e in events)
    waits = [e.retry_in_s for e in events if isinstance(e, StrapDown)]
    assert waits[:3] == [1.0, 2.0, 4.0]
    assert waits == sorted(waits)


class _BrokenClient(SimBleakClient):
    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        raise RuntimeError("the stack fell over")


class _RefusingClient(SimBleakClient):
    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        raise BleakError("org.bluez.Error.Failed: le-connection-abort-by-local")


@pytest.mark.parametrize("client", [_BrokenClient, _RefusingClient])
def test_a_failing_strap_only_reports_and_the_session_goes_on(client: type) -> None:
    async def scenario() -> tuple[list[StrapEvent], bool]:
        async with SimStrap() as strap:
            async with open_strap(
                strap.address, client_backend=client, scanner_backend=SimBleakScanner
            ) as link:
                events = await collect(link, 20)
            return events, True  # the block ended normally: nothing escaped

    events, ended = virtual(scenario)
    assert ended
    assert events
    assert all(isinstance(e, StrapDown) for e in events)
    assert "the stack fell over" in events[0].reason or "abort" in events[0].reason  # type: ignore[union-attr]


def test_a_malformed_packet_is_reported_and_does_not_replace_the_last_reading() -> None:
    async def scenario() -> tuple[StrapLink, list[StrapEvent]]:
        link = StrapLink("SimHR")
        link._on_notify(None, bytearray(b"\x00\x48"))  # type: ignore[arg-type]
        link._on_notify(None, bytearray(b"\x01\x48"))  # type: ignore[arg-type]
        link.close()
        return link, [e async for e in link.events()]

    link, events = virtual(scenario)
    assert isinstance(events[1], StrapBadFrame)
    assert "0x2A37" in events[1].problem
    assert link.latest is not None
    assert link.latest.bpm == 72


def test_scan_lists_straps_apart_from_treadmills() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with SimTreadmill(name="FS-TEST"), SimStrap(name="SimHR Band"):
            straps = await discover_straps(timeout_s=1, scanner_backend=SimBleakScanner)
            mills = await discover_treadmills(timeout_s=1, scanner_backend=SimBleakScanner)
        return [s.name or "" for s in straps], [m.name or "" for m in mills]

    straps, mills = virtual(scenario)
    assert straps == ["SimHR Band"]
    assert mills == ["FS-TEST"]


def test_an_error_in_the_session_body_leaves_the_strap_block_unchanged() -> None:
    # the session's own failures (and its stop path) must not be wrapped or delayed by the strap
    async def scenario() -> None:
        async with SimStrap() as strap, open_strap(strap.address, **SIM):
            await asyncio.sleep(3)
            raise LookupError("the session failed")

    with pytest.raises(LookupError, match="the session failed"):
        virtual(scenario)


def test_leaving_while_the_strap_is_still_being_looked_for_is_prompt() -> None:
    async def scenario() -> float:
        async with open_strap("No Such Strap", **SIM):
            await asyncio.sleep(2)  # inside its 10 s scan
            left_at = clock.now()
        return clock.now() - left_at

    assert virtual(scenario) < 0.5


def test_cancelling_the_session_inside_the_strap_block_cancels_cleanly() -> None:
    async def scenario() -> bool:
        async def session() -> None:
            async with SimStrap() as strap, open_strap(strap.address, **SIM):
                await asyncio.sleep(3600)

        task = asyncio.ensure_future(session())
        await asyncio.sleep(5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert virtual(scenario)
