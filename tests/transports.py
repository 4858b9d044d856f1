"""The BLE stacks the link tests run over: one parametrized fixture, three transports.

* ``fake`` -- ``sim.bleak_backend``: in-process, no ATT, zero latency;
* ``bumble-0ms`` -- bleak on bumble (``treadcoach.link.bumble``) to the simulator served by
  bumble's GATT server (``sim.bumble_peripheral``), two virtual controllers on an in-process
  radio that delivers on the next loop turn: real ATT (MTU exchange, CCCD writes, write
  responses, indication confirmations, ATT error codes), no latency;
* ``bumble-50ms`` -- the same, each packet held until the next 50 ms connection event
  (``ConnectionEventLink``): every round trip costs real BLE time.

All three run on the loop's clock, so on ``treadcoach.clock.VirtualEventLoop`` (``on_virtual_time``)
they cost no wall time. A test takes the ``transport`` fixture and opens the treadmill and link
with ``transport.link(...)``:

    def test_something(transport: Transport) -> None:
        async def scenario() -> None:
            async with transport.link(notify_hz=2.0, command_timeout_s=2.0) as stack:
                await stack.link.start()
                ...  # stack.treadmill, stack.writes (control-point writes on the air)
        on_virtual_time(scenario)

``import transports`` works from any test (``tests/`` is on the path through its conftest).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

import sim
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.ftms import uuids
from treadcoach.link import TreadmillLink

__all__ = ["TRANSPORTS", "Stack", "Transport", "recording", "transport"]


def recording(base: type[BaseBleakClient]) -> tuple[type[BaseBleakClient], list[bytes]]:
    """``base`` noting every control-point write it puts on the air (nothing replaced)."""
    writes: list[bytes] = []

    class Recording(base):  # type: ignore[valid-type, misc]
        async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
            if characteristic.uuid == uuids.CONTROL_POINT_UUID:
                writes.append(bytes(data))
            await super().write_gatt_char(characteristic, data, response)

    return Recording, writes


@dataclass(slots=True)
class Stack:
    """What ``Transport.link`` opened: the treadmill, the link, and the stack between them."""

    treadmill: sim.SimTreadmill
    link: TreadmillLink
    client_backend: type[BaseBleakClient]
    scanner_backend: type[BaseBleakScanner]
    writes: list[bytes] = field(default_factory=list)
    peripheral: Any = None  # sim.bumble_peripheral.BumblePeripheral on bumble
    adapter: Any = None  # treadcoach.link.bumble.BumbleAdapter on bumble
    air: Any = None  # treadcoach.link.bumble.ConnectionEventLink on bumble


@dataclass(frozen=True, slots=True)
class Transport:
    id: str
    #: None: the in-process fake; else bumble at this connection interval (0 = next loop turn)
    interval_s: float | None

    @property
    def is_bumble(self) -> bool:
        return self.interval_s is not None

    @contextlib.asynccontextmanager
    async def backends(
        self, treadmill: sim.SimTreadmill, *more: sim.SimTreadmill
    ) -> AsyncIterator[tuple[type[BaseBleakClient], type[BaseBleakScanner], Any, Any, Any]]:
        """bleak (client, scanner) backends reaching the running ``treadmill`` (and ``more``
        treadmills, each its own peripheral on the same radio) over this transport, plus
        (``treadmill``'s peripheral, adapter, air) on bumble (None on the fake)."""
        if self.interval_s is None:
            yield SimBleakClient, SimBleakScanner, None, None, None
            return
        pytest.importorskip("bumble")
        from sim.bumble_peripheral import BumblePeripheral
        from treadcoach.link.bumble import BumbleAdapter, ConnectionEventLink, device_on_air

        air = ConnectionEventLink(self.interval_s)
        treadmills = (treadmill, *more)
        async with contextlib.AsyncExitStack() as stack:
            peripherals = [
                await stack.enter_async_context(
                    BumblePeripheral(tm, device_on_air(air, tm.address, tm.name))
                )
                for tm in treadmills
            ]
            central = _central_on_air(air, {tm.address: tm.rssi for tm in treadmills})
            adapter = await stack.enter_async_context(BumbleAdapter(central, label="air"))
            yield adapter.client_backend, adapter.scanner_backend, peripherals[0], adapter, air

    @contextlib.asynccontextmanager
    async def link(
        self,
        sim_profile: str | sim.Profile = "standard",
        *,
        notify_hz: float = 1.0,
        treadmill: dict[str, Any] | None = None,
        wrap_client: Callable[[type[BaseBleakClient]], type[BaseBleakClient]] | None = None,
        **link_kwargs: Any,
    ) -> AsyncIterator[Stack]:
        """A simulated treadmill and a connected ``TreadmillLink`` to it over this transport;
        ``treadmill`` holds more ``SimTreadmill`` arguments, ``link_kwargs`` the link's;
        ``wrap_client`` may subclass the client backend (to observe or misbehave)."""
        async with (
            sim.SimTreadmill(profile=sim_profile, notify_hz=notify_hz, **(treadmill or {})) as tm,
            self.backends(tm) as (client, scanner, peripheral, adapter, air),
        ):
            recorder, writes = recording(wrap_client(client) if wrap_client else client)
            link = TreadmillLink(
                tm.address, client_backend=recorder, scanner_backend=scanner, **link_kwargs
            )
            async with link:
                yield Stack(tm, link, recorder, scanner, writes, peripheral, adapter, air)


def _central_on_air(air: Any, rssi: dict[str, int]) -> Any:
    """The link's bumble ``Device`` on ``air`` (as ``BumbleAdapter.on_air`` makes it), hearing
    each simulated treadmill at its ``SimTreadmill.rssi`` as the fake does: bumble's virtual
    controller reports every advertiser at -50 dBm, and scans sort by signal strength."""
    from bumble import hci
    from bumble.device import Device
    from bumble.host import Host
    from bumble.transport.common import AsyncPipeSink

    from treadcoach.link.bumble import AirController
    from treadcoach.link.bumble._adapter import CENTRAL_ADDRESS

    class HearingController(AirController):
        def send_hci_packet(self, packet: Any) -> None:
            reports = (
                hci.HCI_LE_Advertising_Report_Event,
                hci.HCI_LE_Extended_Advertising_Report_Event,
            )
            if isinstance(packet, reports):
                packet = type(packet)(
                    [
                        dataclasses.replace(r, rssi=rssi.get(r.address.to_string(False), r.rssi))
                        for r in packet.reports
                    ]
                )
            super().send_hci_packet(packet)

    controller = HearingController("treadcoach", link=air, public_address=CENTRAL_ADDRESS)
    return Device(
        name="treadcoach",
        address=hci.Address(CENTRAL_ADDRESS),
        host=Host(controller, AsyncPipeSink(controller)),
    )


TRANSPORTS = (
    Transport("fake", None),
    Transport("bumble-0ms", 0.0),
    Transport("bumble-50ms", 0.05),
)


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.id)
def transport(request: pytest.FixtureRequest) -> Transport:
    """Each test that takes it runs over the fake, bumble at 0 ms and bumble at 50 ms."""
    return request.param  # type: ignore[no-any-return]
