"""Read-once characteristics: Fitness Machine Feature (0x2ACC) and the supported ranges.

These are fixed-size records. Bytes after the fixed part are ignored (a later revision of the
specification may append fields); a short read raises FtmsDecodeError. A range whose maximum is
below its minimum is refused in both directions: commanding within a nonsense range is unsafe.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from treadcoach.errors import FtmsDecodeError, LocalFtmsError

from ._wire import FEATURE, INCLINATION_RANGE, S16, SPEED_RANGE, U16, need, to_raw
from .enums import MachineFeature, TargetSettingFeature

__all__ = [
    "InclinationRange",
    "MachineFeatures",
    "SpeedRange",
    "decode_inclination_range",
    "decode_machine_features",
    "decode_speed_range",
    "encode_inclination_range",
    "encode_machine_features",
    "encode_speed_range",
]

_U32X2 = struct.Struct("<II")
_U16X3 = struct.Struct("<HHH")
_S16S16U16 = struct.Struct("<hhH")


@dataclass(frozen=True, slots=True)
class MachineFeatures:
    """What the machine reports (``machine``) and which targets it accepts (``target_setting``)."""

    machine: MachineFeature
    target_setting: TargetSettingFeature


def decode_machine_features(data: bytes) -> MachineFeatures:
    need(data, 0, 4, FEATURE, "Fitness Machine Features (uint32)")
    need(data, 4, 4, FEATURE, "Target Setting Features (uint32)")
    machine, target = _U32X2.unpack_from(data)
    return MachineFeatures(MachineFeature(machine), TargetSettingFeature(target))


def encode_machine_features(features: MachineFeatures) -> bytes:
    for name, value in (("machine", features.machine), ("target_setting", features.target_setting)):
        if not 0 <= int(value) <= 0xFFFFFFFF:
            raise LocalFtmsError(f"MachineFeatures.{name} = {int(value)} does not fit in 32 bits.")
    return _U32X2.pack(int(features.machine), int(features.target_setting))


@dataclass(frozen=True, slots=True)
class SpeedRange:
    """Supported Speed Range (0x2AD4): u16 each, 0.01 km/h resolution."""

    min_kmh: float
    max_kmh: float
    increment_kmh: float


def decode_speed_range(data: bytes) -> SpeedRange:
    for offset, label in ((0, "Minimum Speed"), (2, "Maximum Speed"), (4, "Minimum Increment")):
        need(data, offset, 2, SPEED_RANGE, f"{label} (uint16, 0.01 km/h)")
    lo, hi, step = _U16X3.unpack_from(data)
    if hi < lo:
        raise FtmsDecodeError(SPEED_RANGE, 2, "a maximum speed not below the minimum", data)
    return SpeedRange(lo / 100, hi / 100, step / 100)


def encode_speed_range(speed_range: SpeedRange) -> bytes:
    lo = to_raw(speed_range.min_kmh, 100, *U16, "SpeedRange.min_kmh", " km/h")
    hi = to_raw(speed_range.max_kmh, 100, *U16, "SpeedRange.max_kmh", " km/h")
    step = to_raw(speed_range.increment_kmh, 100, *U16, "SpeedRange.increment_kmh", " km/h")
    if hi < lo:
        raise LocalFtmsError(
            f"SpeedRange.max_kmh = {speed_range.max_kmh!r} is below min_kmh = {speed_range.min_kmh!r}."
        )
    return _U16X3.pack(lo, hi, step)


@dataclass(frozen=True, slots=True)
class InclinationRange:
    """Supported Inclination Range (0x2AD5): s16 min, s16 max, u16 increment, 0.1 % resolution."""

    min_pct: float
    max_pct: float
    increment_pct: float


def decode_inclination_range(data: bytes) -> InclinationRange:
    need(data, 0, 2, INCLINATION_RANGE, "Minimum Inclination (sint16, 0.1 %)")
    need(data, 2, 2, INCLINATION_RANGE, "Maximum Inclination (sint16, 0.1 %)")
    need(data, 4, 2, INCLINATION_RANGE, "Minimum Increment (uint16, 0.1 %)")
    lo, hi, step = _S16S16U16.unpack_from(data)
    if hi < lo:
        raise FtmsDecodeError(
            INCLINATION_RANGE, 2, "a maximum inclination not below the minimum", data
        )
    return InclinationRange(lo / 10, hi / 10, step / 10)


def encode_inclination_range(incline_range: InclinationRange) -> bytes:
    lo = to_raw(incline_range.min_pct, 10, *S16, "InclinationRange.min_pct", " %")
    hi = to_raw(incline_range.max_pct, 10, *S16, "InclinationRange.max_pct", " %")
    step = to_raw(incline_range.increment_pct, 10, *U16, "InclinationRange.increment_pct", " %")
    if hi < lo:
        raise LocalFtmsError(
            f"InclinationRange.max_pct = {incline_range.max_pct!r} is below "
            f"min_pct = {incline_range.min_pct!r}."
        )
    return _S16S16U16.pack(lo, hi, step)
