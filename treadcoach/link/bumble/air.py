"""An in-process radio for tests: bumble's ``LocalLink`` with connection events.

bumble's ``LocalLink`` hands every packet to the other controller on the next loop turn: a link
with zero latency, where a timeout that only holds at zero latency looks fine.
:class:`ConnectionEventLink` instead holds each ACL and LL control packet until the next
connection event -- every ``interval_s`` seconds on the loop's clock, as a real LE link does
(7.5 ms to 4 s; 30-50 ms is what phones and BlueZ usually pick) -- so an ATT round trip costs
one to two intervals and a Stop overtaking a command meets real latency. Advertising keeps its
own timer (the advertiser's interval), as on air.

Everything runs on the loop's ``call_at``, never the wall clock: on
``treadcoach.clock.VirtualEventLoop`` a 50 ms link costs no wall time (bumble's stack has no
threads or wall-clock timers of its own on this path).

:class:`AirController` is bumble's virtual controller with two gaps closed where a real one
behaves differently and the link code depends on it:

* LE Create Connection Cancel completes the pending connection with "Unknown Connection
  Identifier" (Core Vol 4 Part E 7.8.13); bumble's only answers the command, so a connect to a
  treadmill that is not advertising would hang, and the next connect would be refused;
* an active scan reports the advertiser's own scan response data (bumble's repeats the
  advertising data), so a name carried only in the scan response is heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from bumble import hci
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

if TYPE_CHECKING:
    from sim.bumble_peripheral import BumblePeripheral
    from sim.treadmill import SimTreadmill
    from treadcoach.link.bumble._adapter import BumbleAdapter

__all__ = ["AirController", "ConnectionEventLink", "device_on_air", "treadmill_on_air"]

# BLE allows 7.5 ms to 4 s, in 1.25 ms steps
MIN_INTERVAL_S = 0.0075
MAX_INTERVAL_S = 4.0
# float slack when "now" is exactly a connection event (a packet sent during an event waits
# for the next one: the peer cannot answer within the 150 us inter-frame space)
_EPSILON = 1e-9


class ConnectionEventLink(LocalLink):
    """A ``LocalLink`` that delivers each packet at the next connection event.

    ``interval_s`` 0 delivers on the next loop turn (bumble's own behaviour). Packets due at
    the same event keep their order (one timer per event, draining a list).
    """

    def __init__(self, interval_s: float = 0.0) -> None:
        if interval_s != 0 and not (MIN_INTERVAL_S - _EPSILON <= interval_s <= MAX_INTERVAL_S):
            raise ValueError(
                f"a BLE connection interval is 0 (no latency) or 7.5 ms to 4 s, not {interval_s}"
            )
        super().__init__()  # type: ignore[no-untyped-call]
        self.interval_s = interval_s
        self._due: dict[int, list[Callable[[], None]]] = {}
        #: packets delivered, for tests that want to see the link was used
        self.delivered = 0

    def next_event_at(self, now: float) -> float:
        """The loop time of the first connection event strictly after ``now``."""
        return (math.floor(now / self.interval_s + _EPSILON) + 1) * self.interval_s

    def _at_next_event(self, deliver: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        if self.interval_s == 0:
            loop.call_soon(self._count, deliver)
            return
        when = self.next_event_at(loop.time())
        event = round(when / self.interval_s)
        batch = self._due.get(event)
        if batch is None:
            batch = self._due[event] = []
            loop.call_at(when, self._drain, event)
        batch.append(deliver)

    def _drain(self, event: int) -> None:
        for deliver in self._due.pop(event, []):
            self._count(deliver)

    def _count(self, deliver: Callable[[], None]) -> None:
        self.delivered += 1
        deliver()

    # bumble's LocalLink schedules these with call_soon; same arguments, later delivery
    def send_acl_data(
        self, sender_controller: Any, destination_address: Any, transport: Any, data: bytes
    ) -> None:
        if transport != PhysicalTransport.LE:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        destination = self.find_le_controller(destination_address)
        if destination is None:
            return
        source = sender_controller.random_address
        self._at_next_event(lambda: destination.on_link_acl_data(source, transport, data))

    def send_ll_control_pdu(self, sender_address: Any, receiver_address: Any, packet: Any) -> None:
        receiver = self.find_le_controller(receiver_address)
        if receiver is None:
            return  # the peer is gone already (bumble raises; a radio just loses the packet)
        self._at_next_event(lambda: receiver.on_ll_control_pdu(sender_address, packet))


class AirController(Controller):
    """bumble's virtual controller, completing connection cancels and sending scan responses."""

    def on_hci_le_create_connection_cancel_command(self, command: Any) -> Any:
        pending = self.pending_le_connection
        result = super().on_hci_le_create_connection_cancel_command(command)
        if pending is not None:
            self.pending_le_connection = None
            address = getattr(pending, "peer_address", hci.Address.ANY)
            # after the Command Complete, as a controller sends it
            asyncio.get_running_loop().call_soon(
                self.send_hci_packet,
                hci.HCI_LE_Connection_Complete_Event(
                    status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                    connection_handle=0,
                    role=hci.Role.CENTRAL,
                    peer_address_type=address.address_type,
                    peer_address=address,
                    connection_interval=0,
                    peripheral_latency=0,
                    supervision_timeout=0,
                    central_clock_accuracy=0,
                ),
            )
        return result

    def send_hci_packet(self, packet: Any) -> None:
        super().send_hci_packet(self._with_scan_response(packet))

    def _with_scan_response(self, packet: Any) -> Any:
        legacy = hci.HCI_LE_Advertising_Report_Event
        extended = hci.HCI_LE_Extended_Advertising_Report_Event
        wanted: list[int]
        if isinstance(packet, legacy):
            wanted = [legacy.EventType.SCAN_RSP]
        elif isinstance(packet, extended):
            wanted = [extended.EventType.SCAN_RESPONSE]
        else:
            return packet
        reports = []
        changed = False
        for report in packet.reports:
            if report.event_type in wanted:
                data = self._scan_response_of(report.address)
                if data is not None:
                    report = dataclasses.replace(report, data=data)
                    changed = True
            reports.append(report)
        return type(packet)(reports) if changed else packet

    def _scan_response_of(self, address: Any) -> bytes | None:
        link = self.link
        if link is None:
            return None
        for controller in link.controllers:
            # bumble's Device advertises through an extended advertising set when the
            # controller has the feature (bumble's does), else through the legacy advertiser
            advertisers: list[Any] = [
                controller.le_legacy_advertiser,
                *controller.advertising_sets.values(),
            ]
            for advertiser in advertisers:
                if advertiser.enabled and advertiser.address == address:
                    return bytes(advertiser.scan_response_data)
        return None


def device_on_air(link: LocalLink, address: str, name: str) -> Device:
    """A bumble ``Device`` (not powered on) whose controller is on ``link``."""
    controller = AirController(name, link=link, public_address=address)
    return Device(
        name=name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller))
    )


@contextlib.asynccontextmanager
async def treadmill_on_air(
    treadmill: SimTreadmill, interval_s: float = 0.0
) -> AsyncIterator[tuple[BumbleAdapter, BumblePeripheral, ConnectionEventLink]]:
    """The running ``treadmill`` served by bumble's GATT server, and a central adapter, both on
    one in-process radio at ``interval_s``: pass ``adapter.client_backend`` /
    ``adapter.scanner_backend`` to ``TreadmillLink`` to reach it over real ATT."""
    from sim.bumble_peripheral import BumblePeripheral
    from treadcoach.link.bumble._adapter import BumbleAdapter

    air = ConnectionEventLink(interval_s)
    device = device_on_air(air, treadmill.address, treadmill.name)
    async with (
        BumblePeripheral(treadmill, device) as peripheral,
        BumbleAdapter.on_air(air) as adapter,
    ):
        yield adapter, peripheral, air
