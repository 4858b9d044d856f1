"""A simulated Bluetooth heart-rate chest strap, beside the simulated treadmill.

    async with SimTreadmill() as treadmill, SimStrap(effort=treadmill) as strap:
        strap.backward = True   # the person turned round: the same speed costs more
        # BleakClient(strap.address, backend=SimBleakClient) subscribes to 0x2A37

Two layers, as the treadmill has:

* :class:`HeartModel`: pure arithmetic advanced by ``dt`` (no clock). The steady-state heart
  rate follows the oxygen cost of walking or running (the ACSM metabolic equations, speed and
  grade) mapped onto the heart-rate reserve; walking backward raises the %HRmax reached at the
  same speed by ``backward_factor`` (1.185: Hooper et al. 2004 found about 17-20 % higher %HRmax
  walking backward than forward at the same speed and grade). The pulse approaches its steady
  state with a first-order lag (``tau_up_s`` when working harder, ``tau_down_s`` in recovery)
  and drifts up slowly during long steady work (cardiovascular drift, ``drift_fraction`` of the
  working increment with time constant ``drift_tau_s``), fading when resting.
* :class:`SimStrap`: the model on the event loop's clock, advertising the Heart Rate Service
  (0x180D) through ``sim.registry`` and notifying Heart Rate Measurement (0x2A37) at
  ``notify_hz`` with sensor contact and the RR-intervals of the beats since the last packet. It
  has the same GATT face as ``SimTreadmill`` (``advertisement``, ``connect``, ``disconnect``,
  ``read``, ``write``, ``gatt_table``), so ``sim.bleak_backend`` serves both.

Faults (:class:`StrapFault`, ``KIND@SECONDS`` like the treadmill's): ``drop`` (the link drops;
the strap keeps advertising), and modes on until :meth:`SimStrap.clear_fault` or the link drops:
``stale`` (connected, silent), ``zero`` (0 bpm with contact claimed, as some straps do while
they search for a beat), ``contact_lost`` (contact bit clear, 0 bpm, no RR), ``noisy_rr``
(RR-intervals with 25 % jitter and missed/extra beats, the heart rate itself unchanged).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

from sim import registry
from sim.errors import AttError, FaultSpecError, SimConfigError, SimError
from sim.gatt import CharacteristicSpec, ServiceSpec
from sim.link import SimLink
from sim.treadmill import Advertisement
from treadcoach.ftms.heart_rate import (
    BODY_SENSOR_LOCATION_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    BodySensorLocation,
    HeartRateMeasurement,
    encode_body_sensor_location,
    encode_heart_rate_measurement,
)

__all__ = [
    "BACKWARD_HR_FACTOR",
    "STRAP_GATT_TABLE",
    "Effort",
    "HeartModel",
    "SimStrap",
    "StrapFault",
    "parse_strap_fault",
]

log = logging.getLogger(__name__)

#: Hooper et al. 2004: backward walking gave ~17-20 % higher %HRmax than forward at the same
#: speed; the middle of that range.
BACKWARD_HR_FACTOR = 1.185
REST_VO2 = 3.5  # ml/kg/min, one MET
MAX_RR_PER_PACKET = 9  # u8 value, no energy: 1 + 1 + 2 * 9 = 20 bytes, one ATT payload
ATT_WRITE_NOT_PERMITTED = 0x03
ATT_READ_NOT_PERMITTED = 0x02

STRAP_GATT_TABLE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        HEART_RATE_SERVICE_UUID,
        (
            CharacteristicSpec(HEART_RATE_MEASUREMENT_UUID, ("notify",)),
            CharacteristicSpec(BODY_SENSOR_LOCATION_UUID, ("read",)),
        ),
    ),
)


def oxygen_cost(speed_kmh: float, grade_pct: float) -> float:
    """ACSM VO2 (ml/kg/min) of walking (below 7 km/h) or running at ``speed_kmh`` up ``grade``."""
    v = max(speed_kmh, 0.0) * 1000.0 / 60.0  # m/min
    grade = max(grade_pct, 0.0) / 100.0
    if v <= 0.0:
        return REST_VO2
    if speed_kmh < 7.0:
        return REST_VO2 + 0.1 * v + 1.8 * v * grade
    return REST_VO2 + 0.2 * v + 0.9 * v * grade


@dataclass(slots=True)
class HeartModel:
    """A person's pulse on the belt; see the module docstring. ``heart_rate_bpm`` is the truth."""

    rest_bpm: float = 65.0
    max_bpm: float = 185.0
    vo2max_ml_kg_min: float = 32.0  # an untrained adult, the person this coach is for
    backward_factor: float = BACKWARD_HR_FACTOR
    tau_up_s: float = 35.0
    tau_down_s: float = 50.0
    drift_fraction: float = 0.10
    drift_tau_s: float = 900.0
    drift_recover_tau_s: float = 300.0
    heart_rate_bpm: float = field(default=-1.0)
    drift_bpm: float = 0.0

    def __post_init__(self) -> None:
        if not (30.0 <= self.rest_bpm < self.max_bpm <= 230.0):
            raise SimConfigError(
                "rest_bpm/max_bpm",
                f"need 30 <= rest < max <= 230, got {self.rest_bpm}/{self.max_bpm}",
            )
        for name in (
            "vo2max_ml_kg_min",
            "tau_up_s",
            "tau_down_s",
            "drift_tau_s",
            "drift_recover_tau_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise SimConfigError(name, f"must be a positive number, not {value!r}")
        if self.heart_rate_bpm < 0:
            self.heart_rate_bpm = self.rest_bpm

    def steady_bpm(self, speed_kmh: float, incline_pct: float, backward: bool) -> float:
        """The pulse this effort settles at (before drift)."""
        reserve = (oxygen_cost(speed_kmh, incline_pct) - REST_VO2) / (
            self.vo2max_ml_kg_min - REST_VO2
        )
        forward = self.rest_bpm + (self.max_bpm - self.rest_bpm) * min(1.0, max(0.0, reserve))
        if not backward or speed_kmh <= 0.0:
            return forward
        # the same effort as a higher fraction of HRmax
        return min(self.max_bpm, forward * self.backward_factor)

    def advance(self, dt: float, speed_kmh: float, incline_pct: float, backward: bool) -> None:
        if dt <= 0:
            return
        steady = self.steady_bpm(speed_kmh, incline_pct, backward)
        drift_goal = self.drift_fraction * max(0.0, steady - self.rest_bpm)
        drift_tau = self.drift_tau_s if drift_goal >= self.drift_bpm else self.drift_recover_tau_s
        self.drift_bpm = drift_goal + (self.drift_bpm - drift_goal) * math.exp(-dt / drift_tau)
        goal = min(self.max_bpm, steady + self.drift_bpm)
        tau = self.tau_up_s if goal >= self.heart_rate_bpm else self.tau_down_s
        self.heart_rate_bpm = goal + (self.heart_rate_bpm - goal) * math.exp(-dt / tau)


class Effort(Protocol):
    """What the strap reads of the belt: a ``SimTreadmill`` has both."""

    @property
    def belt_speed_kmh(self) -> float: ...
    @property
    def incline_pct(self) -> float: ...


class StrapFault(enum.StrEnum):
    DROP = "drop"
    STALE = "stale"
    ZERO = "zero"
    CONTACT_LOST = "contact_lost"
    NOISY_RR = "noisy_rr"


STRAP_MODES = frozenset(
    {StrapFault.STALE, StrapFault.ZERO, StrapFault.CONTACT_LOST, StrapFault.NOISY_RR}
)


def _fault_kind(text: str, spec: str) -> StrapFault:
    try:
        return StrapFault(text.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(k.value for k in StrapFault)
        raise FaultSpecError(spec, f"unknown strap fault kind; choose one of {known}") from None


def parse_strap_fault(spec: str) -> tuple[StrapFault, float]:
    """``"stale@60"`` -> (StrapFault.STALE, 60.0); raises FaultSpecError."""
    kind, sep, at = spec.partition("@")
    if not sep:
        raise FaultSpecError(spec, "expected KIND@SECONDS, e.g. stale@60")
    try:
        at_s = float(at)
    except ValueError:
        raise FaultSpecError(spec, f"{at!r} is not a number of seconds") from None
    if not (math.isfinite(at_s) and at_s >= 0):
        raise FaultSpecError(spec, "the time must be a number of seconds >= 0")
    return _fault_kind(kind, spec), at_s


class _Still:
    """The effort of nobody on a belt (a strap worn away from the treadmill)."""

    belt_speed_kmh = 0.0
    incline_pct = 0.0


class SimStrap:
    """A simulated heart-rate strap; see the module docstring."""

    gatt_table = STRAP_GATT_TABLE

    def __init__(
        self,
        name: str | None = None,
        address: str | None = None,
        *,
        effort: Effort | None = None,
        heart: HeartModel | None = None,
        faults: Iterable[str] = (),
        notify_hz: float = 1.0,
        seed: int = 16,
        rssi: int = -55,
        location: BodySensorLocation = BodySensorLocation.CHEST,
    ) -> None:
        if not (math.isfinite(notify_hz) and 0 < notify_hz <= 10):
            raise SimConfigError("notify_hz", f"must be above 0 and at most 10, not {notify_hz!r}")
        self.address = address if address is not None else registry.new_address()
        self.name = name if name is not None else "SimHR " + self.address[-5:].replace(":", "")
        self.effort: Effort = effort if effort is not None else _Still()
        self.heart = heart if heart is not None else HeartModel()
        #: the person faces away from the console (set it from the segment being run)
        self.backward = False
        self.notify_hz = notify_hz
        self.rssi = rssi
        self.location = location
        self._planned = [parse_strap_fault(f) for f in faults]
        self._random = random.Random(seed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._synced_at = 0.0
        self._beat_phase = 0.0  # fraction of the next beat already elapsed
        self._beats: list[float] = []  # RR-intervals (s) not yet notified
        self._ticker: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._link: SimLink | None = None
        self._modes: set[StrapFault] = set()
        #: (sim seconds, kind) of every fault that happened
        self.fault_log: list[tuple[float, StrapFault]] = []
        #: every packet notified, (sim seconds, bytes): what the central should have seen
        self.sent: list[tuple[float, bytes]] = []

    # --- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> SimStrap:
        if self._loop is not None:
            raise SimError(f"simulated strap {self.name} is already running")
        registry.register(self)
        self._loop = asyncio.get_running_loop()
        self._t0 = self._synced_at = self._loop.time()
        self._ticker = asyncio.create_task(self._notify_forever(), name=f"sim strap {self.name}")
        for kind, at_s in self._planned:
            self.schedule_fault(kind, at_s)
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
        if self._link is not None:
            link, self._link = self._link, None
            link.close(notify_central=True)
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.wait([self._ticker])
        self._ticker = None
        self._loop = None

    # --- the truth -----------------------------------------------------------------------------

    @property
    def heart_rate_bpm(self) -> float:
        self._sync()
        return self.heart.heart_rate_bpm

    @property
    def elapsed_s(self) -> float:
        return self._loop.time() - self._t0 if self._loop is not None else 0.0

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def active_faults(self) -> frozenset[StrapFault]:
        return frozenset(self._modes)

    def advertisement(self) -> Advertisement:
        return Advertisement(
            local_name=self.name,
            service_uuids=(HEART_RATE_SERVICE_UUID,),
            service_data={},
            tx_power=0,
            rssi=self.rssi,
        )

    # --- faults --------------------------------------------------------------------------------

    def inject(self, kind: StrapFault | str) -> None:
        kind = kind if isinstance(kind, StrapFault) else _fault_kind(kind, kind)
        self._sync()
        self.fault_log.append((self.elapsed_s, kind))
        log.info("simulated strap %s: fault %s", self.name, kind)
        if kind is StrapFault.DROP:
            if self._link is not None:
                link, self._link = self._link, None
                self._modes.clear()
                link.close(notify_central=True)
        else:
            self._modes.add(kind)

    def clear_fault(self, kind: StrapFault | str) -> None:
        self._modes.discard(kind if isinstance(kind, StrapFault) else _fault_kind(kind, kind))

    def schedule_fault(self, kind: StrapFault | str, at_s: float) -> None:
        kind = kind if isinstance(kind, StrapFault) else _fault_kind(kind, kind)
        if self._loop is None:
            self._planned.append((kind, at_s))
            return
        self._timers.append(self._loop.call_at(self._t0 + at_s, self.inject, kind))

    # --- the GATT face -------------------------------------------------------------------------

    def connect(self, on_lost: Callable[[], None] | None = None) -> SimLink:
        if self._loop is None:
            raise SimError(f"simulated strap {self.name} is not running")
        if self._link is not None:
            raise SimError(f"simulated strap {self.name} is already connected to a central")
        self._sync()
        self._beats.clear()
        self._link = SimLink(self.address, on_lost)
        return self._link

    def disconnect(self, link: SimLink) -> None:
        if link is self._link:
            self._link = None
            self._modes.clear()
        link.close(notify_central=False)

    def read(self, uuid: str) -> bytes:
        if uuid == BODY_SENSOR_LOCATION_UUID:
            return encode_body_sensor_location(self.location)
        raise AttError(ATT_READ_NOT_PERMITTED, f"characteristic {uuid} cannot be read")

    def write(self, link: SimLink, uuid: str, data: bytes) -> None:
        raise AttError(ATT_WRITE_NOT_PERMITTED, f"characteristic {uuid} cannot be written")

    # --- internals -----------------------------------------------------------------------------

    def _sync(self) -> None:
        if self._loop is None:
            return
        now = self._loop.time()
        dt = now - self._synced_at
        self._synced_at = now
        if dt <= 0:
            return
        # advance in <= 1 s pieces so the beats carry the pulse of their own second
        while dt > 0:
            piece = min(dt, 1.0)
            dt -= piece
            self.heart.advance(
                piece, self.effort.belt_speed_kmh, self.effort.incline_pct, self.backward
            )
            bpm = self.heart.heart_rate_bpm
            self._beat_phase += piece * bpm / 60.0
            while self._beat_phase >= 1.0:
                self._beat_phase -= 1.0
                self._beats.append(60.0 / bpm * (1.0 + self._random.gauss(0.0, 0.02)))
        del self._beats[:-MAX_RR_PER_PACKET]

    def measurement(self) -> HeartRateMeasurement:
        """The packet the strap would notify now (and the RR-intervals it takes from the queue)."""
        self._sync()
        beats, self._beats = self._beats, []
        if StrapFault.CONTACT_LOST in self._modes:
            return HeartRateMeasurement(0, contact=False)
        if StrapFault.ZERO in self._modes:
            return HeartRateMeasurement(0, contact=True)
        if StrapFault.NOISY_RR in self._modes:
            beats = [self._noisy(rr) for rr in beats]
        rr = tuple(min(63.99, max(0.0, b)) for b in beats)
        return HeartRateMeasurement(
            round(self.heart.heart_rate_bpm), contact=True, rr_intervals_s=rr
        )

    def _noisy(self, rr: float) -> float:
        roll = self._random.random()
        if roll < 0.1:
            return rr * 2.0  # a missed beat
        if roll < 0.2:
            return rr * 0.5  # an extra (ectopic) beat
        return rr * (1.0 + self._random.gauss(0.0, 0.25))

    async def _notify_forever(self) -> None:
        assert self._loop is not None
        period = 1.0 / self.notify_hz
        n = 0
        while True:
            n += 1
            await asyncio.sleep(max(0.0, self._t0 + n * period - self._loop.time()))
            link = self._link
            if link is None or not link.enabled(HEART_RATE_MEASUREMENT_UUID):
                self._sync()
                self._beats.clear()
                continue
            packet = encode_heart_rate_measurement(self.measurement())
            if StrapFault.STALE in self._modes:
                continue
            self.sent.append((self.elapsed_s, packet))
            link.send(HEART_RATE_MEASUREMENT_UUID, packet)
