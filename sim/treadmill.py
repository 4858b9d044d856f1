"""``SimTreadmill``: the FTMS server and belt physics, alive on the event loop's clock.

``async with SimTreadmill(name=..., address=...) as treadmill:`` advertises while inside. Time is
the running loop's ``time()`` (see ``treadcoach/clock.py``): on the virtual loop a 45-minute
session takes milliseconds. Physics is advanced lazily to ``loop.time()`` whenever anything looks
at or changes the treadmill, so readings are exact whatever the notification rate; one task owned
by the ``async with`` block notifies Treadmill Data at ``notify_hz``.

Transports (``sim.bleak_backend``, a future bumble peripheral) talk to it through
:meth:`SimTreadmill.connect`, :meth:`read` and :meth:`write`, and receive notifications on the
:class:`~sim.link.SimLink` they got from ``connect``. Like most real FTMS treadmills it takes one
central at a time.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from sim import registry
from sim.errors import AttError, SimConfigError, SimError
from sim.faults import (
    CONSOLE_SPEED_KMH,
    LATE_INDICATION_S,
    SLOW_BELT_KMH_PER_S,
    FaultKind,
    FaultSpec,
    garbage_packet,
    parse_fault_spec,
)
from sim.link import CCCD_INDICATE, SimLink
from sim.physics import Belt, Runner
from sim.profiles import Profile, get_profile
from sim.server import FtmsServer, Notification, RunState
from treadcoach.ftms import FtmsServiceData, encode_service_data, encode_treadmill_data, uuids
from treadcoach.ftms.enums import MachineType

__all__ = ["Advertisement", "ControlPointWrite", "SimTreadmill"]

log = logging.getLogger(__name__)

ATT_CCCD_IMPROPERLY_CONFIGURED = 0xFD
ATT_WRITE_NOT_PERMITTED = 0x03


@dataclass(frozen=True, slots=True)
class Advertisement:
    """What the treadmill puts on the air (bleak's AdvertisementData, transport-free)."""

    local_name: str
    service_uuids: tuple[str, ...]
    service_data: dict[str, bytes]
    tx_power: int
    rssi: int


@dataclass(frozen=True, slots=True)
class ControlPointWrite:
    """One control-point write as the treadmill received it: what went on the air, and when.

    ``result`` is the result code of the indication it answered with (0x01 success, 0x05 control
    not permitted...), None when the write was refused at the ATT level.
    """

    at_s: float  # sim seconds since the treadmill started
    data: bytes
    result: int | None
    # the machine just before the write: a Start to a running belt shows here
    state_before: RunState = RunState.IDLE
    belt_kmh_before: float = 0.0
    connection: int = 0  # which connection since power-on (1 = the first central's)

    @property
    def opcode(self) -> int | None:
        return self.data[0] if self.data else None


class SimTreadmill:
    """A simulated FTMS treadmill; see the module docstring."""

    def __init__(
        self,
        name: str | None = None,
        address: str | None = None,
        *,
        profile: Profile | str = "standard",
        faults: Iterable[FaultSpec | str] = (),
        notify_hz: float = 1.0,
        runner: Runner | bool = False,
        belt: Belt | None = None,
        rssi: int = -60,
    ) -> None:
        if not (math.isfinite(notify_hz) and 0 < notify_hz <= 50):
            raise SimConfigError("notify_hz", f"must be above 0 and at most 50, not {notify_hz!r}")
        self.profile = profile if isinstance(profile, Profile) else get_profile(profile)
        self.address = address if address is not None else registry.new_address()
        self.name = (
            name
            if name is not None
            else self.profile.name_prefix + self.address[-5:].replace(":", "")
        )
        self.notify_hz = notify_hz
        self.rssi = rssi
        serial = "SIM" + self.address.replace(":", "")[-8:]
        the_runner = Runner() if runner is True else runner or None
        self.server = FtmsServer(self.profile, belt=belt, runner=the_runner, serial=serial)
        self._planned = [f if isinstance(f, FaultSpec) else parse_fault_spec(f) for f in faults]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._synced_at = 0.0
        self._ticker: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._link: SimLink | None = None
        self._modes: set[FaultKind] = set()
        self._garbage_seq = 0
        #: (sim seconds, kind) of every fault that happened, in order
        self.fault_log: list[tuple[float, FaultKind]] = []
        #: every control-point write that reached the treadmill, in order (tests read the wire)
        self.writes: list[ControlPointWrite] = []
        #: called with each write as it is recorded (before its indication is on its way)
        self.write_observers: list[Callable[[ControlPointWrite], None]] = []
        self._drop_indications = 0
        self._late_indications = 0
        self._late_delay_s = LATE_INDICATION_S
        self._unreachable = False  # disconnect with down_s: out of reach for a while
        #: how many times a central connected since power-on
        self.connections = 0
        self._belt_rates = (self.server.belt.accel_kmh_per_s, self.server.belt.decel_kmh_per_s)

    # --- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> SimTreadmill:
        if self._loop is not None:
            raise SimError(f"simulated treadmill {self.name} is already running")
        registry.register(self)  # first: a clash leaves this treadmill untouched
        self._loop = asyncio.get_running_loop()
        self._t0 = self._synced_at = self._loop.time()
        self._ticker = asyncio.create_task(self._notify_forever(), name=f"sim {self.name}")
        for spec in self._planned:
            self.schedule_fault(spec.kind, spec.at_s)
        log.info("simulated treadmill %s (%s) advertising", self.name, self.address)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        registry.unregister(self)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._link is not None:  # powered off under the central's feet
            self._drop_link()
        if self._ticker is not None:
            self._ticker.cancel()
            # wait() neither raises the ticker's CancelledError nor swallows our own
            await asyncio.wait([self._ticker])
        self._ticker = None
        self._loop = None

    @property
    def running(self) -> bool:
        """Inside its ``async with`` block (so advertising)."""
        return self._loop is not None

    # --- readings (the truth, not what is reported) --------------------------------------------

    @property
    def belt_speed_kmh(self) -> float:
        self._sync()
        return self.server.belt.speed_kmh

    @property
    def target_speed_kmh(self) -> float:
        """The belt's own target in km/h (differs from the commanded one on an mph machine)."""
        self._sync()
        return self.server.belt.target_kmh

    @property
    def incline_pct(self) -> float:
        self._sync()
        return self.server.belt.incline_pct

    @property
    def distance_m(self) -> float:
        """Metres the belt really moved since the simulator started."""
        self._sync()
        return self.server.belt.distance_m

    @property
    def elapsed_s(self) -> float:
        """Sim seconds since the treadmill started (0 before ``async with``)."""
        return self._now() - self._t0 if self._loop is not None else 0.0

    @property
    def state(self) -> RunState:
        return self.server.state

    @property
    def heart_rate_bpm(self) -> float | None:
        self._sync()
        return self.server.runner.heart_rate_bpm if self.server.runner is not None else None

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def control_granted(self) -> bool:
        return self.server.control_granted

    @property
    def reachable(self) -> bool:
        """Advertising and taking connections (False while a ``disconnect`` keeps it away)."""
        return self._loop is not None and not self._unreachable

    @property
    def active_faults(self) -> frozenset[FaultKind]:
        modes = set(self._modes)
        if self.server.ignore_speed:
            modes.add(FaultKind.IGNORE_SPEED)
        if self.server.nack_remaining:
            modes.add(FaultKind.NACK)
        if self.server.not_permitted_remaining:
            modes.add(FaultKind.NOT_PERMITTED)
        if self._drop_indications:
            modes.add(FaultKind.DROP_INDICATION)
        if self._late_indications:
            modes.add(FaultKind.LATE_INDICATION)
        return frozenset(modes)

    def advertisement(self) -> Advertisement:
        service_data = encode_service_data(
            FtmsServiceData(available=True, machine_types=MachineType.TREADMILL)
        )
        return Advertisement(
            local_name=self.name,
            service_uuids=(uuids.FTMS_SERVICE_UUID,),
            service_data={uuids.FTMS_SERVICE_UUID: service_data},
            tx_power=0,
            rssi=self.rssi,
        )

    # --- faults --------------------------------------------------------------------------------

    def inject(
        self,
        kind: FaultKind | str,
        *,
        count: int = 1,
        kmh: float = CONSOLE_SPEED_KMH,
        delay_s: float = LATE_INDICATION_S,
        for_s: float | None = None,
        down_s: float = 0.0,
    ) -> None:
        """Make fault ``kind`` happen now (see ``sim.faults`` for what each does).

        ``count``: how many writes a counted fault (``nack``, ``not_permitted``,
        ``drop_indication``, ``late_indication``) acts on; ``kmh``: what ``console_speed`` sets;
        ``delay_s``: how late ``late_indication`` answers; ``for_s``: a mode ends by itself after
        that long; ``down_s``: ``disconnect`` keeps the treadmill out of reach that long.
        """
        kind = FaultKind.parse(kind) if isinstance(kind, str) else kind
        self._sync()
        self.fault_log.append((self.elapsed_s, kind))
        log.info("simulated treadmill %s: fault %s", self.name, kind)
        count = max(1, count)
        match kind:
            case FaultKind.DISCONNECT:
                if self._link is not None:
                    self._drop_link()
                if down_s > 0:
                    self._go_away(down_s)
            case FaultKind.NACK:
                self.server.nack_remaining += count
            case FaultKind.NOT_PERMITTED:
                self.server.not_permitted_remaining += count
            case FaultKind.DROP_INDICATION:
                self._drop_indications += count
            case FaultKind.LATE_INDICATION:
                self._late_indications += count
                self._late_delay_s = delay_s
            case FaultKind.CONTROL_LOST:
                self._send_all(self.server.take_control_at_console())
            case FaultKind.SAFETY_KEY:
                self._send_all(self.server.pull_safety_key())
            case FaultKind.CONSOLE_SPEED:
                self._send_all(self.server.console_set_speed(kmh))
            case FaultKind.CONSOLE_START:
                self._send_all(self.server.console_start())
            case FaultKind.CONSOLE_STOP:
                self._send_all(self.server.console_stop())
            case FaultKind.IGNORE_SPEED:
                self.server.ignore_speed = True
            case FaultKind.SLOW_BELT:
                self._modes.add(kind)
                self.server.belt.accel_kmh_per_s = SLOW_BELT_KMH_PER_S
                self.server.belt.decel_kmh_per_s = SLOW_BELT_KMH_PER_S
            case FaultKind.STALE | FaultKind.GARBAGE:
                self._modes.add(kind)
        if for_s is not None and self._loop is not None:
            self._timers.append(self._loop.call_later(max(0.0, for_s), self.clear_fault, kind))

    def clear_fault(self, kind: FaultKind | str) -> None:
        """End a mode fault (``stale``, ``garbage``, ``ignore_speed``, ``slow_belt``) or the
        pending writes of a counted one (``nack``, ``not_permitted``, ``*_indication``)."""
        kind = FaultKind.parse(kind) if isinstance(kind, str) else kind
        self._sync()  # the physics up to now ran under the fault
        self._modes.discard(kind)
        if kind is FaultKind.IGNORE_SPEED:
            self.server.ignore_speed = False
        elif kind is FaultKind.SLOW_BELT:
            self.server.belt.accel_kmh_per_s, self.server.belt.decel_kmh_per_s = self._belt_rates
        elif kind is FaultKind.NACK:
            self.server.nack_remaining = 0
        elif kind is FaultKind.NOT_PERMITTED:
            self.server.not_permitted_remaining = 0
        elif kind is FaultKind.DROP_INDICATION:
            self._drop_indications = 0
        elif kind is FaultKind.LATE_INDICATION:
            self._late_indications = 0

    def _go_away(self, down_s: float) -> None:
        """Out of reach (out of range, powered down) for ``down_s``: no advertising, no connects."""
        assert self._loop is not None
        if not self._unreachable:
            self._unreachable = True
            registry.unregister(self)
        self._timers.append(self._loop.call_later(down_s, self._come_back))

    def _come_back(self) -> None:
        if self._unreachable and self._loop is not None:
            self._unreachable = False
            registry.register(self)

    def schedule_fault(self, kind: FaultKind | str, at_s: float) -> None:
        """Make ``kind`` happen ``at_s`` sim seconds after the treadmill started."""
        spec = FaultSpec(FaultKind.parse(kind) if isinstance(kind, str) else kind, at_s)
        if self._loop is None:
            self._planned.append(spec)
            return
        timer = self._loop.call_at(self._t0 + spec.at_s, self.inject, spec.kind)
        self._timers.append(timer)

    # --- the GATT face, for transports ---------------------------------------------------------

    def connect(self, on_lost: Callable[[], None] | None = None) -> SimLink:
        """A central connects; ``on_lost`` runs (soon) when the link drops from this side."""
        if self._loop is None:
            raise SimError(f"simulated treadmill {self.name} is not running")
        if self._link is not None:
            raise SimError(f"simulated treadmill {self.name} is already connected to a central")
        if self._unreachable:
            raise SimError(f"simulated treadmill {self.name} is out of reach")
        self._sync()
        self._link = SimLink(self.address, on_lost)
        self.connections += 1
        return self._link

    def disconnect(self, link: SimLink) -> None:
        """The central hangs up (its own disconnected callback is its transport's business)."""
        if link is self._link:
            self._forget_link()
        link.close(notify_central=False)

    def read(self, uuid: str) -> bytes:
        self._sync()
        return self.server.read(uuid)

    def write(self, link: SimLink, uuid: str, data: bytes) -> None:
        """A write with response from ``link``; its indication and notifications follow soon."""
        if uuid != uuids.CONTROL_POINT_UUID:
            raise AttError(ATT_WRITE_NOT_PERMITTED, f"characteristic {uuid} cannot be written")
        if link.cccd.get(uuid, 0) & CCCD_INDICATE == 0:
            # FTMS: a control-point write before indications are enabled is an ATT error 0xFD
            raise AttError(
                ATT_CCCD_IMPROPERLY_CONFIGURED,
                "indications on the control point must be enabled before writing to it",
            )
        self._sync()
        state, belt = self.server.state, self.server.belt.speed_kmh
        try:
            outcome = self.server.write_control_point(bytes(data))
        except AttError:
            self._record(
                ControlPointWrite(self.elapsed_s, bytes(data), None, state, belt, self.connections)
            )
            raise
        result = outcome.indication[2] if len(outcome.indication) >= 3 else None
        self._record(
            ControlPointWrite(self.elapsed_s, bytes(data), result, state, belt, self.connections)
        )
        # answered even when stale, unless the indication is lost or late on purpose
        if self._drop_indications > 0:
            self._drop_indications -= 1
        elif self._late_indications > 0:
            self._late_indications -= 1
            assert self._loop is not None
            self._timers.append(
                self._loop.call_later(
                    self._late_delay_s, link.send, uuids.CONTROL_POINT_UUID, outcome.indication
                )
            )
        else:
            link.send(uuids.CONTROL_POINT_UUID, outcome.indication)
        self._send_all(outcome.notifications)

    def _record(self, write: ControlPointWrite) -> None:
        self.writes.append(write)
        for observer in list(self.write_observers):
            observer(write)

    # --- internals -----------------------------------------------------------------------------

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _sync(self) -> None:
        """Advance the physics to the loop's now."""
        if self._loop is None:
            return
        now = self._loop.time()
        self.server.advance(now - self._synced_at)
        self._synced_at = now

    def _send_all(self, notifications: Iterable[Notification]) -> None:
        link = self._link
        if link is None or FaultKind.STALE in self._modes:
            return
        for note in notifications:
            link.send(note.uuid, note.data)

    def _drop_link(self) -> None:
        link = self._link
        self._forget_link()
        if link is not None:
            link.close(notify_central=True)

    def _forget_link(self) -> None:
        self._link = None
        self.server.link_lost()
        # a frozen or noisy link is cured by reconnecting; a machine ignoring speed is not
        self._modes -= {FaultKind.STALE, FaultKind.GARBAGE}

    async def _notify_forever(self) -> None:
        assert self._loop is not None
        period = 1.0 / self.notify_hz
        n = 0
        while True:
            n += 1
            await asyncio.sleep(max(0.0, self._t0 + n * period - self._loop.time()))
            self._notify_treadmill_data()

    def _notify_treadmill_data(self) -> None:
        link = self._link
        if link is None or not link.enabled(uuids.TREADMILL_DATA_UUID):
            return
        if FaultKind.STALE in self._modes:
            return
        self._sync()
        data = self.server.treadmill_data_packets(max_len=link.att_mtu - 3)
        if FaultKind.GARBAGE in self._modes:
            whole = encode_treadmill_data(self.server.treadmill_data())
            link.send(uuids.TREADMILL_DATA_UUID, garbage_packet(self._garbage_seq, whole))
            self._garbage_seq += 1
        for packet in data:
            link.send(uuids.TREADMILL_DATA_UUID, packet)
