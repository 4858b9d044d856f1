"""``TreadmillLink``: one FTMS treadmill over bleak, from connect to a stopped belt.

    async with TreadmillLink(address, profile=profile) as link:
        await link.start()
        await link.set_speed(3.2)
        async for event in link.events():
            ...

What it guarantees (DESIGN.md invariants 1, 2 and 4; STYLE points 2, 9, 10):

* **One command in flight.** Commands go through one worker task, one at a time, each matched to
  its indication by ``treadcoach.ftms.ControlPoint`` under ``asyncio.timeout(command_timeout_s)``.
  A newer speed (or incline) replaces a queued, unsent one: three quick changes are one round trip.
* **Stop jumps the queue.** ``stop()`` writes 0x08 0x01 at once, even while another command awaits
  its answer; commands still queued are dropped (``CommandSuperseded``), so none reaches the belt
  after the stop.
* **Start is never sent to a running belt** (some machines treat it as a toggle).
* **Control lost (0xFF)** is reported (``ControlLostEvent``); commands then raise ``ControlLost``
  and control is requested again only when the session calls ``request_control()``.
* **A dropped link** is reconnected with backoff; the first thing after reconnecting is to learn the
  belt state and stop it, unless the session set ``resume_after_reconnect``. Start is never sent on
  reconnect.
* **Leaving the block** always tries to send Stop (unless the belt is known to stand still) under
  its own short timeout, then disconnects.

Bleak's callbacks run on the loop; each is decoded right there and bridged once into an
``asyncio.Queue`` of typed events (``events()``). A frame that does not decode is counted
(``bad_frames``), reported (``BadFrameEvent``) and skipped: it never drops the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Final, TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from treadcoach.errors import (
    CommandSuperseded,
    CommandTimeout,
    ControlLost,
    ControlRejected,
    FtmsDecodeError,
    LimitsError,
    LinkError,
    LocalFtmsError,
    TreadcoachError,
)
from treadcoach.ftms import (
    CommandFailed,
    CommandSucceeded,
    ControlEvent,
    ControlPermissionLost,
    ControlPoint,
    ControlRequest,
    InclinationRange,
    MachineFeatures,
    Permission,
    RequestControl,
    SetTargetInclination,
    SetTargetSpeed,
    SpeedRange,
    StartResume,
    StopPause,
    TrainingStatus,
    TreadmillData,
    TreadmillDataAssembler,
    UnexpectedResponse,
    decode_inclination_range,
    decode_machine_features,
    decode_machine_status,
    decode_speed_range,
    decode_training_status,
    uuids,
)
from treadcoach.ftms.enums import (
    MachineStatusOp,
    OpCode,
    ResultCode,
    StopPauseParam,
    TargetSettingFeature,
    TrainingStatusCode,
)
from treadcoach.link.belt import BeltBelief
from treadcoach.link.bluetooth import bluetooth_unavailable
from treadcoach.link.events import (
    BadFrameEvent,
    ControlLostEvent,
    LinkDownEvent,
    LinkEvent,
    LinkUpEvent,
    StatusEvent,
    TelemetryEvent,
    TrainingStatusEvent,
)
from treadcoach.link.pace import strip_u16_pace
from treadcoach.link.profile import GENERIC_PROFILE, LinkProfile
from treadcoach.link.ranges import intersect, snap
from treadcoach.link.scan import find_treadmill, is_address

__all__ = [
    "DEFAULT_INCLINE_RANGE",
    "DEFAULT_SPEED_RANGE",
    "KMH_PER_MPH",
    "ProfileSource",
    "TreadmillLink",
]

logger = logging.getLogger(__name__)

KMH_PER_MPH: Final = 1.609344

#: used when the machine has no Supported Speed Range (0x2AD4) and devices.toml sets no limits:
#: a conservative span every home treadmill and walking pad can run.
DEFAULT_SPEED_RANGE: Final = SpeedRange(min_kmh=1.0, max_kmh=12.0, increment_kmh=0.1)
#: used without 0x2AD5 and without configured limits: a flat belt, unless the machine says it
#: accepts inclination targets (then 0-10 % by 0.5).
DEFAULT_INCLINE_RANGE: Final = InclinationRange(min_pct=0.0, max_pct=0.0, increment_pct=0.5)
_INCLINE_IF_SUPPORTED: Final = InclinationRange(min_pct=0.0, max_pct=10.0, increment_pct=0.5)

#: waits between "control not permitted" (0x05) retries; each retry re-requests control first.
#: Kingsmith pads answer 0x05 for ~2.5 s after Start, which this rides out.
NOT_PERMITTED_BACKOFF_S: Final = (0.5, 1.0, 2.0)
#: a connect that is refused outright is tried this often by bleak-retry-connector per attempt.
CONNECT_ATTEMPTS: Final = 3
#: how fresh telemetry must be for "the belt stands still" to be believed on exit.
_FRESH_S: Final = 2.0
_STOPPED_STATUSES: Final = frozenset(
    {
        MachineStatusOp.RESET,
        MachineStatusOp.STOPPED_OR_PAUSED_BY_USER,
        MachineStatusOp.STOPPED_BY_SAFETY_KEY,
    }
)
_IDLE_TRAINING: Final = frozenset(
    {TrainingStatusCode.IDLE, TrainingStatusCode.PRE_WORKOUT, TrainingStatusCode.POST_WORKOUT}
)

#: ``(advertised name, address) -> profile``: e.g. ``Settings.profile_for``, resolved once the
#: device is found, so a link can be opened by name with the matching devices.toml entry.
ProfileSource = LinkProfile | Callable[[str | None, str], LinkProfile]

T = TypeVar("T")


@dataclass(eq=False, slots=True)
class _Job:
    """A command waiting for (or in) the worker. ``value`` is what the caller gets back."""

    request: ControlRequest
    future: asyncio.Future[float | None]
    epoch: int
    value: float | None = None
    skipped: bool = False


_END: Final = object()


def _opname(opcode: int) -> str:
    try:
        return OpCode(opcode).name
    except ValueError:
        return f"0x{opcode:02X}"


def _result_text(result: int) -> str:
    try:
        return f"0x{result:02X} ({ResultCode(result).name.lower().replace('_', ' ')})"
    except ValueError:
        return f"0x{result:02X}"


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    # Callers await a shield of the job; one that was cancelled leaves nobody to read the error.
    if not future.cancelled():
        future.exception()


class _EventStream:
    """The async iterator over one link's events; ends when the link closes or gives up."""

    def __init__(self, queue: asyncio.Queue[object]) -> None:
        self._queue = queue
        self._ended = False

    def __aiter__(self) -> _EventStream:
        return self

    async def __anext__(self) -> LinkEvent:
        if self._ended:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        return item  # type: ignore[return-value]


class TreadmillLink:
    """One FTMS treadmill: connect, subscribe, command, reconnect, and stop on the way out.

    ``target`` is an address (MAC, or the macOS UUID), an advertised name (prefix or glob; the
    first treadmill heard that matches), or a ``BLEDevice`` from a scan. ``profile`` is the
    devices.toml entry (``DeviceProfile``), or a ``(name, address) -> profile`` lookup such as
    ``Settings.profile_for``; None means a standard FTMS treadmill. ``client_backend`` /
    ``scanner_backend`` are bleak backends (``sim.bleak_backend.SimBleakClient`` /
    ``SimBleakScanner`` for the simulator); None is the platform's.
    """

    def __init__(
        self,
        target: str | BLEDevice,
        *,
        profile: ProfileSource | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        command_timeout_s: float = 2.0,
        reconnect: bool = True,
        max_reconnect_s: float = 60.0,
        find_timeout_s: float = 10.0,
        exit_stop_timeout_s: float = 2.5,
    ) -> None:
        self._target = target
        self._profile_source = profile
        self._profile: LinkProfile = (
            GENERIC_PROFILE if profile is None or callable(profile) else profile
        )
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self.command_timeout_s = command_timeout_s
        self.reconnect = reconnect
        self.max_reconnect_s = max_reconnect_s
        self.find_timeout_s = find_timeout_s
        self.exit_stop_timeout_s = exit_stop_timeout_s
        #: When True, a reconnect requests control but does not stop the belt (the session says
        #: it will take over). Default False: reconnecting stops the belt first (invariant 2).
        self.resume_after_reconnect = False

        self._device: BLEDevice | None = target if isinstance(target, BLEDevice) else None
        self._address: str | None = (
            target.address
            if isinstance(target, BLEDevice)
            else target
            if is_address(target)
            else None
        )
        self._name: str | None = target.name if isinstance(target, BLEDevice) else None

        self._client: BleakClient | None = None
        self._cp_char: BleakGATTCharacteristic | None = None
        self._ts_char: BleakGATTCharacteristic | None = None
        self._cp = ControlPoint()
        self._assembler = TreadmillDataAssembler()
        self._waiters: list[tuple[ControlRequest, asyncio.Future[int]]] = []
        self._jobs: deque[_Job] = deque()
        self._jobs_ready = asyncio.Event()
        self._stop_epoch = 0
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stream = _EventStream(self._queue)

        self._stack: contextlib.AsyncExitStack | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._worker: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None

        self._gatt_up = False  # GATT connected and subscribed
        self._ready = False  # ... and the (re)connect handshake is done: commands accepted
        self._closing = False
        self._closed = False
        self._control_lost = False
        self._connected_at: float | None = None
        self._last_command_at = 0.0

        self._features: MachineFeatures | None = None
        self._device_speed_range: SpeedRange | None = None
        self._device_incline_range: InclinationRange | None = None
        self._speed_range = DEFAULT_SPEED_RANGE
        self._incline_range = DEFAULT_INCLINE_RANGE

        self._belt = BeltBelief()
        self._running_event = asyncio.Event()
        self._up = asyncio.Event()  # set while ``_ready``
        self._state_known = asyncio.Event()
        self._running_at_drop = False
        self._target_speed_kmh: float | None = None
        self._target_incline_pct: float | None = None
        self._last_telemetry_at: float | None = None
        self._last_telemetry: TreadmillData | None = None
        self._training_status: TrainingStatus | None = None
        #: Notifications and indications that did not decode (skipped, link kept).
        self.bad_frames = 0

    # --- identity and state ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised name (the address when the treadmill advertises none)."""
        return self._name or self._address or str(self._target)

    @property
    def address(self) -> str | None:
        return self._address

    @property
    def profile(self) -> LinkProfile:
        return self._profile

    @property
    def features(self) -> MachineFeatures | None:
        """Fitness Machine Feature (0x2ACC), or None when the machine has none or it was bad."""
        return self._features

    @property
    def speed_range(self) -> SpeedRange:
        """Effective: the machine's 0x2AD4 within devices.toml's limits (see ``set_speed``)."""
        return self._speed_range

    @property
    def incline_range(self) -> InclinationRange:
        """Effective: the machine's 0x2AD5 within devices.toml's limits (see ``set_incline``)."""
        return self._incline_range

    @property
    def connected(self) -> bool:
        """The link is up and ready for commands (False while reconnecting)."""
        return self._ready

    @property
    def reconnecting(self) -> bool:
        return self._reconnect_task is not None and not self._reconnect_task.done()

    @property
    def has_control(self) -> bool:
        """Request Control succeeded on this connection and was not lost since."""
        return self._cp.has_control

    @property
    def control_lost(self) -> bool:
        """0xFF was seen: commands raise ControlLost until ``request_control()`` succeeds."""
        return self._control_lost

    @property
    def belt_running(self) -> bool | None:
        """The machine's run state (Machine Status, then telemetry); None until known.

        A belt coasting down after Stop is *not* running: its state is stopped.
        """
        return self._belt.running

    @property
    def belt_speed_kmh(self) -> float | None:
        """The belt speed in the last telemetry record (true km/h), None before the first."""
        return self._belt.speed_kmh

    @property
    def target_speed_kmh(self) -> float | None:
        """The target the machine accepted last (0 after Stop/Pause), in true km/h.

        Compare with ``belt_speed_kmh`` to see a target being ignored (the watchdog's job).
        """
        return self._target_speed_kmh

    @property
    def target_incline_pct(self) -> float | None:
        return self._target_incline_pct

    @property
    def last_telemetry(self) -> TreadmillData | None:
        return self._last_telemetry

    @property
    def last_telemetry_at(self) -> float | None:
        """Loop time of the last complete Treadmill Data record, None before the first."""
        return self._last_telemetry_at

    @property
    def training_status(self) -> TrainingStatus | None:
        return self._training_status

    def telemetry_age_s(self) -> float:
        """Seconds (loop clock) since the last telemetry record, or since connecting if none came.

        Keeps growing while the link is down or the machine has gone quiet: the stale watchdog's
        input. ``inf`` before the first connection.
        """
        since = (
            self._last_telemetry_at if self._last_telemetry_at is not None else self._connected_at
        )
        if since is None:
            return float("inf")
        return asyncio.get_running_loop().time() - since

    def events(self) -> AsyncIterator[LinkEvent]:
        """Every link event in order, from connecting on; ends when the link closes or gives up.

        One consumer: events are queued until read, so read them for the whole session.
        """
        return self._stream

    # --- lifetime ----------------------------------------------------------------------------

    async def __aenter__(self) -> TreadmillLink:
        if self._stack is not None:
            raise LinkError(self._address, "a TreadmillLink can be entered only once")
        self._stack = contextlib.AsyncExitStack()
        self._tg = await self._stack.enter_async_context(asyncio.TaskGroup())
        try:
            await self._connect_once(self.find_timeout_s)
            if self._profile.request_control != "never":
                result = await self._round_trip(RequestControl(), self.command_timeout_s)
                if result == ResultCode.NOT_SUPPORTED:
                    # It has no Request Control: its commands will tell whether they need one.
                    logger.info("%s: Request Control is not supported; going on", self.name)
                elif result != ResultCode.SUCCESS:
                    raise ControlRejected(
                        self._address,
                        OpCode.REQUEST_CONTROL,
                        int(result),
                        f"{self.name} refused Request Control with result {_result_text(result)}; "
                        "another app may be connected to it",
                    )
            self._ready = True
            self._up.set()
            self._worker = self._tg.create_task(self._work(), name=f"link {self.name} commands")
            if self._profile.keepalive_s:
                self._keepalive_task = self._tg.create_task(
                    self._keepalive(self._profile.keepalive_s), name=f"link {self.name} keep-alive"
                )
            self._emit(LinkUpEvent(False, bool(self._belt.running), False, self._now()))
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._gatt_up and self.reconnecting:
            # Leaving while the link is down: give the reconnect a moment to come back, because
            # coming back stops the belt (nobody else will once we are gone).
            self.resume_after_reconnect = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.exit_stop_timeout_s):
                    await self._up.wait()
        self._closing = True
        self._ready = False
        self._drop_queued(lambda job: LinkError(self._address, "the link is closing"))
        try:
            # After 0xFF the belt belongs to whoever took over at the console: a parting Stop
            # would fight them (DESIGN.md invariant 2), so none is sent.
            if self._gatt_up and not self._known_stopped() and not self._control_lost:
                try:
                    async with asyncio.timeout(self.exit_stop_timeout_s):
                        await self._stop_round_trips(StopPause(StopPauseParam.STOP), 1.0, 2)
                except (TreadcoachError, TimeoutError, BleakError) as error:
                    logger.warning("%s: could not confirm Stop while closing: %s", self.name, error)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        self._closing = True
        self._ready = False
        for task in (self._worker, self._keepalive_task, self._reconnect_task):
            if task is not None:
                task.cancel()
        client, self._client = self._client, None
        self._gatt_up = False
        self._fail_waiters(LinkError(self._address, "the link closed before the answer came"))
        if client is not None:
            try:
                async with asyncio.timeout(2.0):
                    await client.disconnect()
            except (BleakError, OSError, TimeoutError) as error:
                logger.info("%s: disconnect failed: %s", self.name, error)
        self._end_stream()
        self._closed = True
        stack, self._stack = self._stack, None
        if stack is not None:
            # The body's exception is not handed to the TaskGroup: it would come back wrapped
            # in an ExceptionGroup. A child task's own failure still surfaces here.
            await stack.aclose()

    def _known_stopped(self) -> bool:
        age = self.telemetry_age_s()
        return (
            self._belt.running is False
            and self._belt.speed_kmh is not None
            and self._belt.speed_kmh <= 0.0
            and age <= _FRESH_S
        )

    # --- commands ----------------------------------------------------------------------------

    async def request_control(self) -> None:
        """Ask for control (0x00). The only way back after ControlLostEvent."""
        self._check_link()
        await self._submit(RequestControl())

    async def start(self) -> bool:
        """Start/Resume (0x07), unless the belt is running: then nothing is sent.

        Returns True when Start was sent and accepted, False when the belt was already running
        (some machines treat Start as a toggle, so it is never sent to a running belt). When the
        belt state is not known yet, waits up to ``command_timeout_s`` for telemetry to tell.
        """
        self._check_commandable()
        # A Stop or Pause from now on cancels this Start, even one that lands while we wait
        # to learn the belt's state (the job carries the epoch of the call, not of the queue).
        epoch = self._stop_epoch
        if self._belt.running is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.command_timeout_s):
                    await self._state_known.wait()
        if self._belt.running:
            logger.info("%s: belt already running; Start not sent", self.name)
            return False
        job = self._enqueue(StartResume(), None, epoch=epoch)
        await asyncio.shield(job.future)
        return not job.skipped

    def stop(
        self, *, take_control: bool = False, timeout_s: float = 1.0, attempts: int = 3
    ) -> asyncio.Future[None]:
        """Stop (0x08 0x01) now: the stop epoch moves and the write is scheduled before this
        returns, so a speed command queued in the same loop turn is never written after it.

        Synchronous on purpose (DESIGN invariant 2): the caller's loop turn already counts.
        Returns a future that resolves when the machine acknowledged the Stop; ``await
        link.stop()`` reads as before. Queued commands are dropped (their callers get
        CommandSuperseded). Retried up to ``attempts`` times (each waiting ``timeout_s``) while
        the link lives. On a link that is down, the future fails with LinkError after making
        sure the reconnect stops the belt.

        ``take_control``: the user explicitly asked for this stop (key, pedal, MQTT, signal), so
        a "control not permitted" answer may be met with Request Control even after 0xFF.
        Without it, a Stop after 0xFF is sent once and the machine refusing it raises
        ControlLost (a parting Stop does not fight the console).
        """
        self._stop_epoch += 1
        self._drop_queued(lambda job: CommandSuperseded(self._address, job.request.opcode, "Stop"))
        loop = asyncio.get_running_loop()
        if not self._gatt_up or self._tg is None:
            self.resume_after_reconnect = False
            failed: asyncio.Future[None] = loop.create_future()
            failed.set_exception(
                LinkError(
                    self._address,
                    f"the link to {self.name} is down; the belt is stopped first thing on "
                    "reconnect",
                )
            )
            failed.add_done_callback(_mark_retrieved)
            return failed
        # The outcome goes to the caller through this future, never into the link's task group:
        # a refused Stop must not take the whole link down with it.
        outcome: asyncio.Future[None] = loop.create_future()
        outcome.add_done_callback(_mark_retrieved)

        async def send() -> None:
            try:
                await self._stop_round_trips(
                    StopPause(StopPauseParam.STOP), timeout_s, attempts, take_control=take_control
                )
            except TreadcoachError as error:
                if not outcome.done():
                    outcome.set_exception(error)
            except BaseException:
                if not outcome.done():
                    outcome.set_exception(
                        LinkError(self._address, "the link closed while stopping")
                    )
                raise
            else:
                if not outcome.done():
                    outcome.set_result(None)

        self._tg.create_task(send(), name=f"link {self.name} stop")
        return outcome

    async def pause(self) -> None:
        """Pause (0x08 0x02). Drops queued commands like Stop, but waits for one in flight."""
        self._check_commandable()
        self._stop_epoch += 1
        self._drop_queued(lambda job: CommandSuperseded(self._address, job.request.opcode, "Pause"))
        await self._submit(StopPause(StopPauseParam.PAUSE))

    async def set_speed(self, kmh: float, *, ceiling_kmh: float | None = None) -> float:
        """Set Target Speed; returns the km/h actually commanded.

        ``kmh`` is clamped to ``speed_range`` and rounded to its increment (never rejected for
        range). On a machine that reads targets as mph the wire value is converted. A newer
        call replaces a queued older one; both callers then get the newer value. On
        ``start_before_speed`` machines it first waits (up to ``running_wait_s``) for the belt
        to run.

        ``ceiling_kmh`` is the session's active cap (DESIGN invariant 1): the result never
        exceeds it, rounding down to the increment where nearest-rounding would go above. A cap
        below the machine's minimum speed raises LimitsError.
        """
        if not self._profile.speed_control:
            raise ControlRejected(
                self._address,
                OpCode.SET_TARGET_SPEED,
                ResultCode.NOT_SUPPORTED,
                f"{self.name} does not accept speed targets (devices.toml: speed_control = false)",
            )
        self._check_commandable()
        r = self._speed_range
        hi = r.max_kmh
        if ceiling_kmh is not None:
            if ceiling_kmh < r.min_kmh:
                raise LimitsError(
                    "ceiling_kmh",
                    f"the cap of {ceiling_kmh:g} km/h is below {self.name}'s minimum speed of "
                    f"{r.min_kmh:g} km/h",
                )
            hi = min(hi, ceiling_kmh)
        value = snap(kmh, r.min_kmh, hi, r.increment_kmh)
        wire = value / KMH_PER_MPH if self._profile.target_speed_in_mph else value
        request = SetTargetSpeed(round(wire, 2))
        return await self._coalesce(request, value)

    async def set_incline(self, pct: float) -> float:
        """Set Target Inclination; returns the % commanded (clamped to ``incline_range``, rounded
        to its increment; a newer call replaces a queued older one)."""
        self._check_commandable()
        r = self._incline_range
        value = snap(pct, r.min_pct, r.max_pct, r.increment_pct)
        return await self._coalesce(SetTargetInclination(value), value)

    async def _coalesce(
        self, request: SetTargetSpeed | SetTargetInclination, value: float
    ) -> float:
        for job in self._jobs:
            if type(job.request) is type(request):
                job.request, job.value = request, value
                result = await asyncio.shield(job.future)
                assert result is not None
                return result
        result = await self._submit(request, value)
        assert result is not None
        return result

    async def _submit(self, request: ControlRequest, value: float | None = None) -> float | None:
        return await asyncio.shield(self._enqueue(request, value).future)

    def _enqueue(
        self, request: ControlRequest, value: float | None, *, epoch: int | None = None
    ) -> _Job:
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_mark_retrieved)
        job = _Job(request, future, self._stop_epoch if epoch is None else epoch, value)
        self._jobs.append(job)
        self._jobs_ready.set()
        return job

    def _check_link(self) -> None:
        if self._closed or self._closing:
            raise LinkError(self._address, f"the link to {self.name} is closed")
        if not self._ready:
            raise LinkError(
                self._address,
                f"the link to {self.name} is down"
                + ("; reconnecting" if self.reconnecting else ""),
            )

    def _check_commandable(self) -> None:
        self._check_link()
        if self._control_lost:
            raise self._control_lost_error()

    def _control_lost_error(self) -> ControlLost:
        return ControlLost(
            self._address,
            f"control of {self.name} was taken at the console or by another app; "
            "commands are refused until control is requested again",
        )

    def _drop_queued(self, error: Callable[[_Job], Exception]) -> None:
        while self._jobs:
            job = self._jobs.popleft()
            if not job.future.done():
                job.future.set_exception(error(job))

    # --- the worker: one command at a time ----------------------------------------------------

    async def _work(self) -> None:
        while True:
            await self._jobs_ready.wait()
            self._jobs_ready.clear()
            while self._jobs:
                job = self._jobs.popleft()
                if job.future.done():
                    continue
                try:
                    result = await self._execute(job)
                except asyncio.CancelledError:
                    if not job.future.done():
                        job.future.set_exception(
                            LinkError(self._address, "the link closed before the command was sent")
                        )
                    raise
                except TreadcoachError as error:
                    if not job.future.done():
                        job.future.set_exception(error)
                except Exception as error:
                    # A bug: fail the caller too, then end the link's task group (structured).
                    if not job.future.done():
                        job.future.set_exception(error)
                    raise
                else:
                    if not job.future.done():
                        job.future.set_result(result)

    def _superseded(self, job: _Job) -> CommandSuperseded | None:
        if job.epoch != self._stop_epoch:
            return CommandSuperseded(self._address, job.request.opcode, "Stop or Pause")
        return None

    async def _execute(self, job: _Job) -> float | None:
        request = job.request
        if (error := self._superseded(job)) is not None:
            raise error
        if self._control_lost and not isinstance(request, RequestControl):
            raise self._control_lost_error()
        if isinstance(request, StartResume) and self._belt.running:
            # The belt started while Start waited in the queue (the console, a toggle...).
            logger.info("%s: belt already running; queued Start not sent", self.name)
            job.skipped = True
            return None
        if (
            isinstance(request, SetTargetSpeed)
            and self._profile.start_before_speed
            and not self._belt.running
        ):
            await self._wait_running(self._profile.running_wait_s)
            if (error := self._superseded(job)) is not None:
                raise error
        if self._profile.request_control == "before_every_command" and not isinstance(
            request, RequestControl
        ):
            await self._expect_success(RequestControl())
        attempt = 0
        while True:
            if not isinstance(request, RequestControl) and self._control_lost:
                raise self._control_lost_error()
            result = await self._round_trip(request, self.command_timeout_s)
            if result == ResultCode.SUCCESS:
                self._applied(request, job.value)
                return job.value
            if (
                result == ResultCode.CONTROL_NOT_PERMITTED
                and not isinstance(request, RequestControl)
                and attempt < len(NOT_PERMITTED_BACKOFF_S)
            ):
                if self._control_lost:
                    raise self._control_lost_error()
                await asyncio.sleep(NOT_PERMITTED_BACKOFF_S[attempt])
                attempt += 1
                if (error := self._superseded(job)) is not None:
                    raise error
                if self._profile.request_control != "never" and not self._control_lost:
                    await self._round_trip(RequestControl(), self.command_timeout_s)
                continue
            raise self._rejected(request, result)

    async def _expect_success(self, request: ControlRequest) -> None:
        result = await self._round_trip(request, self.command_timeout_s)
        if result != ResultCode.SUCCESS:
            raise self._rejected(request, result)
        self._applied(request, None)

    def _rejected(self, request: ControlRequest, result: int) -> ControlRejected:
        return ControlRejected(
            self._address,
            request.opcode,
            int(result),
            f"{self.name} refused {_opname(request.opcode)} with result {_result_text(result)}",
        )

    def _applied(self, request: ControlRequest, value: float | None) -> None:
        """Bookkeeping after the machine accepted ``request``."""
        if isinstance(request, SetTargetSpeed):
            self._target_speed_kmh = value
        elif isinstance(request, SetTargetInclination):
            self._target_incline_pct = value
        elif isinstance(request, StartResume):
            self._belt.started(self._now())
            self._belt_changed()
        elif isinstance(request, StopPause):
            self._belt.stopped(self._now())
            self._belt_changed()
            self._target_speed_kmh = 0.0
        elif isinstance(request, RequestControl) and self._control_lost:
            logger.info("%s: control regained", self.name)
            self._control_lost = False

    async def _wait_running(self, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                await self._running_event.wait()
            return True
        except TimeoutError:
            logger.info(
                "%s: belt not running after %g s; sending speed anyway", self.name, timeout_s
            )
            return False

    # --- the stop path --------------------------------------------------------------------------

    async def _stop_round_trips(
        self, request: StopPause, timeout_s: float, attempts: int, *, take_control: bool = False
    ) -> None:
        last: TreadcoachError | None = None
        for _ in range(max(1, attempts)):
            if not self._gatt_up:
                break
            try:
                result = await self._round_trip(request, timeout_s)
            except ControlLost:
                raise
            except LinkError as error:  # a timeout, or the write failed: try again
                last = error
                continue
            if result == ResultCode.SUCCESS:
                self._applied(request, None)
                return
            if result == ResultCode.CONTROL_NOT_PERMITTED:
                if self._control_lost and not take_control:
                    raise self._control_lost_error()
                # Ask for control again, unless a command is in flight (the control point takes
                # only Stop alongside another request); the next attempt is the retry.
                if self._profile.request_control != "never" and not self._cp.pending:
                    with contextlib.suppress(LinkError):
                        await self._round_trip(RequestControl(), timeout_s)
            last = self._rejected(request, result)
        if last is None:
            last = LinkError(self._address, f"the link to {self.name} dropped while stopping")
        raise last

    async def _round_trip(self, request: ControlRequest, timeout_s: float) -> int:
        """Write ``request`` and wait for its indication; returns the result code."""
        client, char = self._client, self._cp_char
        if client is None or char is None or not self._gatt_up:
            raise LinkError(self._address, f"the link to {self.name} is down")
        try:
            data = self._cp.send(request)
        except LocalFtmsError as error:
            if self._cp.permission is Permission.LOST:
                raise self._control_lost_error() from error
            raise LinkError(self._address, str(error)) from error
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        entry = (request, answer)
        self._waiters.append(entry)
        self._last_command_at = loop.time()
        try:
            async with asyncio.timeout(timeout_s):
                await client.write_gatt_char(char, data, response=True)
                return await answer
        except TimeoutError:
            self._cp.timeout(request)
            raise CommandTimeout(self._address, request.opcode, timeout_s) from None
        except BleakError as error:
            self._cp.timeout(request)
            raise LinkError(
                self._address,
                f"writing {_opname(request.opcode)} to {self.name} failed: {error}",
            ) from error
        except BaseException:
            self._cp.timeout(request)
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    def _fail_waiters(self, error: LinkError) -> None:
        for _, answer in self._waiters:
            if not answer.done():
                answer.set_exception(error)
                answer.add_done_callback(_mark_retrieved)

    # --- connecting ---------------------------------------------------------------------------

    async def _find_device(self, timeout_s: float) -> BLEDevice:
        if self._device is not None and self._client is None and not self._connected_once():
            return self._device
        wanted = self._address or str(self._target)
        found = await find_treadmill(
            wanted, timeout_s=timeout_s, scanner_backend=self._scanner_backend
        )
        self._address = found.address
        self._name = found.name or self._name
        return found.device

    def _connected_once(self) -> bool:
        return self._connected_at is not None

    def _resolve_profile(self) -> None:
        source = self._profile_source
        if source is not None and callable(source) and self._address is not None:
            self._profile = source(self._name, self._address)

    async def _connect_once(self, find_timeout_s: float) -> None:
        device = await self._find_device(find_timeout_s)
        if not self._connected_once():
            self._resolve_profile()
        extra: dict[str, Any] = {}
        if self._client_backend is not None:
            extra["backend"] = self._client_backend
        try:
            client = await establish_connection(
                BleakClient,
                device,
                device.name or device.address,
                disconnected_callback=self._on_disconnected,
                max_attempts=CONNECT_ATTEMPTS,
                **extra,
            )
        except (BleakError, OSError) as error:
            unavailable = bluetooth_unavailable(error)
            if unavailable is not None:
                raise unavailable from error
            raise LinkError(
                self._address, f"could not connect to {self.name} ({device.address}): {error}"
            ) from error
        self._client = client
        try:
            await self._setup(client)
        except BleakError as error:
            self._client = None
            self._gatt_up = False
            with contextlib.suppress(BleakError, OSError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await client.disconnect()
            raise LinkError(
                self._address, f"setting up {self.name} after connecting failed: {error}"
            ) from error
        except BaseException:
            self._client = None
            self._gatt_up = False
            with contextlib.suppress(BleakError, OSError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await client.disconnect()
            raise

    async def _setup(self, client: BleakClient) -> None:
        services = client.services
        cp = services.get_characteristic(uuids.CONTROL_POINT_UUID)
        data = services.get_characteristic(uuids.TREADMILL_DATA_UUID)
        if cp is None or data is None:
            raise LinkError(
                self._address,
                f"{self.name} has no FTMS Treadmill Data or Control Point: it is not an FTMS "
                "treadmill we can drive",
            )
        self._cp_char = cp
        self._cp.reset()
        self._assembler.reset()
        self._features = await self._read(client, uuids.FEATURE_UUID, decode_machine_features)
        self._device_speed_range = await self._read(
            client, uuids.SPEED_RANGE_UUID, decode_speed_range
        )
        self._device_incline_range = await self._read(
            client, uuids.INCLINATION_RANGE_UUID, decode_inclination_range
        )
        self._update_ranges()
        training = await self._read(client, uuids.TRAINING_STATUS_UUID, decode_training_status)
        if training is not None:
            self._training_status = training
            if training.status in _IDLE_TRAINING:
                self._belt.idle()
                self._belt_changed()
        # FTMS: the control point's indications must be on before the first write to it.
        await client.start_notify(cp, self._on_control_point)
        await client.start_notify(data, self._on_treadmill_data)
        status = services.get_characteristic(uuids.MACHINE_STATUS_UUID)
        if status is not None:
            await client.start_notify(status, self._on_machine_status)
        self._ts_char = services.get_characteristic(uuids.TRAINING_STATUS_UUID)
        if self._ts_char is not None and (
            "notify" in self._ts_char.properties or "indicate" in self._ts_char.properties
        ):
            await client.start_notify(self._ts_char, self._on_training_status)
        self._gatt_up = True
        self._connected_at = asyncio.get_running_loop().time()

    async def _read(self, client: BleakClient, uuid: str, decode: Callable[[bytes], T]) -> T | None:
        char = client.services.get_characteristic(uuid)
        if char is None or "read" not in char.properties:
            return None
        try:
            raw = bytes(await client.read_gatt_char(char))
        except BleakError as error:
            logger.info("%s: reading %s failed: %s", self.name, uuid, error)
            return None
        try:
            return decode(raw)
        except FtmsDecodeError as error:
            self._bad_frame(uuid, error, raw)
            return None

    def _update_ranges(self) -> None:
        p = self._profile
        dev = self._device_speed_range
        span = intersect(
            (dev.min_kmh, dev.max_kmh) if dev is not None else None, (p.min_kmh, p.max_kmh)
        )
        if span is None and dev is not None:
            logger.warning(
                "%s: devices.toml speed limits %s-%s km/h do not overlap the machine's %s-%s; "
                "using the machine's",
                self.name, p.min_kmh, p.max_kmh, dev.min_kmh, dev.max_kmh,
            )  # fmt: skip
            span = (dev.min_kmh, dev.max_kmh)
        step = p.speed_increment_kmh or (dev.increment_kmh if dev is not None else 0.0)
        if span is None:
            lo = p.min_kmh if p.min_kmh is not None else DEFAULT_SPEED_RANGE.min_kmh
            hi = p.max_kmh if p.max_kmh is not None else DEFAULT_SPEED_RANGE.max_kmh
            span = (lo, max(lo, hi))
        self._speed_range = SpeedRange(span[0], span[1], step or DEFAULT_SPEED_RANGE.increment_kmh)

        inc = self._device_incline_range
        fallback = DEFAULT_INCLINE_RANGE
        features = self._features
        if (
            features is not None
            and features.target_setting & TargetSettingFeature.INCLINATION_TARGET
        ):
            fallback = _INCLINE_IF_SUPPORTED
        ispan = intersect(
            (inc.min_pct, inc.max_pct) if inc is not None else None,
            (p.incline_min_pct, p.incline_max_pct),
        )
        if ispan is None and inc is not None:
            ispan = (inc.min_pct, inc.max_pct)
        if ispan is None:
            lo = p.incline_min_pct if p.incline_min_pct is not None else fallback.min_pct
            hi = p.incline_max_pct if p.incline_max_pct is not None else fallback.max_pct
            ispan = (lo, max(lo, hi))
        istep = p.incline_step_pct or (inc.increment_pct if inc is not None else 0.0)
        self._incline_range = InclinationRange(ispan[0], ispan[1], istep or fallback.increment_pct)

    # --- link down, and back up -------------------------------------------------------------

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is not self._client or self._closing:
            return
        self._link_down("the treadmill dropped the Bluetooth link")

    def _link_down(self, reason: str) -> None:
        self._running_at_drop = bool(self._belt.running) or (self._belt.speed_kmh or 0.0) > 0.0
        self._client = None
        self._gatt_up = False
        self._ready = False
        self._up.clear()
        self._fail_waiters(LinkError(self._address, f"the link to {self.name} dropped"))
        self._drop_queued(lambda job: LinkError(self._address, f"the link to {self.name} dropped"))
        self._cp.reset()
        self._assembler.reset()
        will_retry = self.reconnect and not self._closing and self._tg is not None
        self._emit(LinkDownEvent(reason, will_retry, self._now()))
        if not will_retry:
            self._end_stream()
            return
        if not self.reconnecting:
            assert self._tg is not None
            self._reconnect_task = self._tg.create_task(
                self._reconnect(), name=f"link {self.name} reconnect"
            )

    async def _reconnect(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_reconnect_s
        delay = 0.5
        attempt = 0
        while True:
            attempt += 1
            last_error = ""
            try:
                find_s = max(1.0, min(5.0, deadline - loop.time()))
                await self._connect_once(find_s)
            except (TreadcoachError, BleakError, OSError, TimeoutError) as error:
                last_error = str(error) or type(error).__name__
                logger.info("%s: reconnect attempt %d failed: %s", self.name, attempt, last_error)
            else:
                stopped = await self._after_reconnect()
                if self._gatt_up:
                    self._ready = True
                    self._up.set()
                    self._emit(LinkUpEvent(True, self._running_at_drop, stopped, self._now()))
                    return
                last_error = "the link dropped again during the reconnect handshake"
            if loop.time() + delay > deadline:
                self._emit(
                    LinkDownEvent(
                        f"gave up reconnecting after {attempt} attempts in "
                        f"{self.max_reconnect_s:g} s: {last_error}",
                        False,
                        self._now(),
                    )
                )
                self._end_stream()
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 8.0)

    async def _after_reconnect(self) -> bool:
        """The first thing on a new connection: take control, and stop the belt. True if stopped."""
        wants_control = self._profile.request_control != "never" and not self._control_lost
        if wants_control:
            try:
                await self._round_trip(RequestControl(), self.command_timeout_s)
            except LinkError as error:
                logger.warning("%s: Request Control after reconnect failed: %s", self.name, error)
        if self.resume_after_reconnect:
            return False
        try:
            await self._stop_round_trips(StopPause(StopPauseParam.STOP), 1.0, 3)
        except TreadcoachError as error:
            logger.warning("%s: Stop after reconnect failed: %s", self.name, error)
            return False
        return True

    # --- keep-alive ---------------------------------------------------------------------------

    async def _keepalive(self, period_s: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period_s)
            if not self._ready or self._control_lost or self._jobs or self._cp.pending:
                continue
            if loop.time() - self._last_command_at < period_s:
                continue
            try:
                if self._profile.request_control != "never":
                    await self._submit(RequestControl())
                elif self._client is not None and self._ts_char is not None:
                    self._last_command_at = loop.time()
                    await self._client.read_gatt_char(self._ts_char)
            except (TreadcoachError, BleakError) as error:
                logger.info("%s: keep-alive failed: %s", self.name, error)

    # --- notifications (bleak callbacks, on the loop) ------------------------------------------

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _emit(self, event: LinkEvent) -> None:
        self._queue.put_nowait(event)

    def _end_stream(self) -> None:
        self._queue.put_nowait(_END)

    def _bad_frame(self, characteristic: str, error: Exception, raw: bytes) -> None:
        self.bad_frames += 1
        logger.debug("%s: bad %s frame %s: %s", self.name, characteristic, raw.hex(" "), error)
        self._emit(BadFrameEvent(characteristic, str(error), raw, self._now()))

    def _belt_changed(self) -> None:
        if self._belt.running is not None:
            self._state_known.set()
        if self._belt.running:
            self._running_event.set()
        else:
            self._running_event.clear()

    def _on_control_point(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        try:
            events = self._cp.receive(raw)
        except FtmsDecodeError as error:
            self._bad_frame("Control Point", error, raw)
            return
        self._control_events(events)

    def _control_events(self, events: list[ControlEvent]) -> None:
        for event in events:
            if isinstance(event, (CommandSucceeded, CommandFailed)):
                result = ResultCode.SUCCESS if isinstance(event, CommandSucceeded) else event.result
                for request, answer in self._waiters:
                    if request is event.request and not answer.done():
                        answer.set_result(int(result))
                        break
            elif isinstance(event, ControlPermissionLost):
                self._lose_control()
            elif isinstance(event, UnexpectedResponse):
                logger.info("%s: control point answer nobody waits for: %s", self.name, event)

    def _lose_control(self) -> None:
        if self._control_lost:
            return
        logger.warning("%s: control permission lost (console or another app)", self.name)
        self._control_lost = True
        self._drop_queued(lambda job: self._control_lost_error())
        self._emit(ControlLostEvent(self._now()))

    def _on_treadmill_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        if self._profile.pace_u16:
            raw = strip_u16_pace(raw)
        try:
            record = self._assembler.feed(raw)
        except FtmsDecodeError as error:
            self._bad_frame("Treadmill Data", error, raw)
            return
        if record is None:
            return
        if self._profile.reported_speed_in_mph:
            record = replace(
                record,
                speed_kmh=None
                if record.speed_kmh is None
                else round(record.speed_kmh * KMH_PER_MPH, 2),
                average_speed_kmh=None
                if record.average_speed_kmh is None
                else round(record.average_speed_kmh * KMH_PER_MPH, 2),
            )
        now = self._now()
        self._last_telemetry_at = now
        self._last_telemetry = record
        if record.speed_kmh is not None:
            self._belt.telemetry(record.speed_kmh, now)
            self._belt_changed()
        self._emit(TelemetryEvent(record, now))

    def _on_machine_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        try:
            status = decode_machine_status(raw)
        except FtmsDecodeError as error:
            self._bad_frame("Machine Status", error, raw)
            return
        if self._profile.target_speed_in_mph and status.target_speed_kmh is not None:
            # the machine echoes the number we sent, which it reads as mph
            status = replace(
                status, target_speed_kmh=round(status.target_speed_kmh * KMH_PER_MPH, 2)
            )
        op = status.op
        if op == MachineStatusOp.STARTED_OR_RESUMED_BY_USER:
            self._belt.started(self._now())
            self._belt_changed()
        elif op in _STOPPED_STATUSES:
            self._belt.stopped(self._now())
            self._belt_changed()
            self._target_speed_kmh = 0.0
        elif op == MachineStatusOp.TARGET_SPEED_CHANGED and status.target_speed_kmh is not None:
            self._target_speed_kmh = status.target_speed_kmh
        elif op == MachineStatusOp.TARGET_INCLINE_CHANGED and status.target_incline_pct is not None:
            self._target_incline_pct = status.target_incline_pct
        self._emit(StatusEvent(status, self._now()))
        self._control_events(self._cp.machine_status(status))

    def _on_training_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        try:
            status = decode_training_status(raw)
        except FtmsDecodeError as error:
            self._bad_frame("Training Status", error, raw)
            return
        self._training_status = status
        if status.status in _IDLE_TRAINING:
            self._belt.idle()
            self._belt_changed()
        self._emit(TrainingStatusEvent(status, self._now()))
