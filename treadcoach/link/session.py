"""``TreadmillLink``: one FTMS treadmill over bleak, from connect to a stopped belt.

    async with TreadmillLink(address, profile=profile) as link:
        await link.start()
        await link.set_speed(3.2)
        async for event in link.events():
            ...

A thin asyncio shell over pure parts, each the one owner of its fact:

* ``phase.LinkPhaseMachine`` -- the lifecycle (connecting ... ready ... reconnecting ... closed);
* ``treadcoach.ftms.ControlPoint`` -- control permission and the requests in flight;
* ``scheduler`` -- the command queue, coalescing, the stop epoch and every retry decision;
* ``quirks`` -- unit and packet quirks at the two edges; ``timeouts`` -- every wait;
* ``belt.BeltBelief`` -- whether the belt runs; ``ranges`` -- what may be commanded.

What it guarantees (DESIGN.md invariants 1-3): one command in flight, a newer target replaces a
queued one; ``stop()`` writes 0x08 0x01 in the caller's loop turn, overtaking a command in
flight, and every command asked before it is superseded; Start is never sent to a running belt;
after 0xFF nothing is sent but what the user asks; a dropped link is reconnected and the belt
stopped first; leaving the block stops the belt.

Bleak's callbacks run on the loop; each is decoded right there and bridged once into an
``asyncio.Queue`` of typed events (``events()``). A frame that does not decode is counted
(``bad_frames``), reported (``BadFrameEvent``) and skipped: it never drops the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Final

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from treadcoach.errors import (
    CommandSuperseded,
    ControlLost,
    ControlRejected,
    FtmsDecodeError,
    LimitsError,
    LinkError,
    TreadcoachError,
)
from treadcoach.ftms import (
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
)
from treadcoach.ftms.enums import (
    OpCode,
    ResultCode,
    StopPauseParam,
)
from treadcoach.link import gatt
from treadcoach.link import timeouts as t
from treadcoach.link.channel import ControlChannel, mark_retrieved, result_text
from treadcoach.link.events import (
    BadFrameEvent,
    ControlLostEvent,
    LinkDownEvent,
    LinkEvent,
    LinkUpEvent,
    StopUnconfirmedEvent,
)
from treadcoach.link.observe import MachineView
from treadcoach.link.phase import LinkPhase, LinkPhaseMachine
from treadcoach.link.phase import PhaseTrigger as P
from treadcoach.link.profile import GENERIC_PROFILE, LinkProfile
from treadcoach.link.quirks import (
    KMH_PER_MPH,
    commanded_kmh,
    wire_target_speed,
)
from treadcoach.link.ranges import (
    DEFAULT_INCLINE_RANGE,
    DEFAULT_SPEED_RANGE,
    effective_ranges,
    snap,
)
from treadcoach.link.runner import CommandRunner, Future, LinkContext
from treadcoach.link.scan import find_treadmill, is_address
from treadcoach.link.scheduler import (
    CommandQueue,
    Entry,
    StopPolicy,
)

__all__ = [
    "DEFAULT_INCLINE_RANGE",
    "DEFAULT_SPEED_RANGE",
    "KMH_PER_MPH",
    "ProfileSource",
    "TreadmillLink",
]

logger = logging.getLogger(__name__)

#: ``(advertised name, address) -> profile``: e.g. ``Settings.profile_for``, resolved once the
#: device is found, so a link can be opened by name with the matching devices.toml entry.
ProfileSource = LinkProfile | Callable[[str | None, str], LinkProfile]

_END: Final = object()


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
        command_timeout_s: float = t.COMMAND_TIMEOUT_S,
        reconnect: bool = True,
        max_reconnect_s: float = t.MAX_RECONNECT_S,
        find_timeout_s: float = t.FIND_TIMEOUT_S,
        exit_stop_timeout_s: float = t.EXIT_STOP_TIMEOUT_S,
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
        #: After leaving the block: True when the link confirmed the belt stopped (Stop
        #: acknowledged, or standstill known); False means "the belt may be running".
        self.belt_stopped_on_exit = False
        self._user_stop_pending = False  # stop(take_control=True) while the link was down
        # stop() was called: the session is ending, so nothing but Stop (and the Request
        # Control a refused Stop needs) is written from now on, on this or any later connection
        self._stop_asked = False
        self._stopped_on_reconnect = False
        self._hurry = asyncio.Event()  # leaving: reconnect now, no backoff
        self._attempt_over = asyncio.Event()  # a reconnect attempt ended (up, failed, gave up)

        self._device: BLEDevice | None = target if isinstance(target, BLEDevice) else None
        self._address: str | None = (
            target.address
            if isinstance(target, BLEDevice)
            else target
            if is_address(target)
            else None
        )
        self._name: str | None = target.name if isinstance(target, BLEDevice) else None

        self._phase = LinkPhaseMachine()
        self._channel = ControlChannel(
            name=lambda: self.name,
            address=lambda: self._address,
            lost_error=self._control_lost_error,
            on_lost=self._lose_control,
            on_accepted=self._applied,
        )
        self._jobs: CommandQueue[Future] = CommandQueue()
        self._client: BleakClient | None = None
        self._ts_char: BleakGATTCharacteristic | None = None
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._stream = _EventStream(self._queue)

        self._stack: contextlib.AsyncExitStack | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnect_task: asyncio.Task[None] | None = None

        self._features: MachineFeatures | None = None
        self._speed_range = DEFAULT_SPEED_RANGE
        self._incline_range = DEFAULT_INCLINE_RANGE

        self._view = MachineView(self._profile)
        self._running_event = asyncio.Event()
        self._runner = CommandRunner(
            LinkContext(
                name=lambda: self.name,
                address=lambda: self._address,
                profile=lambda: self._profile,
                command_timeout_s=lambda: self.command_timeout_s,
                gatt_up=lambda: self._phase.gatt_up and self._client is not None,
                standing_still=self._known_stopped,
                lost_error=self._control_lost_error,
            ),
            self._channel,
            self._jobs,
            self._view,
            self._running_event,
        )
        self._handlers = gatt.Handlers(
            self._on_control_point,
            self._on_treadmill_data,
            self._on_machine_status,
            self._on_training_status,
            lambda uuid, error, raw: self._publish(
                [self._view.bad_frame(uuid, error, raw, self._now())]
            ),
        )
        self._up = asyncio.Event()  # set while READY
        self._state_known = asyncio.Event()
        self._belt_news = asyncio.Event()  # set on every change of the belief
        self._running_at_drop = False

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
        return self._phase.ready

    @property
    def reconnecting(self) -> bool:
        return self._phase.reconnecting

    @property
    def has_control(self) -> bool:
        """Request Control succeeded on this connection and was not lost since."""
        return self._channel.cp.has_control

    @property
    def control_lost(self) -> bool:
        """0xFF was seen: commands raise ControlLost until ``request_control()`` succeeds."""
        return self._channel.permission is Permission.LOST

    @property
    def belt_running(self) -> bool | None:
        """The machine's run state (Machine Status, then telemetry); None until known.

        A belt coasting down after Stop is *not* running: its state is stopped.
        """
        return self._view.belt.running

    @property
    def belt_speed_kmh(self) -> float | None:
        """The belt speed in the last telemetry record (true km/h), None before the first."""
        return self._view.belt.speed_kmh

    @property
    def target_speed_kmh(self) -> float | None:
        """The target the machine accepted last (0 after Stop/Pause), in true km/h."""
        return self._view.target_speed_kmh

    @property
    def target_incline_pct(self) -> float | None:
        return self._view.target_incline_pct

    @property
    def last_telemetry(self) -> TreadmillData | None:
        return self._view.last_telemetry

    @property
    def last_telemetry_at(self) -> float | None:
        """Loop time of the last complete Treadmill Data record, None before the first."""
        return self._view.last_telemetry_at

    @property
    def training_status(self) -> TrainingStatus | None:
        return self._view.training_status

    @property
    def bad_frames(self) -> int:
        """Notifications and indications that did not decode (skipped, link kept)."""
        return self._view.bad_frames

    def telemetry_age_s(self) -> float:
        """Seconds (loop clock) since the last telemetry record, or since connecting if none came.

        Keeps growing while the link is down or the machine has gone quiet: the stale watchdog's
        input. ``inf`` before the first connection.
        """
        return self._view.telemetry_age_s(self._now())

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
        self._phase.fire(P.ENTER, self._now())
        try:
            await self._connect_once(self.find_timeout_s)
            if self._profile.request_control != "never":
                result = await self._channel.round_trip(RequestControl(), self.command_timeout_s)
                if result == ResultCode.NOT_SUPPORTED:
                    # It has no Request Control: its commands will tell whether they need one.
                    logger.info("%s: Request Control is not supported; going on", self.name)
                elif result != ResultCode.SUCCESS:
                    raise ControlRejected(
                        self._address,
                        OpCode.REQUEST_CONTROL,
                        int(result),
                        f"{self.name} refused Request Control with result {result_text(result)}; "
                        "another app may be connected to it",
                    )
            if self._phase.phase is not LinkPhase.SETTING_UP:
                raise LinkError(self._address, f"the link to {self.name} dropped while setting up")
            self._ready()
            self._spawn(self._runner.work(), "commands")
            if self._profile.keepalive_s:
                self._spawn(self._keepalive(self._profile.keepalive_s), "keep-alive")
            self._emit(LinkUpEvent(False, bool(self._view.belt.running), False, self._now()))
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
        stopped = False
        if self.reconnecting:
            # Leaving while the link is down: wait for the reconnect, because coming back stops
            # the belt (nobody else will once we are gone) -- as long as a real reconnect takes,
            # measured on this link (``timeouts.exit_wait_s``), and without its backoff.
            self.resume_after_reconnect = False
            self._hurry.set()
            await self._wait_for_reconnect()
            stopped = self._phase.ready and self._stopped_on_reconnect
        self._close()
        try:
            # After 0xFF the belt belongs to whoever took over at the console: a parting Stop
            # would fight them (DESIGN.md invariant 3), so none is sent.
            if self._phase.gatt_up and not self._known_stopped() and not self.control_lost:
                try:
                    async with asyncio.timeout(self.exit_stop_timeout_s):
                        await self._runner.stop(StopPolicy.EXIT)
                    # an acknowledgement from a machine seen ignoring Stop is no confirmation
                    stopped = self._view.belt.running is not True
                except (TreadcoachError, TimeoutError, BleakError) as error:
                    logger.warning("%s: could not confirm Stop while closing: %s", self.name, error)
            self.belt_stopped_on_exit = stopped or self._known_stopped()
        finally:
            await self._shutdown()

    async def _wait_for_reconnect(self) -> None:
        """Leaving while down: wait for the reconnect (``timeouts.exit_wait_left_s``), woken
        at each attempt's end to ask again whether one is under way."""
        began = self._now()
        while self.reconnecting and not self._up.is_set():
            left = t.exit_wait_left_s(
                self._now() - began,
                self._phase.connect_s,
                attempt_under_way=self._phase.attempt_under_way,
            )
            if left <= 0.0:
                return
            self._attempt_over.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._attempt_over.wait()

    def _close(self) -> None:
        self._phase.fire(P.CLOSE, self._now())
        self._up.clear()
        self._drop_queued(lambda job: LinkError(self._address, "the link is closing"))

    async def _shutdown(self) -> None:
        self._close()
        for task in self._tasks:
            task.cancel()
        client, self._client = self._client, None
        self._channel.detach(LinkError(self._address, "the link closed before the answer came"))
        if client is not None:
            await gatt.disconnect(client, self.name)
        self._end_stream()
        if self._phase.phase is not LinkPhase.CLOSED:
            self._phase.fire(P.CLOSED, self._now())
        stack, self._stack = self._stack, None
        if stack is not None:
            # The body's exception is not handed to the TaskGroup: it would come back wrapped
            # in an ExceptionGroup. A child task's own failure still surfaces here.
            await stack.aclose()

    def _spawn(self, coro: Any, what: str, *, cancel_on_close: bool = True) -> asyncio.Task[None]:
        """A task of the link's TaskGroup. The worker, keep-alive and reconnect are cancelled on
        close; a Stop is not (its caller gets the Stop's own answer or error, never a
        cancellation it did not ask for)."""
        assert self._tg is not None
        task = self._tg.create_task(coro, name=f"link {self.name} {what}")
        if cancel_on_close:
            self._tasks.append(task)
            task.add_done_callback(self._tasks.remove)
        return task

    def _ready(self) -> None:
        self._phase.fire(P.READY, self._now())
        self._up.set()

    def _known_stopped(self) -> bool:
        return self._view.standing_still(self._now())

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
        epoch = self._jobs.stop_epoch
        if self._profile.start_toggles:
            # Start would pause a running belt: wait to see it stand still (or run)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(t.START_STATE_WAIT_S):
                    while not (self._view.belt.known_stopped or self._view.belt.running):
                        self._belt_news.clear()
                        await self._belt_news.wait()
        elif self._view.belt.running is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.command_timeout_s):
                    await self._state_known.wait()
        if self._view.belt.running:
            logger.info("%s: belt already running; Start not sent", self.name)
            return False
        entry = self._enqueue(StartResume(), None, epoch=epoch)
        await asyncio.shield(entry.ticket)
        return not entry.skipped

    def stop(
        self,
        *,
        take_control: bool = False,
    ) -> asyncio.Future[None]:
        """Stop (0x08 0x01) now: the stop epoch moves and the write is scheduled before this
        returns, so a speed command queued in the same loop turn is never written after it.

        Synchronous on purpose (DESIGN invariant 2): the caller's loop turn already counts.
        Returns a future that resolves when the machine acknowledged the Stop; ``await
        link.stop()`` reads as before. Queued commands are dropped (their callers get
        CommandSuperseded). The retry policy is the link's alone (``scheduler.decide_stop``):
        call this once per stop request. On a link that is down, the future fails with
        LinkError after making sure the reconnect stops the belt.

        ``take_control``: the user explicitly asked for this stop (key, pedal, MQTT, signal), so
        a "control not permitted" answer may be met with Request Control even after 0xFF.
        Without it, a Stop after 0xFF is sent once and the machine refusing it raises
        ControlLost (a parting Stop does not fight the console).
        """
        self._drop_superseded("Stop")
        self._stop_asked = True
        if not self._phase.gatt_up or self._tg is None:
            self.resume_after_reconnect = False
            # the user asked: the reconnect's Stop may ask for control for it, even after 0xFF
            self._user_stop_pending = self._user_stop_pending or take_control
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(
                LinkError(
                    self._address,
                    f"the link to {self.name} is down; the belt is stopped first thing on "
                    "reconnect",
                )
            )
            failed.add_done_callback(mark_retrieved)
            return failed
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        done.add_done_callback(mark_retrieved)
        self._spawn(self._stop_into(done, take_control), "stop", cancel_on_close=False)
        return done

    async def _stop_into(self, done: asyncio.Future[None], take_control: bool) -> None:
        """Run one stop for ``stop()``'s caller: its outcome goes to ``done``, never to the
        task group (a refused Stop is the caller's news, not a reason to tear the link down)."""
        try:
            await self._runner.stop(StopPolicy.USER, take_control=take_control)
        except TreadcoachError as error:
            if not done.done():
                done.set_exception(error)
        except BaseException:
            if not done.done():
                done.set_exception(
                    LinkError(self._address, f"the link to {self.name} closed while stopping")
                )
            raise
        else:
            if not done.done():
                done.set_result(None)

    async def pause(self) -> None:
        """Pause (0x08 0x02). Drops queued commands like Stop, but waits for one in flight."""
        self._check_commandable()
        self._drop_superseded("Pause")
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
        wire = wire_target_speed(value, self._profile, lo=r.min_kmh, hi=hi)
        return await self._coalesce(SetTargetSpeed(wire), commanded_kmh(wire, self._profile))

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
        entry = self._jobs.coalesce(request, value)
        if entry is None:
            entry = self._enqueue(request, value)
        result = await asyncio.shield(entry.ticket)
        assert result is not None
        return result

    async def _submit(self, request: ControlRequest, value: float | None = None) -> float | None:
        return await asyncio.shield(self._enqueue(request, value).ticket)

    def _enqueue(
        self, request: ControlRequest, value: float | None, *, epoch: int | None = None
    ) -> Entry[Future]:
        future: Future = asyncio.get_running_loop().create_future()
        future.add_done_callback(mark_retrieved)
        entry = self._jobs.push(request, future, value, epoch=epoch)
        self._runner.ready.set()
        return entry

    def _check_link(self) -> None:
        if self._phase.closing_or_closed:
            raise LinkError(self._address, f"the link to {self.name} is closed")
        if not self._phase.ready:
            raise LinkError(
                self._address,
                f"the link to {self.name} is down"
                + ("; reconnecting" if self.reconnecting else ""),
            )

    def _check_commandable(self) -> None:
        self._check_link()
        if self.control_lost:
            raise self._control_lost_error()

    def _control_lost_error(self) -> ControlLost:
        return ControlLost(
            self._address,
            f"control of {self.name} was taken at the console or by another app; "
            "commands are refused until control is requested again",
        )

    def _drop_queued(self, error: Callable[[Entry[Future]], Exception]) -> None:
        for entry in self._jobs.drop_all():
            if not entry.ticket.done():
                entry.ticket.set_exception(error(entry))

    def _drop_superseded(self, by: str) -> None:
        for entry in self._jobs.bump_epoch():
            if not entry.ticket.done():
                entry.ticket.set_exception(
                    CommandSuperseded(self._address, entry.request.opcode, by)
                )

    def _applied(self, request: ControlRequest) -> None:
        """Bookkeeping as the machine's acceptance of ``request`` arrives."""
        self._view.accepted(request, self._now())
        self._belt_changed()

    # --- connecting ---------------------------------------------------------------------------

    async def _find_device(self, timeout_s: float) -> BLEDevice:
        if self._device is not None and self._client is None and self._view.connected_at is None:
            return self._device
        wanted = self._address or str(self._target)
        found = await find_treadmill(
            wanted, timeout_s=timeout_s, scanner_backend=self._scanner_backend
        )
        self._address = found.address
        self._name = found.name or self._name
        return found.device

    def _resolve_profile(self) -> None:
        source = self._profile_source
        if source is not None and callable(source) and self._address is not None:
            self._profile = source(self._name, self._address)

    async def _connect_once(self, find_timeout_s: float) -> None:
        self._phase.fire(P.ATTEMPT, self._now())
        device = await self._find_device(find_timeout_s)
        if self._view.connected_at is None:
            self._resolve_profile()
            self._view.quirks = self._profile
        client = await gatt.connect(
            device,
            name=self.name,
            backend=self._client_backend,
            on_disconnected=self._on_disconnected,
        )
        self._client = client
        try:
            up = await gatt.set_up(client, name=self.name, address=self._address, on=self._handlers)
        except BaseException:
            self._client = None
            raise
        self._channel.attach(client, up.control_point)
        self._ts_char = up.training_status_char
        self._features = up.features
        ranges = effective_ranges(self._profile, up.speed_range, up.incline_range, up.features)
        for warning in ranges.warnings:
            logger.warning("%s: %s", self.name, warning)
        self._speed_range, self._incline_range = ranges.speed, ranges.incline
        if up.training is not None:
            self._view.training_read(up.training)
            self._belt_changed()
        self._phase.fire(P.GATT_UP, self._now())
        self._view.connected(self._now())

    # --- link down, and back up -------------------------------------------------------------

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is not self._client or self._phase.closing_or_closed:
            return
        self._link_down("the treadmill dropped the Bluetooth link")

    def _link_down(self, reason: str) -> None:
        self._running_at_drop = self._view.running_or_moving()
        self._client = None
        phase = self._phase.fire(P.DROPPED, self._now())
        self._up.clear()
        self._channel.detach(LinkError(self._address, f"the link to {self.name} dropped"))
        self._drop_queued(lambda job: LinkError(self._address, f"the link to {self.name} dropped"))
        # a drop during the first connect is that connect's own failure: no reconnect for it
        will_retry = self.reconnect and self._tg is not None and phase is LinkPhase.RECONNECTING
        self._emit(LinkDownEvent(reason, will_retry, self._now()))
        if not will_retry:
            if phase is LinkPhase.RECONNECTING:
                self._phase.fire(P.GAVE_UP, self._now())
                self._end_stream()
            return
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._spawn(self._reconnect(), "reconnect")

    async def _reconnect(self) -> None:
        deadline = self._now() + self.max_reconnect_s
        attempt = 0
        while True:
            attempt += 1
            last_error = ""
            try:
                find_s = max(
                    t.RECONNECT_FIND_MIN_S, min(t.RECONNECT_FIND_MAX_S, deadline - self._now())
                )
                await self._connect_once(find_s)
            except (TreadcoachError, BleakError, OSError, TimeoutError) as error:
                last_error = str(error) or type(error).__name__
                logger.info("%s: reconnect attempt %d failed: %s", self.name, attempt, last_error)
            else:
                stopped = await self._after_reconnect()
                if self._phase.phase is LinkPhase.RESTORING:
                    self._stopped_on_reconnect = stopped
                    self._ready()
                    self._attempt_over.set()
                    self._emit(LinkUpEvent(True, self._running_at_drop, stopped, self._now()))
                    return
                last_error = "the link dropped again during the reconnect handshake"
            self._phase.fire(P.FAILED, self._now())
            self._attempt_over.set()
            delay = t.reconnect_backoff_s(attempt)
            if self._now() + delay > deadline:
                self._emit(
                    LinkDownEvent(
                        f"gave up reconnecting after {attempt} attempts in "
                        f"{self.max_reconnect_s:g} s: {last_error}",
                        False,
                        self._now(),
                    )
                )
                if self._phase.phase is LinkPhase.RECONNECTING:
                    self._phase.fire(P.GAVE_UP, self._now())
                self._end_stream()
                self._attempt_over.set()
                return
            if self._hurry.is_set():
                # leaving: no long backoff, but never a busy loop of instant failures either
                await asyncio.sleep(t.RECONNECT_BACKOFF_FIRST_S)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._hurry.wait()

    async def _after_reconnect(self) -> bool:
        """The first write on a new connection is Stop (invariant 2; a 0x05 answer leads to
        Request Control, then Stop again), then Request Control for what follows. True if the
        belt is known stopped; if not, the user is told (``StopUnconfirmedEvent``)."""
        stopped = False
        if not self.resume_after_reconnect:
            take_control, self._user_stop_pending = self._user_stop_pending, False
            why = ""
            try:
                async with asyncio.TaskGroup() as group:
                    stopping = group.create_task(
                        self._runner.stop(StopPolicy.RECONNECT, take_control=take_control)
                    )
                    group.create_task(self._say_if_stop_is_slow(stopping))
                # an acknowledgement from a machine seen ignoring Stop is no confirmation
                stopped = self._view.belt.running is not True
                if not stopped:
                    why = "the machine acknowledged it before and ran on"
            except* TreadcoachError as errors:
                error = errors.exceptions[0]
                logger.warning("%s: Stop after reconnect failed: %s", self.name, error)
                why = str(error) or type(error).__name__
            if why and self._phase.gatt_up:
                self._emit(
                    StopUnconfirmedEvent(
                        f"Stop after reconnecting to {self.name} was not confirmed: {why}",
                        self._now(),
                    )
                )
        wants_control = (
            self._profile.request_control != "never"
            and not self.control_lost
            and not self._stop_asked  # control for later commands; there will be none
        )
        if wants_control and not self.has_control and self._phase.gatt_up:
            try:
                await self._channel.round_trip(RequestControl(), self.command_timeout_s)
            except LinkError as error:
                logger.warning("%s: Request Control after reconnect failed: %s", self.name, error)
        return stopped

    async def _say_if_stop_is_slow(self, stopping: asyncio.Task[None]) -> None:
        """The reconnect's Stop keeps being retried; if it has not landed after a moment, the
        user hears it now (the belt may be running), not only when the retries run out."""
        done, _ = await asyncio.wait({stopping}, timeout=t.RECONNECT_STOP_WARN_S)
        if not done and self._phase.gatt_up:
            self._emit(
                StopUnconfirmedEvent(
                    f"{self.name} has not accepted Stop since reconnecting; still trying. If the "
                    "belt is running, use the treadmill's own stop button",
                    self._now(),
                )
            )

    # --- keep-alive ---------------------------------------------------------------------------

    async def _keepalive(self, period_s: float) -> None:
        while True:
            await asyncio.sleep(period_s)
            if not self._phase.ready or self.control_lost or self._jobs or self._channel.cp.pending:
                continue
            if self._now() - self._channel.last_write_at < period_s:
                continue
            try:
                if self._profile.request_control != "never":
                    await self._submit(RequestControl())
                elif self._client is not None and self._ts_char is not None:
                    self._channel.last_write_at = self._now()
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

    def _publish(self, events: list[LinkEvent]) -> None:
        for event in events:
            if isinstance(event, BadFrameEvent):
                logger.debug(
                    "%s: bad %s frame %s: %s",
                    self.name,
                    event.characteristic,
                    event.data.hex(" "),
                    event.error,
                )
            self._emit(event)
        self._belt_changed()

    def _belt_changed(self) -> None:
        self._belt_news.set()
        if self._view.belt.running is not None:
            self._state_known.set()
        if self._view.belt.running:
            self._running_event.set()
        else:
            self._running_event.clear()

    def _on_control_point(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        try:
            self._channel.indication(raw)
        except FtmsDecodeError as error:
            self._publish([self._view.bad_frame("Control Point", error, raw, self._now())])

    def _lose_control(self) -> None:
        logger.warning("%s: control permission lost (console or another app)", self.name)
        self._drop_queued(lambda job: self._control_lost_error())
        self._emit(ControlLostEvent(self._now()))

    def _on_treadmill_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._publish(self._view.treadmill_data(bytes(data), self._now()))

    def _on_machine_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        events, status = self._view.machine_status(bytes(data), self._now())
        self._publish(events)
        if status is not None:
            self._channel.machine_status(status)

    def _on_training_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._publish(self._view.training_status_changed(bytes(data), self._now()))
