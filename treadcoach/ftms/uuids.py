"""GATT UUIDs of the Fitness Machine Service and the Device Information Service.

Bleak spells UUIDs as lowercase 128-bit strings; every constant here is in that form so it can be
compared with ``BleakGATTCharacteristic.uuid`` as is. The ``*_SHORT`` integers are the 16-bit
assigned numbers, for logs and error messages.
"""

from __future__ import annotations

from treadcoach.errors import LocalFtmsError

__all__ = [
    "BLUETOOTH_BASE_UUID_SUFFIX",
    "CONTROL_POINT_UUID",
    "DEVICE_INFORMATION_SERVICE_UUID",
    "FEATURE_UUID",
    "FIRMWARE_REVISION_UUID",
    "FTMS_SERVICE_SHORT",
    "FTMS_SERVICE_UUID",
    "HARDWARE_REVISION_UUID",
    "INCLINATION_RANGE_UUID",
    "MACHINE_STATUS_UUID",
    "MANUFACTURER_NAME_UUID",
    "MODEL_NUMBER_UUID",
    "SERIAL_NUMBER_UUID",
    "SOFTWARE_REVISION_UUID",
    "SPEED_RANGE_UUID",
    "TRAINING_STATUS_UUID",
    "TREADMILL_DATA_UUID",
    "uuid16",
]

BLUETOOTH_BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16(short: int) -> str:
    """The full lowercase 128-bit UUID of a 16-bit assigned number (0x2ACD -> '00002acd-...')."""
    if not 0 <= short <= 0xFFFF:
        raise LocalFtmsError(f"{short!r} is not a 16-bit Bluetooth assigned number (0 to 0xFFFF).")
    return f"0000{short:04x}{BLUETOOTH_BASE_UUID_SUFFIX}"


# --- Fitness Machine Service (FTMS 1.0) --------------------------------------------------------
FTMS_SERVICE_SHORT = 0x1826
FTMS_SERVICE_UUID = uuid16(FTMS_SERVICE_SHORT)
FEATURE_UUID = uuid16(0x2ACC)  # read: machine + target-setting features
TREADMILL_DATA_UUID = uuid16(0x2ACD)  # notify
TRAINING_STATUS_UUID = uuid16(0x2AD3)  # notify / read
SPEED_RANGE_UUID = uuid16(0x2AD4)  # read
INCLINATION_RANGE_UUID = uuid16(0x2AD5)  # read
CONTROL_POINT_UUID = uuid16(0x2AD9)  # write + indicate
MACHINE_STATUS_UUID = uuid16(0x2ADA)  # notify

# --- Device Information Service ----------------------------------------------------------------
DEVICE_INFORMATION_SERVICE_UUID = uuid16(0x180A)
MODEL_NUMBER_UUID = uuid16(0x2A24)
SERIAL_NUMBER_UUID = uuid16(0x2A25)
FIRMWARE_REVISION_UUID = uuid16(0x2A26)
HARDWARE_REVISION_UUID = uuid16(0x2A27)
SOFTWARE_REVISION_UUID = uuid16(0x2A28)
MANUFACTURER_NAME_UUID = uuid16(0x2A29)
