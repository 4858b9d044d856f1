"""Turn "this computer cannot do Bluetooth" into one :class:`BluetoothUnavailable` with a fix.

Bleak reports a missing radio in many shapes, depending on how far it got: no D-Bus socket at all
(``FileNotFoundError`` from the socket connect), D-Bus up but bluetoothd not running
(``BleakDBusError`` ``ServiceUnknown``), a policy refusal (``AuthError`` wrapped in
``BleakBluetoothNotAvailableError``, or ``AccessDenied``), no adapter or an adapter switched off
(``BleakBluetoothNotAvailableError`` with a reason, or ``org.bluez.Error.NotReady``).
:func:`bluetooth_unavailable` recognises each one, looking through ``__cause__`` chains because
bleak-retry-connector re-raises with ``from exc``; anything else is not ours to rename.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from treadcoach.errors import BluetoothUnavailable

__all__ = ["bluetooth_unavailable", "platform_backend_is_bluez", "translate_bluetooth_errors"]

_SIM_HINT = "or try the simulator instead: add --sim"
_START_BLUEZ = "Start it with 'sudo systemctl start bluetooth'"
_POWER_ON = "Switch it on with 'bluetoothctl power on' (and 'rfkill unblock bluetooth' if blocked)"
_PERMISSION = (
    "Run as a user allowed to use Bluetooth (e.g. in the 'bluetooth' group, or an active desktop "
    "session), or allow it in the system settings"
)


def _system_bus_path() -> str:
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")
    if address.startswith("unix:path="):
        return address.removeprefix("unix:path=").split(",", 1)[0]
    return "/run/dbus/system_bus_socket"


def _from_reason(reason: BleakBluetoothNotAvailableReason, message: str) -> BluetoothUnavailable:
    R = BleakBluetoothNotAvailableReason
    if reason is R.NO_BLUETOOTH:
        return BluetoothUnavailable(
            "no Bluetooth adapter was found",
            f"Plug in or enable a Bluetooth LE adapter, {_SIM_HINT}.",
        )
    if reason is R.NO_BLE_CENTRAL_ROLE:
        return BluetoothUnavailable(
            "the Bluetooth adapter cannot act as a Bluetooth LE central",
            f"Use a Bluetooth 4.0+ (LE) adapter, {_SIM_HINT}.",
        )
    if reason is R.POWERED_OFF:
        return BluetoothUnavailable(
            "the Bluetooth adapter is switched off", f"{_POWER_ON}, {_SIM_HINT}."
        )
    if reason in (R.DENIED_BY_USER, R.DENIED_BY_SYSTEM, R.DENIED_BY_UNKNOWN):
        return BluetoothUnavailable(
            "this program has no permission to use Bluetooth", f"{_PERMISSION}, {_SIM_HINT}."
        )
    return BluetoothUnavailable(
        f"the system says Bluetooth is unavailable ({message})",
        f"Check that an adapter is present and switched on, {_SIM_HINT}.",
    )


def _from_dbus(exc: BleakDBusError) -> BluetoothUnavailable | None:
    name = exc.dbus_error
    if name in (
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
    ):
        return BluetoothUnavailable(
            "the Bluetooth service (bluetoothd) is not running", f"{_START_BLUEZ}, {_SIM_HINT}."
        )
    if name in ("org.freedesktop.DBus.Error.AccessDenied", "org.bluez.Error.NotAuthorized"):
        return BluetoothUnavailable(
            "this program has no permission to use Bluetooth over D-Bus",
            f"{_PERMISSION}, {_SIM_HINT}.",
        )
    if name == "org.bluez.Error.NotReady":
        return BluetoothUnavailable(
            "the Bluetooth adapter is switched off", f"{_POWER_ON}, {_SIM_HINT}."
        )
    return None


def _one(exc: BaseException) -> BluetoothUnavailable | None:
    if isinstance(exc, BluetoothUnavailable):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return _from_reason(exc.reason, str(exc.args[0]) if exc.args else "")
    if isinstance(exc, BleakDBusError):
        return _from_dbus(exc)
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        # The socket connect to the system bus failed: no D-Bus, so no bluetoothd either.
        return BluetoothUnavailable(
            f"the D-Bus system bus is not running (nothing listens on {_system_bus_path()}), "
            "so bluetoothd cannot be reached",
            f"Start D-Bus and Bluetooth with 'sudo systemctl start dbus bluetooth', {_SIM_HINT}.",
        )
    if isinstance(exc, PermissionError):
        return BluetoothUnavailable(
            f"this program may not open the D-Bus system bus ({_system_bus_path()})",
            f"{_PERMISSION}, {_SIM_HINT}.",
        )
    if isinstance(exc, BleakError) and exc.args:
        text = str(exc.args[0])
        if "adapter" in text and "not found" in text:
            return BluetoothUnavailable(
                f"the Bluetooth adapter is missing ({text})",
                f"Plug in or enable a Bluetooth LE adapter, {_SIM_HINT}.",
            )
    return None


def bluetooth_unavailable(exc: BaseException) -> BluetoothUnavailable | None:
    """The :class:`BluetoothUnavailable` that ``exc`` (or one of its causes) means, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def translate_bluetooth_errors() -> Iterator[None]:
    """Re-raise a "no usable Bluetooth" failure of the block as :class:`BluetoothUnavailable`."""
    try:
        yield
    except (BleakError, OSError) as exc:
        unavailable = bluetooth_unavailable(exc)
        if unavailable is None:
            raise
        raise unavailable from exc


def platform_backend_is_bluez() -> bool:
    """Whether bleak's default backend here is BlueZ (tests may swap it for the simulator)."""
    import bleak

    # read from bleak's namespace, where BleakClient looks it up (and where tests swap it)
    lookup = vars(bleak)["get_platform_client_backend_type"]
    try:
        backend, _ = lookup()
    except Exception:  # bleak itself says no backend: the link reports that when it scans
        return False
    return str(backend.__module__).startswith("bleak.backends.bluezdbus")
