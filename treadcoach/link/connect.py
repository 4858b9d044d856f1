"""Finding the treadmill and opening one connection to it (asyncio shell).

``Connection`` owns the identity of the machine (the target as given, then the address and
name it was found under, and its devices.toml profile, resolved once when first found) and
what the current connection's setup read (the client, the ranges, the features). ``open`` is
one attempt: scan if needed, connect (bleak-retry-connector), set up GATT in FTMS order, and
hand the control point to the ``ControlChannel``. What the values mean is decided in pure
modules (``ranges.effective_ranges``, ``observe.MachineView``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner

from treadcoach.ftms import InclinationRange, MachineFeatures, SpeedRange
from treadcoach.link import gatt
from treadcoach.link.channel import ControlChannel
from treadcoach.link.intake import Intake
from treadcoach.link.phase import LinkPhaseMachine
from treadcoach.link.phase import PhaseTrigger as P
from treadcoach.link.profile import GENERIC_PROFILE, LinkProfile
from treadcoach.link.ranges import DEFAULT_INCLINE_RANGE, DEFAULT_SPEED_RANGE, effective_ranges
from treadcoach.link.scan import find_treadmill, is_address

__all__ = ["Connection", "ProfileSource", "profile_before_found"]

logger = logging.getLogger(__name__)

#: ``(advertised name, address) -> profile``: e.g. ``Settings.profile_for``, resolved once the
#: device is found, so a link can be opened by name with the matching devices.toml entry.
ProfileSource = LinkProfile | Callable[[str | None, str], LinkProfile]


def profile_before_found(source: ProfileSource | None) -> LinkProfile:
    """The profile until the device is found (a lookup is resolved then): the one given, or
    a standard FTMS treadmill's."""
    return GENERIC_PROFILE if source is None or callable(source) else source


def _now() -> float:
    return asyncio.get_running_loop().time()


class Connection:
    def __init__(
        self,
        target: str | BLEDevice,
        *,
        profile: ProfileSource | None,
        client_backend: type[BaseBleakClient] | None,
        scanner_backend: type[BaseBleakScanner] | None,
        phase: LinkPhaseMachine,
        channel: ControlChannel,
        intake: Intake,
        on_disconnected: Callable[[BleakClient], None],
    ) -> None:
        self.target = target
        self._profile_source = profile
        self.profile: LinkProfile = profile_before_found(profile)
        self._client_backend, self._scanner_backend = client_backend, scanner_backend
        self._phase, self._channel, self._intake = phase, channel, intake
        self._on_disconnected = on_disconnected
        self._device: BLEDevice | None = target if isinstance(target, BLEDevice) else None
        self.address: str | None = (
            target.address
            if isinstance(target, BLEDevice)
            else target
            if is_address(target)
            else None
        )
        self._name: str | None = target.name if isinstance(target, BLEDevice) else None
        #: the current connection's client (None while down)
        self.client: BleakClient | None = None
        self.training_status_char: BleakGATTCharacteristic | None = None
        self.features: MachineFeatures | None = None
        self.speed_range: SpeedRange = DEFAULT_SPEED_RANGE
        self.incline_range: InclinationRange = DEFAULT_INCLINE_RANGE

    @property
    def name(self) -> str:
        """The advertised name (the address when the treadmill advertises none)."""
        return self._name or self.address or str(self.target)

    async def _find_device(self, timeout_s: float) -> BLEDevice:
        view = self._intake.view
        if self._device is not None and self.client is None and view.connected_at is None:
            return self._device
        wanted = self.address or str(self.target)
        found = await find_treadmill(
            wanted, timeout_s=timeout_s, scanner_backend=self._scanner_backend
        )
        self.address = found.address
        self._name = found.name or self._name
        return found.device

    def _resolve_profile(self) -> None:
        source = self._profile_source
        if source is not None and callable(source) and self.address is not None:
            self.profile = source(self._name, self.address)

    async def open(self, find_timeout_s: float) -> None:
        """One connect attempt, up to GATT set up (phase ``GATT_UP``)."""
        self._phase.fire(P.ATTEMPT, _now())
        device = await self._find_device(find_timeout_s)
        view = self._intake.view
        if view.connected_at is None:
            self._resolve_profile()
            view.quirks = self.profile
        client = await gatt.connect(
            device,
            name=self.name,
            backend=self._client_backend,
            on_disconnected=self._on_disconnected,
        )
        self.client = client
        try:
            up = await gatt.set_up(
                client, name=self.name, address=self.address, on=self._intake.handlers
            )
        except BaseException:
            self.client = None
            raise
        self._channel.attach(client, up.control_point)
        self.training_status_char = up.training_status_char
        self.features = up.features
        ranges = effective_ranges(self.profile, up.speed_range, up.incline_range, up.features)
        for warning in ranges.warnings:
            logger.warning("%s: %s", self.name, warning)
        self.speed_range, self.incline_range = ranges.speed, ranges.incline
        if up.training is not None:
            view.training_read(up.training)
            self._intake.belt_changed()
        self._phase.fire(P.GATT_UP, _now())
        view.connected(_now())
