"""Heart Rate Service (0x180D): Heart Rate Measurement (0x2A37) and Body Sensor Location (0x2A38).

Sans-I/O, like the FTMS codec beside it: bytes in, a frozen value out, and back. A chest strap is
a second GATT peripheral next to the treadmill; the link reads it, the simulator serves it, with
this one codec.

Heart Rate Measurement (GATT Specification Supplement, "Heart Rate Measurement"), little-endian:

==== ====================================================== ==================================
bit  meaning of the flags byte (u8)                         field it adds, in this order
==== ====================================================== ==================================
0    Heart Rate Value Format: 0 = u8, 1 = u16               Heart Rate Measurement Value, bpm
1    Sensor Contact Status (only meaningful with bit 2)     --
2    Sensor Contact Support                                 --
3    Energy Expended present                                Energy Expended u16, kJ
4    RR-Interval present                                    RR-Interval u16 x n, 1/1024 s
5-7  reserved                                               --
==== ====================================================== ==================================

Contact: bit 2 clear = the strap cannot tell (``contact=None``); bit 2 set = it can, and bit 1
says whether the skin contact is good. RR-intervals fill the rest of the packet (as many as fit;
the oldest first). Energy Expended saturates at 0xFFFF (the spec says it stays there), so it is a
measurement, never "not available".

Strict, as the FTMS codec is: a truncated value, an odd byte after the RR-intervals, or bytes
after the last field when no RR-intervals are announced raise :class:`HeartRateDecodeError`
(an ``FtmsDecodeError``), naming the offset. Reserved flag bits move no field, so they are kept
in ``reserved_flags`` rather than refused: a strap that sets one still gives a usable pulse.
A value of 0 bpm decodes as 0: straps send it when they have no beat to report; deciding what
it means is the coach's business (``treadcoach.coach.heart_rate``), not the wire's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from treadcoach.errors import HeartRateDecodeError, LocalFtmsError

from ._wire import U8, U16, to_raw
from .uuids import uuid16

__all__ = [
    "BODY_SENSOR_LOCATION",
    "BODY_SENSOR_LOCATION_UUID",
    "HEART_RATE_MEASUREMENT",
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_SHORT",
    "HEART_RATE_SERVICE_UUID",
    "RR_PER_SECOND",
    "BodySensorLocation",
    "HeartRateMeasurement",
    "decode_body_sensor_location",
    "decode_heart_rate_measurement",
    "encode_body_sensor_location",
    "encode_heart_rate_measurement",
]

HEART_RATE_SERVICE_SHORT = 0x180D
HEART_RATE_SERVICE_UUID = uuid16(HEART_RATE_SERVICE_SHORT)
HEART_RATE_MEASUREMENT_UUID = uuid16(0x2A37)  # notify
BODY_SENSOR_LOCATION_UUID = uuid16(0x2A38)  # read

# Characteristic names as they appear in HeartRateDecodeError messages.
HEART_RATE_MEASUREMENT = "Heart Rate Measurement (0x2A37)"
BODY_SENSOR_LOCATION = "Body Sensor Location (0x2A38)"

RR_PER_SECOND = 1024  # RR-interval resolution: 1/1024 s

FORMAT_U16 = 0x01
CONTACT_STATUS = 0x02
CONTACT_SUPPORTED = 0x04
ENERGY_PRESENT = 0x08
RR_PRESENT = 0x10
RESERVED_FLAGS = 0xE0

_U16 = struct.Struct("<H")


class BodySensorLocation(IntEnum):
    """Body Sensor Location (0x2A38) values; 7-255 are reserved."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement notification.

    ``contact`` is None when the strap does not report skin contact, else whether it has it.
    ``energy_kj`` is None when not sent. ``rr_intervals_s`` is None when the RR-interval flag is
    clear, else the intervals in seconds (possibly none: the flag with no values). ``u16_format``
    keeps the wire's value format, so ``decode(encode(m)) == m`` holds for every packet.
    """

    heart_rate_bpm: int
    contact: bool | None = None
    energy_kj: int | None = None
    rr_intervals_s: tuple[float, ...] | None = None
    u16_format: bool = False
    reserved_flags: int = 0

    def __post_init__(self) -> None:
        hi = U16[1] if self.u16_format else U8[1]
        bpm = self.heart_rate_bpm
        if isinstance(bpm, bool) or not isinstance(bpm, int) or not 0 <= bpm <= hi:
            raise LocalFtmsError(
                f"heart_rate_bpm = {bpm!r} cannot be sent in the "
                f"{'u16' if self.u16_format else 'u8'} heart rate format: it must be a whole "
                f"number from 0 to {hi}."
            )
        if self.energy_kj is not None and not 0 <= self.energy_kj <= U16[1]:
            raise LocalFtmsError(
                f"energy_kj = {self.energy_kj!r} must be from 0 to {U16[1]} kJ (it saturates)."
            )
        if self.reserved_flags & ~RESERVED_FLAGS:
            raise LocalFtmsError(
                f"reserved_flags = 0x{self.reserved_flags:02X} may only use the reserved Heart "
                "Rate Measurement flag bits 5-7 (0xE0)."
            )

    @property
    def rr_intervals_ms(self) -> tuple[float, ...]:
        """The RR-intervals in milliseconds (empty when none were sent)."""
        return tuple(rr * 1000.0 for rr in self.rr_intervals_s or ())


def _fail(offset: int, expected: str, data: bytes) -> HeartRateDecodeError:
    return HeartRateDecodeError(HEART_RATE_MEASUREMENT, offset, expected, data)


def decode_heart_rate_measurement(data: bytes) -> HeartRateMeasurement:
    """Decode one Heart Rate Measurement notification; raises HeartRateDecodeError."""
    data = bytes(data)
    if not data:
        raise _fail(0, "Flags (uint8) (1 byte), but only 0 left", data)
    flags = data[0]
    offset = 1
    if flags & FORMAT_U16:
        if len(data) < 3:
            raise _fail(
                1,
                f"Heart Rate u16 (flags bit 0 set) (2 bytes), but only {len(data) - 1} left",
                data,
            )
        bpm = _U16.unpack_from(data, 1)[0]
        offset = 3
    else:
        if len(data) < 2:
            raise _fail(1, "Heart Rate u8 (flags bit 0 clear) (1 byte), but only 0 left", data)
        bpm = data[1]
        offset = 2
    energy: int | None = None
    if flags & ENERGY_PRESENT:
        if len(data) < offset + 2:
            raise _fail(
                offset,
                f"Energy Expended (flags bit 3 set) (2 bytes), but only {len(data) - offset} left",
                data,
            )
        energy = _U16.unpack_from(data, offset)[0]
        offset += 2
    rr: tuple[float, ...] | None = None
    rest = len(data) - offset
    if flags & RR_PRESENT:
        if rest % 2:
            raise _fail(
                len(data) - 1, "RR-Interval (flags bit 4 set) (2 bytes), but only 1 left", data
            )
        count = rest // 2
        raws = struct.unpack_from(f"<{count}H", data, offset)
        rr = tuple(raw / RR_PER_SECOND for raw in raws)
    elif rest:
        raise _fail(offset, f"the end of the packet (no RR-Interval flag), but {rest} more", data)
    contact = bool(flags & CONTACT_STATUS) if flags & CONTACT_SUPPORTED else None
    return HeartRateMeasurement(
        heart_rate_bpm=bpm,
        contact=contact,
        energy_kj=energy,
        rr_intervals_s=rr,
        u16_format=bool(flags & FORMAT_U16),
        reserved_flags=flags & RESERVED_FLAGS,
    )


def encode_heart_rate_measurement(measurement: HeartRateMeasurement) -> bytes:
    """Encode one Heart Rate Measurement notification.

    RR-intervals are rounded to the nearest 1/1024 s; one outside 0..63.999 s raises
    FtmsValueOutOfRange. The packet is not split: a caller at the default MTU sends at most
    9 RR-intervals (u8 format, no energy) in one 20-byte notification.
    """
    m = measurement
    flags = m.reserved_flags
    out = bytearray(1)
    if m.u16_format:
        flags |= FORMAT_U16
        out += _U16.pack(m.heart_rate_bpm)
    else:
        out.append(m.heart_rate_bpm)
    if m.contact is not None:
        flags |= CONTACT_SUPPORTED | (CONTACT_STATUS if m.contact else 0)
    if m.energy_kj is not None:
        flags |= ENERGY_PRESENT
        out += _U16.pack(m.energy_kj)
    if m.rr_intervals_s is not None:
        flags |= RR_PRESENT
        for rr in m.rr_intervals_s:
            out += _U16.pack(to_raw(rr, RR_PER_SECOND, *U16, "rr_interval_s", " s"))
    out[0] = flags
    return bytes(out)


def decode_body_sensor_location(data: bytes) -> BodySensorLocation | int:
    """Decode Body Sensor Location: the enum, or the raw int for a reserved value (7-255)."""
    data = bytes(data)
    if len(data) != 1:
        raise HeartRateDecodeError(
            BODY_SENSOR_LOCATION, 0, f"exactly 1 byte (uint8), got {len(data)}", data
        )
    try:
        return BodySensorLocation(data[0])
    except ValueError:
        return data[0]


def encode_body_sensor_location(location: BodySensorLocation | int) -> bytes:
    """Encode Body Sensor Location (any u8, reserved values included)."""
    if isinstance(location, bool) or not 0 <= int(location) <= 0xFF:
        raise LocalFtmsError(f"body sensor location {location!r} is not a uint8 (0 to 255).")
    return bytes([int(location)])
