"""Every way bleak says "no usable Bluetooth here" becomes one BluetoothUnavailable with a fix."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from treadcoach.errors import BluetoothUnavailable
from treadcoach.link import TreadmillLink, bluetooth_unavailable, translate_bluetooth_errors

R = BleakBluetoothNotAvailableReason


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (FileNotFoundError(2, "No such file or directory"), "D-Bus system bus is not running"),
        (ConnectionRefusedError(111, "Connection refused"), "D-Bus system bus is not running"),
        (PermissionError(13, "Permission denied"), "may not open the D-Bus system bus"),
        (BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []), "bluetoothd"),
        (BleakDBusError("org.freedesktop.DBus.Error.NameHasNoOwner", []), "bluetoothd"),
        (BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", []), "no permission"),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), "switched off"),
        (
            BleakBluetoothNotAvailableError("No Bluetooth adapters found.", R.NO_BLUETOOTH),
            "no Bluetooth adapter",
        ),
        (BleakBluetoothNotAvailableError("off", R.POWERED_OFF), "switched off"),
        (BleakBluetoothNotAvailableError("denied", R.DENIED_BY_SYSTEM), "no permission"),
        (BleakBluetoothNotAvailableError("denied", R.DENIED_BY_USER), "no permission"),
        (BleakBluetoothNotAvailableError("le", R.NO_BLE_CENTRAL_ROLE), "Bluetooth LE central"),
        (BleakBluetoothNotAvailableError("?", R.UNKNOWN), "unavailable"),
        (BleakError("adapter 'hci0' not found"), "adapter is missing"),
    ],
)
def test_each_cause_gets_a_message_with_a_fix_and_the_sim_hint(
    error: BaseException, says: str
) -> None:
    unavailable = bluetooth_unavailable(error)
    assert unavailable is not None
    message = str(unavailable)
    assert message.startswith("Bluetooth is not available: ")
    assert says in message
    assert "--sim" in message
    assert "\n" not in message
    assert unavailable.reason
    assert unavailable.hint


def test_a_cause_wrapped_by_the_retry_connector_is_still_recognised() -> None:
    try:
        try:
            raise BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", [])
        except BleakDBusError as inner:
            raise BleakError("Failed to connect after 3 attempt(s)") from inner
    except BleakError as outer:
        found = bluetooth_unavailable(outer)
    assert found is not None
    assert "bluetoothd" in found.reason


@pytest.mark.parametrize(
    "error",
    [
        BleakError("Not connected"),
        BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
        ValueError("not ours"),
    ],
)
def test_link_failures_that_are_not_about_the_adapter_are_left_alone(
    error: BaseException,
) -> None:
    assert bluetooth_unavailable(error) is None


def test_translate_reraises_as_bluetooth_unavailable_keeping_the_cause() -> None:
    cause = FileNotFoundError(2, "No such file or directory")
    with pytest.raises(BluetoothUnavailable) as caught, translate_bluetooth_errors():
        raise cause
    assert caught.value.__cause__ is cause


def test_translate_leaves_other_errors_as_they_are() -> None:
    with pytest.raises(BleakError, match="Not connected"), translate_bluetooth_errors():
        raise BleakError("Not connected")


def test_opening_a_link_without_bluetooth_raises_bluetooth_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What `treadcoach run` without --sim meets on a machine with no D-Bus / bluetoothd.
    missing = tmp_path / "no-such-dbus-socket"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={missing}")

    async def open_link() -> None:
        async with TreadmillLink("AA:BB:CC:DD:EE:FF", find_timeout_s=1.0):
            pass

    with pytest.raises(BluetoothUnavailable) as caught:
        asyncio.run(open_link())
    assert str(missing) in str(caught.value)
    assert "--sim" in caught.value.hint
