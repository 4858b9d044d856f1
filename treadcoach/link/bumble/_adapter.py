"""``BumbleAdapter``: one bumble ``Device`` (host + controller) shared by bleak clients and scanners.

A Bluetooth controller does one LE connect at a time, scans once for everyone, and is opened
once: like BlueZ's ``hci0``, the adapter is the single owner of all that. bleak builds its
backends itself (``backend(address, ...)``), so each adapter hands out backend *classes* bound
to it: ``adapter.client_backend`` / ``adapter.scanner_backend``.

    async with BumbleAdapter.open("usb:0") as adapter:          # a dongle (no BlueZ)
        async with TreadmillLink(name, client_backend=adapter.client_backend,
                                 scanner_backend=adapter.scanner_backend) as link: ...

    async with BumbleAdapter.on_air(link) as adapter: ...         # tests: in-process radio
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import hci
from bumble.device import Advertisement, Connection, Device
from bumble.transport import open_transport

from treadcoach.errors import BluetoothUnavailable
from treadcoach.link.bumble._advertising import ParsedAdvertisement, parse_advertising_data
from treadcoach.link.bumble._errors import bleak_errors
from treadcoach.link.bumble.air import device_on_air

if TYPE_CHECKING:
    from bumble.link import LocalLink
    from bumble.transport.common import Transport

    from treadcoach.link.bumble._client import BumbleBleakClient
    from treadcoach.link.bumble._scanner import BumbleBleakScanner

__all__ = ["CANCEL_WAIT_S", "BumbleAdapter", "Heard"]

log = logging.getLogger(__name__)

#: how long a controller gets to complete an LE Create Connection Cancel before we give up on
#: it (real ones answer within a few ms; bumble's virtual controller never does).
CANCEL_WAIT_S: Final = 1.0
#: the central's own address on the in-process radio (tests)
CENTRAL_ADDRESS: Final = "C0:7C:00:00:00:01"
#: the transport name of the in-process radio (``air`` or ``air:MS``), for ``deferred``
AIR: Final = "air"

Heard = Callable[[hci.Address, ParsedAdvertisement, int], None]


class BumbleAdapter:
    """One powered-on bumble ``Device``; see the module docstring."""

    def __init__(
        self, device: Device | None, *, transport: Transport | None = None, label: str = "bumble"
    ) -> None:
        self._device = device
        self.label = label
        self._transport = transport
        self._listeners: list[Heard] = []
        self._scan_active = False
        self._advertising: dict[str, bytes] = {}
        self._scan_responses: dict[str, bytes] = {}
        self._addresses: dict[str, hci.Address] = {}
        self._connecting: set[str] = set()
        self._clients: set[BumbleBleakClient] = set()
        self._client_backend: type[BumbleBleakClient] | None = None
        self._scanner_backend: type[BumbleBleakScanner] | None = None
        self._lost = False
        self._stack = contextlib.AsyncExitStack()
        self._tasks: asyncio.TaskGroup | None = None
        #: True once a controller left a connection cancel unanswered (see CANCEL_WAIT_S)
        self.cancel_unanswered = False
        self._deferred_spec: str | None = None
        self._holder: AsyncIterator[None] | None = None
        self._air_stack = contextlib.AsyncExitStack()
        self._open_lock: asyncio.Lock | None = None

    @property
    def device(self) -> Device:
        if self._device is None:
            raise BleakError(f"the Bluetooth controller {self.label} is not open")
        return self._device

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, spec: str) -> AsyncIterator[BumbleAdapter]:
        """A controller behind a bumble transport: ``usb:0``, ``serial:/dev/ttyACM0``,
        ``tcp-client:127.0.0.1:1234``, ``hci-socket:0``... (bumble's transport names)."""
        adapter = cls(None, label=spec)
        async with adapter._opened(spec):
            yield adapter

    @classmethod
    def deferred(cls, spec: str) -> BumbleAdapter:
        """An adapter for ``spec`` that opens the controller on first use (a scan or a
        connect) and closes it when the event loop that opened it shuts down."""
        adapter = cls(None, label=spec)
        adapter._deferred_spec = spec
        return adapter

    @contextlib.asynccontextmanager
    async def _opened(self, spec: str) -> AsyncIterator[None]:
        await self._start(spec)
        try:
            yield
        finally:
            await self._finish()

    async def _start(self, spec: str) -> None:
        """Open the transport, make the device, power it on (what ``_finish`` undoes)."""
        if spec == AIR or spec.startswith(AIR + ":"):
            await self._start_on_air(spec)
            return
        try:
            transport = await open_transport(spec)
        except Exception as error:  # bumble raises many kinds (USB, serial, OS, value)
            raise BluetoothUnavailable(
                f"cannot open the Bluetooth controller {spec!r}: {error}",
                "see docs/bluetooth.md (dongle permissions, kernel driver, firmware)",
            ) from error
        self._transport = transport
        try:
            address = hci.Address.generate_static_address()
            self._device = Device.with_hci("treadcoach", address, transport.source, transport.sink)
            await self.__aenter__()
        except BaseException:
            await transport.close()
            raise

    async def _finish(self) -> None:
        try:
            await self.__aexit__(None, None, None)
        finally:
            if self._transport is not None:
                await self._transport.close()
            await self._air_stack.aclose()

    async def _start_on_air(self, spec: str) -> None:
        """``air[:MS]``: the in-process radio at MS ms, serving every simulated treadmill
        running in this process through bumble's GATT server (``run --sim --ble bumble:air:50``
        puts a session on real ATT at a 50 ms interval, on the session's own clock)."""
        from sim import registry
        from sim.bumble_peripheral import BumblePeripheral
        from treadcoach.link.bumble.air import ConnectionEventLink

        _, _, ms = spec.partition(":")
        air = ConnectionEventLink(float(ms) / 1000 if ms else 0.0)
        for treadmill in registry.advertising():  # a simulated strap too (the same GATT face)
            device = device_on_air(air, treadmill.address, treadmill.name)
            await self._air_stack.enter_async_context(BumblePeripheral(treadmill, device))
        self._device = device_on_air(air, CENTRAL_ADDRESS, "treadcoach")
        try:
            await self.__aenter__()
        except BaseException:
            await self._air_stack.aclose()
            raise

    async def _ensure_open(self) -> None:
        """Open a ``deferred`` adapter (once, however many users ask at the same time)."""
        if self._device is not None or self._deferred_spec is None:
            return
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            if self._device is not None:
                return
            spec = self._deferred_spec

            async def held_open() -> AsyncIterator[None]:
                # finalised by the loop's shutdown_asyncgens(): that closes the controller.
                # The only async generator involved (a nested one would be finalised on its
                # own, in any order)
                await self._start(spec)
                try:
                    yield
                finally:
                    await self._finish()

            holder = held_open()
            await anext(holder)
            self._holder = holder

    @classmethod
    @contextlib.asynccontextmanager
    async def on_air(
        cls, link: LocalLink, address: str = CENTRAL_ADDRESS
    ) -> AsyncIterator[BumbleAdapter]:
        """A virtual controller on an in-process bumble link (``air.ConnectionEventLink``)."""
        async with cls(device_on_air(link, address, "treadcoach"), label="air") as adapter:
            yield adapter

    async def __aenter__(self) -> BumbleAdapter:
        # owns the few tasks the adapter starts itself (hanging up stray connections)
        self._tasks = await self._stack.enter_async_context(asyncio.TaskGroup())
        self.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        if self._transport is not None:
            self._transport.source.terminated.add_done_callback(lambda _: self._transport_lost())
        with bleak_errors("powering on the Bluetooth controller"):
            await self.device.power_on()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in list(self._clients):
            with contextlib.suppress(BleakError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await client.disconnect()
        if self._scan_active and not self._lost:
            self._listeners.clear()
            with contextlib.suppress(Exception):
                await self.device.stop_scanning()
        self._scan_active = False
        if not self._lost:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self.device.power_off()
        self._tasks = None
        await self._stack.aclose()

    # --- bleak backends bound to this adapter ----------------------------------------------

    @property
    def client_backend(self) -> type[BumbleBleakClient]:
        if self._client_backend is None:
            from treadcoach.link.bumble._client import BumbleBleakClient

            self._client_backend = type(
                "BumbleBleakClient", (BumbleBleakClient,), {"adapter": self}
            )
        return self._client_backend

    @property
    def scanner_backend(self) -> type[BumbleBleakScanner]:
        if self._scanner_backend is None:
            from treadcoach.link.bumble._scanner import BumbleBleakScanner

            self._scanner_backend = type(
                "BumbleBleakScanner", (BumbleBleakScanner,), {"adapter": self}
            )
        return self._scanner_backend

    # --- scanning (one scan, shared) ---------------------------------------------------------

    async def start_scan(self, listener: Heard, *, active: bool = True) -> None:
        await self._ensure_open()
        self._check_alive()
        self._listeners.append(listener)
        if not self._scan_active:
            self._scan_active = True
            with bleak_errors("starting a scan"):
                await self.device.start_scanning(active=active, filter_duplicates=False)

    async def stop_scan(self, listener: Heard) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)
        if self._scan_active and not self._listeners:
            self._scan_active = False
            if not self._lost:
                with bleak_errors("stopping a scan"):
                    await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        address = advertisement.address
        key = address.to_string(False)
        self._addresses[key] = address
        if advertisement.is_scan_response:
            self._scan_responses[key] = advertisement.data_bytes
        else:
            self._advertising[key] = advertisement.data_bytes
        parsed = parse_advertising_data(
            self._advertising.get(key, b""), self._scan_responses.get(key, b"")
        )
        for listener in list(self._listeners):
            listener(address, parsed, advertisement.rssi)

    async def resolve(self, address: str, timeout_s: float) -> hci.Address:
        """The bumble address (with its type) of ``address``, scanning for it if not heard yet."""
        await self._ensure_open()
        key = address.upper()
        known = self._addresses.get(key)
        if known is not None:
            return known
        heard: asyncio.Future[hci.Address] = asyncio.get_running_loop().create_future()

        def listener(found: hci.Address, _parsed: ParsedAdvertisement, _rssi: int) -> None:
            if found.to_string(False) == key and not heard.done():
                heard.set_result(found)

        await self.start_scan(listener)
        try:
            async with asyncio.timeout(timeout_s):
                return await heard
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                address, f"Device with address {address} was not found."
            ) from None
        finally:
            await self.stop_scan(listener)

    # --- connecting ----------------------------------------------------------------------------

    async def connect(self, address: hci.Address, timeout_s: float) -> Connection:
        """An LE connection to ``address``; ``BleakDeviceNotFoundError`` if nobody answered."""
        await self._ensure_open()
        self._check_alive()
        key = address.to_string(False)
        self._connecting.add(key)
        try:
            try:
                async with asyncio.timeout(timeout_s):
                    with bleak_errors(f"connecting to {key}"):
                        # no bumble timeout: on one it sends the cancel and then waits for its
                        # completion without a limit (forever on the virtual controller)
                        return await self.device.connect(address, timeout=None)
            except TimeoutError:
                pass
            await self._cancel_connect(key)
            raise BleakDeviceNotFoundError(
                key, f"Device with address {key} did not answer within {timeout_s:g} s."
            )
        finally:
            self._connecting.discard(key)

    async def _cancel_connect(self, key: str) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_failure(_error: Any) -> None:
            if not done.done():
                done.set_result(None)

        def on_connection(connection: Connection) -> None:
            # it connected after all, just as we gave up: hang up rather than hold the
            # treadmill (a treadmill takes one central at a time)
            if connection.peer_address.to_string(False) == key:
                self._hang_up(connection)
                on_failure(None)

        self.device.on(Device.EVENT_CONNECTION_FAILURE, on_failure)
        self.device.on(Device.EVENT_CONNECTION, on_connection)
        try:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CANCEL_WAIT_S):
                    await self.device.send_sync_command(
                        hci.HCI_LE_Create_Connection_Cancel_Command()
                    )
            try:
                async with asyncio.timeout(CANCEL_WAIT_S):
                    await done
            except TimeoutError:
                self.cancel_unanswered = True
                log.warning(
                    "%s: the controller did not complete the connection cancel for %s",
                    self.label,
                    key,
                )
        finally:
            self.device.remove_listener(Device.EVENT_CONNECTION_FAILURE, on_failure)
            self.device.remove_listener(Device.EVENT_CONNECTION, on_connection)

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.CENTRAL:
            return
        key = connection.peer_address.to_string(False)
        if key not in self._connecting:
            # a connect we gave up on completed late (a controller that ignored the cancel)
            log.warning("%s: hanging up an unrequested connection to %s", self.label, key)
            self._hang_up(connection)

    def _hang_up(self, connection: Connection) -> None:
        async def hang_up() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)

        if self._tasks is not None:
            self._tasks.create_task(hang_up(), name=f"{self.label}: hang up")

    # --- clients ---------------------------------------------------------------------------------

    def register(self, client: BumbleBleakClient) -> None:
        self._clients.add(client)

    def unregister(self, client: BumbleBleakClient) -> None:
        self._clients.discard(client)

    def _check_alive(self) -> None:
        if self._lost:
            raise BleakError(f"the Bluetooth controller {self.label} is gone")

    def _transport_lost(self) -> None:
        """The dongle was unplugged (or the serial line closed): every connection is gone."""
        self._lost = True
        log.warning("%s: the Bluetooth controller went away", self.label)
        for client in list(self._clients):
            client.connection_lost("the Bluetooth controller went away")
