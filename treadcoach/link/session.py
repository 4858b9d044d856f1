"""``TreadmillLink``: one FTMS treadmill over bleak, from connect to a stopped belt.

    async with TreadmillLink(address, profile=profile) as link:
        await link.start()
        await link.set_speed(3.2)
        async for event in link.events():
            ...

The public API, as a thin shell that wires parts each owning one fact or one job (the module
map is in docs/architecture.md): pure cores -- ``phase`` (the lifecycle), ``scheduler`` (queue,
stop epoch, every retry decision), ``observe``/``belt`` (the belt belief), ``lifecycle`` (drop,
reconnect, exit and command-admission decisions), ``ranges``/``quirks`` (what may be
commanded), ``timeouts`` -- and shells: ``channel`` (control permission, requests in flight),
``intake`` (notifications in, events out), ``connect`` (finding and opening a connection),
``commands`` (the queue's entry end), ``runner`` (the worker and the stop path), ``reconnect``
(reconnect supervision, the exit's wait), ``keepalive``, ``lifetime`` (the TaskGroup, entering
and leaving).

What it guarantees (DESIGN.md invariants 1-3): one command in flight, a newer target replaces a
queued one; ``stop()`` writes 0x08 0x01 in the caller's loop turn, overtaking a command in
flight, and every command asked before it is superseded; Start is never sent to a running belt;
after 0xFF nothing is sent but what the user asks; a dropped link is reconnected and the belt
stopped first; leaving the block stops the belt.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner

from treadcoach.errors import LinkError
from treadcoach.ftms import (
    InclinationRange,
    MachineFeatures,
    Permission,
    SpeedRange,
    TrainingStatus,
    TreadmillData,
)
from treadcoach.link import timeouts as t
from treadcoach.link.channel import ControlChannel, mark_retrieved
from treadcoach.link.commands import CommandDesk
from treadcoach.link.connect import Connection, ProfileSource, profile_before_found
from treadcoach.link.events import LinkEvent, StopUnconfirmedEvent
from treadcoach.link.intake import Intake
from treadcoach.link.lifetime import Lifetime, Parts, Waits
from treadcoach.link.observe import MachineView
from treadcoach.link.phase import LinkPhaseMachine
from treadcoach.link.phase import PhaseTrigger as P
from treadcoach.link.profile import LinkProfile
from treadcoach.link.quirks import KMH_PER_MPH
from treadcoach.link.ranges import DEFAULT_INCLINE_RANGE, DEFAULT_SPEED_RANGE
from treadcoach.link.reconnect import Reconnector, Supervision
from treadcoach.link.runner import CommandRunner, Future, LinkContext
from treadcoach.link.scheduler import CommandQueue

__all__ = [
    "DEFAULT_INCLINE_RANGE",
    "DEFAULT_SPEED_RANGE",
    "KMH_PER_MPH",
    "ProfileSource",
    "TreadmillLink",
]


def _now() -> float:
    return asyncio.get_running_loop().time()


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
        self.command_timeout_s = command_timeout_s
        self.reconnect = reconnect
        self.max_reconnect_s = max_reconnect_s
        self.find_timeout_s = find_timeout_s
        self.exit_stop_timeout_s = exit_stop_timeout_s
        #: After leaving the block: True when the link confirmed the belt stopped (Stop
        #: acknowledged, or standstill known); False means "the belt may be running".
        self.belt_stopped_on_exit = False
        self._phase = LinkPhaseMachine()
        self._channel = ControlChannel(
            name=lambda: self.name,
            address=lambda: self.address,
            lost_error=lambda: self._desk.control_lost_error(),
            on_lost=lambda: self._desk.lose_control(),
            on_accepted=lambda request, mark: self._intake.accepted(request, mark),
            news=lambda: self._view.belt.starts_seen,
        )
        self._jobs: CommandQueue[Future] = CommandQueue()
        self._intake = Intake(
            MachineView(profile_before_found(profile)), lambda: self._channel, lambda: self.name
        )
        self._conn = Connection(
            target,
            profile=profile,
            client_backend=client_backend,
            scanner_backend=scanner_backend,
            phase=self._phase,
            channel=self._channel,
            intake=self._intake,
            on_disconnected=lambda client: self._life.disconnected(client),
        )
        self._view = self._intake.view
        context = LinkContext(
            name=lambda: self.name,
            address=lambda: self.address,
            profile=lambda: self._conn.profile,
            command_timeout_s=lambda: self.command_timeout_s,
            gatt_up=lambda: self._phase.gatt_up and self._conn.client is not None,
            standing_still=self._known_stopped,
            lost_error=lambda: self._desk.control_lost_error(),
            stop_unconfirmed=lambda why: self._intake.emit(StopUnconfirmedEvent(why, _now())),
        )
        self._runner = CommandRunner(
            context, self._channel, self._jobs, self._view, self._intake.running
        )
        self._desk = CommandDesk(
            self._conn,
            self._phase,
            self._channel,
            self._jobs,
            self._runner,
            self._intake,
            lambda: self.command_timeout_s,
        )
        self._reconnector = Reconnector(
            context, self._supervision, self._phase, self._channel, self._runner, self._intake
        )
        parts = Parts(
            self._phase,
            self._channel,
            self._jobs,
            self._intake,
            self._conn,
            self._runner,
            self._desk,
            self._reconnector,
        )
        waits = Waits(
            find_s=lambda: self.find_timeout_s,
            command_s=lambda: self.command_timeout_s,
            exit_stop_s=lambda: self.exit_stop_timeout_s,
        )
        self._life = Lifetime(parts, waits)

    def _supervision(self) -> Supervision:
        return Supervision(
            connect=self._conn.open,
            forget=lambda: self._life.forget_connection(),
            ready=lambda: self._phase.fire(P.READY, _now()),
            spawn=self._life.spawn if self._life.started else None,
            reconnect=lambda: self.reconnect,
            max_reconnect_s=lambda: self.max_reconnect_s,
        )

    # --- identity and state ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised name (the address when the treadmill advertises none)."""
        return self._conn.name

    @property
    def address(self) -> str | None:
        return self._conn.address

    @property
    def profile(self) -> LinkProfile:
        return self._conn.profile

    @property
    def features(self) -> MachineFeatures | None:
        """Fitness Machine Feature (0x2ACC), or None when the machine has none or it was bad."""
        return self._conn.features

    @property
    def speed_range(self) -> SpeedRange:
        """Effective: the machine's 0x2AD4 within devices.toml's limits (see ``set_speed``)."""
        return self._conn.speed_range

    @property
    def incline_range(self) -> InclinationRange:
        """Effective: the machine's 0x2AD5 within devices.toml's limits (see ``set_incline``)."""
        return self._conn.incline_range

    @property
    def connected(self) -> bool:
        """The link is up and ready for commands (False while reconnecting)."""
        return self._phase.ready

    @property
    def reconnecting(self) -> bool:
        return self._phase.reconnecting

    @property
    def resume_after_reconnect(self) -> bool:
        """When True, a reconnect requests control but does not stop the belt (the session
        says it will take over). Default False: reconnecting stops the belt first."""
        return self._reconnector.resume_after_reconnect

    @resume_after_reconnect.setter
    def resume_after_reconnect(self, value: bool) -> None:
        self._reconnector.resume_after_reconnect = value

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
        return self._view.telemetry_age_s(_now())

    def events(self) -> AsyncIterator[LinkEvent]:
        """Every link event in order, from connecting on; ends when the link closes or gives up.

        One consumer: events are queued until read, so read them for the whole session.
        """
        return self._intake.stream

    # --- lifetime (``lifetime.Lifetime``) ----------------------------------------------------

    async def __aenter__(self) -> TreadmillLink:
        await self._life.enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.belt_stopped_on_exit = await self._life.leave()

    def _known_stopped(self) -> bool:
        return self._view.standing_still(_now())

    # --- commands (``commands.CommandDesk``; Stop has its own path) ---------------------------

    async def request_control(self) -> None:
        """Ask for control (0x00). The only way back after ControlLostEvent."""
        await self._desk.request_control()

    async def start(self) -> bool:
        """Start/Resume (0x07), unless the belt is running: then nothing is sent.

        Returns True when Start was sent and accepted, False when the belt was already running
        (some machines treat Start as a toggle, so it is never sent to a running belt). When the
        belt state is not known yet, waits up to ``command_timeout_s`` for telemetry to tell;
        on ``start_toggles`` machines, up to ``START_STATE_WAIT_S`` to see it stand still.
        """
        return await self._desk.start()

    def stop(self, *, take_control: bool = False) -> asyncio.Future[None]:
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
        self._desk.supersede("Stop")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(mark_retrieved)
        if not self._phase.gatt_up or not self._life.started:
            self._reconnector.stop_while_down(take_control=take_control)
            done.set_exception(
                LinkError(
                    self.address,
                    f"the link to {self.name} is down; the belt is stopped first thing on "
                    "reconnect",
                )
            )
            return done
        self._reconnector.stop_asked = True
        stopping = self._runner.stop_into(done, take_control=take_control)
        self._life.spawn(stopping, "stop", cancel_on_close=False)
        return done

    async def pause(self) -> None:
        """Pause (0x08 0x02). Drops queued commands like Stop, but waits for one in flight."""
        await self._desk.pause()

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
        return await self._desk.set_speed(kmh, ceiling_kmh)

    async def set_incline(self, pct: float) -> float:
        """Set Target Inclination; returns the % commanded (clamped to ``incline_range``, rounded
        to its increment; a newer call replaces a queued older one)."""
        return await self._desk.set_incline(pct)
