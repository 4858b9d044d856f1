"""The heart-rate strap beside the treadmill: a thin bleak client for the Heart Rate Service.

    async with open_strap("Polar H10", client_backend=..., scanner_backend=...) as strap:
        async for event in strap.events():      # StrapUp / StrapReading / StrapBadFrame / StrapDown
            ...
        strap.latest                            # the last good StrapReading, or None

One job: keep a subscription to Heart Rate Measurement (0x2A37) alive and report what it hears.
It finds the strap by address or by name (service 0x180D), connects, subscribes, and when the link
drops, the strap goes silent for ``SILENT_RECONNECT_S`` or a connect fails, it tries again after
a backoff (``BACKOFF_S``), for as long as the session lasts. **A strap failing never raises into
the session and never stops the belt**: every failure becomes a :class:`StrapDown` event (the HR
coach then holds, see ``treadcoach.coach.heart_rate``). Only cancelling the session ends it.

The decoding is ``treadcoach.ftms.heart_rate`` (sans-I/O); a malformed packet is a
:class:`StrapBadFrame` event and does not replace ``latest``. Times are the loop's clock
(``loop.time()``, virtual in tests): a reading's ``at_s`` is when it arrived, which is what the
coach's 5-second staleness rule measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from treadcoach.errors import HeartRateDecodeError, StrapError
from treadcoach.ftms.heart_rate import (
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    HeartRateMeasurement,
    decode_heart_rate_measurement,
)
from treadcoach.link.bluetooth import bluetooth_unavailable, translate_bluetooth_errors
from treadcoach.link.scan import is_address, name_matches

__all__ = [
    "BACKOFF_S",
    "CONNECT_TIMEOUT_S",
    "FIND_TIMEOUT_S",
    "SILENT_RECONNECT_S",
    "FoundStrap",
    "StrapBadFrame",
    "StrapDown",
    "StrapEvent",
    "StrapLink",
    "StrapReading",
    "StrapUp",
    "discover_straps",
    "open_strap",
]

log = logging.getLogger(__name__)

FIND_TIMEOUT_S = 10.0  # one scan for the strap
CONNECT_TIMEOUT_S = 15.0  # connect + subscribe, whatever the stack does
# A connected strap that sends nothing for this long is dropped and reconnected (a strap that
# lost its wearer often stops notifying without disconnecting; reconnecting wakes some up).
SILENT_RECONNECT_S = 15.0
# Waits between attempts, the last one repeated: quick at first (a strap that dropped for a
# moment), then slow enough not to keep the radio busy beside the treadmill's link.
BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
_QUEUE_MAX = 512  # events nobody reads are dropped oldest first, never grow without bound


@dataclass(frozen=True, slots=True)
class StrapUp:
    at_s: float
    name: str | None
    address: str
    reconnected: bool


@dataclass(frozen=True, slots=True)
class StrapReading:
    """One good Heart Rate Measurement; ``bpm``/``contact``/``at_s`` are what the HR coach reads."""

    at_s: float
    measurement: HeartRateMeasurement

    @property
    def bpm(self) -> int:
        return self.measurement.heart_rate_bpm

    @property
    def contact(self) -> bool | None:
        return self.measurement.contact


@dataclass(frozen=True, slots=True)
class StrapBadFrame:
    at_s: float
    problem: str


@dataclass(frozen=True, slots=True)
class StrapDown:
    """The strap is not (or no longer) delivering; ``retry_in_s`` until the next attempt."""

    at_s: float
    reason: str
    retry_in_s: float


StrapEvent = StrapUp | StrapReading | StrapBadFrame | StrapDown


@dataclass(frozen=True, slots=True)
class FoundStrap:
    """One heart-rate strap heard advertising the Heart Rate Service."""

    name: str | None
    address: str
    rssi: int | None
    device: BLEDevice


def _is_strap(adv: AdvertisementData) -> bool:
    return HEART_RATE_SERVICE_UUID in [u.lower() for u in adv.service_uuids]


async def discover_straps(
    *,
    timeout_s: float = 5.0,
    name_pattern: str | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
) -> list[FoundStrap]:
    """Scan ``timeout_s`` seconds for Heart Rate Service straps, loudest first."""
    with translate_bluetooth_errors():
        async with BleakScanner(
            service_uuids=[HEART_RATE_SERVICE_UUID], backend=scanner_backend
        ) as scanner:
            await asyncio.sleep(timeout_s)
    found = [
        FoundStrap(adv.local_name or device.name, device.address, adv.rssi, device)
        for device, adv in scanner.discovered_devices_and_advertisement_data.values()
        if _is_strap(adv)
    ]
    if name_pattern is not None:
        found = [f for f in found if name_matches(f.name, name_pattern)]
    found.sort(key=lambda f: (-(f.rssi if f.rssi is not None else -999), f.address))
    return found


class StrapLink:
    """See the module docstring. Build it with :func:`open_strap`, which owns its task."""

    def __init__(
        self,
        target: str,
        *,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        silent_reconnect_s: float = SILENT_RECONNECT_S,
        start_after: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        if not target.strip():
            raise StrapError(None, "the heart-rate strap needs a name or an address (hr_strap)")
        if not backoff_s or min(backoff_s) <= 0:
            raise StrapError(None, "the strap's reconnect backoff needs positive waits")
        self.target = target.strip()
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._backoff_s = backoff_s
        self._silent_s = silent_reconnect_s
        # what to wait for before the first attempt (the session: the treadmill connected, so
        # the strap's scan never races the treadmill's connect on one adapter: BlueZ refuses
        # some connects while another discovery is starting, "org.bluez.Error.InProgress")
        self._start_after = start_after
        self._queue: asyncio.Queue[StrapEvent | None] = asyncio.Queue()  # None: closed
        self._lost = asyncio.Event()
        self._closed = asyncio.Event()
        self._last_rx_s = 0.0
        self._had_data = False  # this connection delivered a good reading
        #: the last good reading (None before the first)
        self.latest: StrapReading | None = None
        #: True while subscribed to a strap
        self.connected = False
        self.name: str | None = None
        self.address: str | None = self.target if is_address(self.target) else None
        #: how many times it connected (1 = the first connection)
        self.connections = 0
        #: how many times it tried (find, connect, subscribe)
        self.attempts = 0
        self._task: asyncio.Task[None] | None = None  # set by open_strap, which owns it

    # --- what the session reads ----------------------------------------------------------------

    async def events(self) -> AsyncIterator[StrapEvent]:
        """Every event, in order, until the link is closed (one reader at a time)."""
        while True:
            event = await self._queue.get()
            if event is None:  # closed
                return
            yield event

    def close(self) -> None:
        """End the link now: a scan or connect in progress is cancelled (under
        :func:`open_strap`), the connection dropped, ``events()`` ends after what is queued."""
        if not self._closed.is_set():
            self._closed.set()
            self._lost.set()
            self._queue.put_nowait(None)
            self.connected = False  # from now: the connection goes with the task
            if self._task is not None:
                # open_strap's TaskGroup owns the task; closing early (the session stopping)
                # must not leave a scan or connect on the radio for up to CONNECT_TIMEOUT_S
                self._task.cancel()

    # --- the task ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, listen, reconnect, until :meth:`close`. Never raises (except cancellation)."""
        if self._start_after is not None:
            # a link closed meanwhile is cancelled too (open_strap does both), which ends this
            await self._start_after()
        attempt = 0
        while not self._closed.is_set():
            reason = await self._one_connection()
            if self._closed.is_set():
                break
            # a strap that was delivering starts the backoff again; one that never did backs off
            attempt = 0 if self._had_data else attempt
            delay = self._backoff_s[min(attempt, len(self._backoff_s) - 1)]
            attempt += 1
            self._emit(StrapDown(self._now(), reason, delay))
            log.info("heart-rate strap %s: %s; retrying in %g s", self.target, reason, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._closed.wait()

    async def _one_connection(self) -> str:
        """One attempt: find, connect, subscribe, listen. Returns why it ended."""
        self._had_data = False
        self._lost.clear()
        self.attempts += 1
        try:
            target = await self._find()
            if target is None:
                return f"no heart-rate strap {self.target!r} heard within {FIND_TIMEOUT_S:g} s"
            client = BleakClient(
                target,
                disconnected_callback=lambda _: self._lost.set(),
                backend=self._client_backend,
            )
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await client.connect()
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await client.start_notify(HEART_RATE_MEASUREMENT_UUID, self._on_notify)
                self.connections += 1
                self.connected = True
                self.name = client.name if isinstance(target, str) else target.name
                self.address = client.address
                self._last_rx_s = self._now()
                self._emit(StrapUp(self._now(), self.name, client.address, self.connections > 1))
                log.info("heart-rate strap %s connected (%s)", self.name, client.address)
                return await self._listen()
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CONNECT_TIMEOUT_S):
                        await client.disconnect()
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return "the strap did not answer in time"
        except Exception as exc:  # a strap failing never stops the session: report, retry
            unavailable = bluetooth_unavailable(exc)
            if unavailable is not None:
                return str(unavailable)
            if not isinstance(exc, (BleakError, OSError, StrapError)):
                log.warning("heart-rate strap %s: unexpected %r", self.target, exc, exc_info=True)
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async def _find(self) -> BLEDevice | str | None:
        # bleak's kwargs typing wants a backend class; passing none at all means "the platform's"
        scanner: dict[str, Any] = {}
        if self._scanner_backend is not None:
            scanner["backend"] = self._scanner_backend
        if is_address(self.target):
            device = await BleakScanner.find_device_by_address(
                self.target, timeout=FIND_TIMEOUT_S, **scanner
            )
            return device

        def wanted(device: BLEDevice, adv: AdvertisementData) -> bool:
            return _is_strap(adv) and name_matches(adv.local_name or device.name, self.target)

        return await BleakScanner.find_device_by_filter(wanted, timeout=FIND_TIMEOUT_S, **scanner)

    async def _listen(self) -> str:
        while True:
            left = self._last_rx_s + self._silent_s - self._now()
            if left <= 0:
                return f"the strap sent nothing for {self._silent_s:g} s"
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._lost.wait()
            if self._closed.is_set():
                return "closed"
            if self._lost.is_set():
                return "link dropped"

    def _on_notify(self, _: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self._now()
        self._last_rx_s = now
        try:
            measurement = decode_heart_rate_measurement(bytes(data))
        except HeartRateDecodeError as exc:
            self._emit(StrapBadFrame(now, str(exc)))
            return
        self._had_data = True
        reading = StrapReading(now, measurement)
        self.latest = reading
        self._emit(reading)

    # --- helpers -------------------------------------------------------------------------------

    def _emit(self, event: StrapEvent) -> None:
        if self._closed.is_set():
            return
        if self._queue.qsize() >= _QUEUE_MAX:
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()


@contextlib.asynccontextmanager
async def open_strap(target: str, **options: Any) -> AsyncIterator[StrapLink]:
    """A :class:`StrapLink` whose task lives in its own TaskGroup for the ``async with`` block.

    ``options`` are :class:`StrapLink`'s (``client_backend``, ``scanner_backend``...). Leaving the
    block closes the link and waits for its task; the strap's failures never escape it.
    """
    link = StrapLink(target, **options)
    # The body's own exception is taken out of the group and re-raised after it: a TaskGroup
    # would wrap it in an ExceptionGroup, and the session's stop path and the CLI must see its
    # errors as they are. link.run() itself never raises, so nothing else can come out of it.
    # Leaving cancels the task too: a scan or a connect in progress must not hold the session's
    # exit for up to FIND_TIMEOUT_S / CONNECT_TIMEOUT_S.
    body_error: BaseException | None = None
    async with asyncio.TaskGroup() as group:
        task = link._task = group.create_task(link.run(), name=f"hr strap {link.target}")
        try:
            yield link
        except BaseException as exc:
            body_error = exc
        finally:
            link.close()
            task.cancel()
    if body_error is not None:
        raise body_error
