"""Shared wire helpers: characteristic names for errors, scaled-number encoding, length checks.

Every encoder turns a value in real units into a raw integer through :func:`to_raw`, so rounding
and range checks behave the same for every field of every characteristic.
"""

from __future__ import annotations

import math

from treadcoach.errors import FtmsDecodeError, FtmsValueOutOfRange

__all__ = [
    "CONTROL_POINT",
    "FEATURE",
    "INCLINATION_RANGE",
    "MACHINE_STATUS",
    "SERVICE_DATA",
    "SPEED_RANGE",
    "TRAINING_STATUS",
    "TREADMILL_DATA",
    "need",
    "scaled",
    "to_raw",
]

# Characteristic names as they appear in FtmsDecodeError messages.
TREADMILL_DATA = "Treadmill Data (0x2ACD)"
FEATURE = "Fitness Machine Feature (0x2ACC)"
TRAINING_STATUS = "Training Status (0x2AD3)"
SPEED_RANGE = "Supported Speed Range (0x2AD4)"
INCLINATION_RANGE = "Supported Inclination Range (0x2AD5)"
CONTROL_POINT = "Fitness Machine Control Point (0x2AD9)"
MACHINE_STATUS = "Fitness Machine Status (0x2ADA)"
SERVICE_DATA = "FTMS service data (0x1826)"

# Raw integer limits of the wire types.
U8 = (0, 0xFF)
U16 = (0, 0xFFFF)
U24 = (0, 0xFFFFFF)
S16 = (-0x8000, 0x7FFF)


def to_raw(value: float, per_unit: int, lo: int, hi: int, field: str, unit: str) -> int:
    """``value`` (real units) as the raw integer of a field with ``per_unit`` steps per unit.

    Rounds to the nearest step, halves away from zero (3.455 km/h -> 3.46, -0.25 % -> -0.3 %):
    Python's ``round()`` would send 3.445 as 3.44 (half-even plus binary noise), which surprises
    anyone reading the console. The product is first rounded to 6 decimals so that binary noise
    (1.005 * 100 == 100.49999999999999) does not decide the direction.
    Raises FtmsValueOutOfRange when the value is not finite or outside ``lo..hi`` steps.
    """
    lo_real, hi_real = lo / per_unit, hi / per_unit
    if not (math.isfinite(value) and lo_real <= value <= hi_real):
        raise FtmsValueOutOfRange(field, value, lo_real, hi_real, unit)
    scaled_value = round(value * per_unit, 6)
    if scaled_value >= 0:
        return math.floor(scaled_value + 0.5)
    return -math.floor(-scaled_value + 0.5)


def scaled(raw: int, per_unit: int) -> float | int:
    """A raw integer in real units: ``int`` for whole units, else the nearest float (raw / n)."""
    return raw if per_unit == 1 else raw / per_unit


def need(data: bytes, offset: int, size: int, characteristic: str, expected: str) -> None:
    """Raise FtmsDecodeError unless ``data`` holds ``size`` bytes at ``offset``."""
    if len(data) < offset + size:
        raise FtmsDecodeError(
            characteristic,
            offset,
            f"{expected} ({size} byte{'s' if size != 1 else ''}), "
            f"but only {max(len(data) - offset, 0)} left",
            data,
        )
