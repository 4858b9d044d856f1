"""Treadmill Data (0x2ACD): decode, encode, reassemble and split.

Layout (FTMS 1.0, 4.9): flags u16, then the fields whose flag is set, in flag-bit order:

==== =============================================== ===========================================
bit  field(s)                                        wire type, resolution
==== =============================================== ===========================================
0    Instantaneous Speed -- present when bit 0 is 0  u16, 0.01 km/h (the *More Data* bit)
1    Average Speed                                   u16, 0.01 km/h
2    Total Distance                                  u24, 1 m
3    Inclination, Ramp Angle Setting                 s16 0.1 %, s16 0.1 degree
4    Positive, Negative Elevation Gain               u16 0.1 m each
5    Instantaneous Pace                              u8, 0.1 km/min
6    Average Pace                                    u8, 0.1 km/min
7    Total Energy, Energy Per Hour, Energy Per Min.  u16 kcal, u16 kcal, u8 kcal
8    Heart Rate                                      u8, bpm
9    Metabolic Equivalent                            u8, 0.1
10   Elapsed Time                                    u16, s
11   Remaining Time                                  u16, s
12   Force on Belt, Power Output                     s16 N, s16 W
13+  reserved
==== =============================================== ===========================================

Groups of several fields share one flag. A member the machine cannot measure is sent as the
"data not available" value and decodes to ``None``: energy 0xFFFF/0xFFFF/0xFF and inclination/ramp
angle 0x7FFF as the FTMS specification defines them; for elevation gain (0xFFFF) and force/power
(0x7FFF) we follow the same all-ones convention pyftms uses, since we could not confirm a spec value.
Because of that, the encoder refuses a group member equal to its not-available value.

Reserved flag bits (13-15) do not move any known field (fields follow flag-bit order, so theirs
would come after bit 12's), so we decode every known field, keep the reserved bits in
``reserved_flags`` and the bytes after the known fields in ``extra`` (a machine in the wild sends a
u24 step count under bit 13). Refusing such packets would lose the speed of a working treadmill.

Everything below reads one table, ``_GROUPS``: the encoder, the splitter, and two decoders (a
field-by-field walk, and per-flags decoders compiled from the table for the flags values a machine
actually sends; see the decode section and ``treadcoach bench decode``).
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, NamedTuple, NoReturn

from treadcoach.errors import LocalFtmsError

from ._wire import S16, TREADMILL_DATA, U8, U16, U24, need, to_raw

__all__ = [
    "TreadmillData",
    "TreadmillDataAssembler",
    "decode_treadmill_data",
    "encode_treadmill_data",
    "split_treadmill_data",
]

MORE_DATA = 0x0001
RESERVED_FLAGS = 0xE000
DEFAULT_MAX_LEN = 20  # ATT_MTU 23 minus the 3-byte notification header


@dataclass(frozen=True, slots=True)
class TreadmillData:
    """One Treadmill Data record. ``None`` means the field was not sent (or not available).

    ``more_data`` is the More Data flag: True on a fragment that will be followed by others; such a
    fragment never carries the speed. ``extra`` holds bytes after the flagged fields (vendor
    extensions) and ``reserved_flags`` the reserved flag bits 13-15 they came with.
    """

    speed_kmh: float | None = None
    average_speed_kmh: float | None = None
    distance_m: int | None = None
    inclination_pct: float | None = None
    ramp_angle_deg: float | None = None
    positive_elevation_gain_m: float | None = None
    negative_elevation_gain_m: float | None = None
    instantaneous_pace_km_per_min: float | None = None
    average_pace_km_per_min: float | None = None
    energy_kcal: int | None = None
    energy_per_hour_kcal: int | None = None
    energy_per_minute_kcal: int | None = None
    heart_rate_bpm: int | None = None
    met: float | None = None
    elapsed_s: int | None = None
    remaining_s: int | None = None
    force_on_belt_n: int | None = None
    power_w: int | None = None
    more_data: bool = False
    extra: bytes = b""
    reserved_flags: int = 0


class _Field(NamedTuple):
    name: str  # attribute of TreadmillData
    label: str  # name in the FTMS specification, for error messages
    code: str  # struct code; "u24" is read as "HB"
    size: int  # bytes on the wire
    per_unit: int  # raw steps per unit (100 -> 0.01 resolution)
    not_available: int | None  # raw "data not available" value (group members only)
    lo: int
    hi: int
    unit: str


_WIRE_TYPES = {"H": (2, *U16), "h": (2, *S16), "B": (1, *U8), "u24": (3, *U24)}


def _f(name: str, label: str, code: str, per_unit: int, na: int | None, unit: str) -> _Field:
    size, lo, hi = _WIRE_TYPES[code]
    if na is not None:  # the not-available value cannot also be a measurement
        hi = min(hi, na - 1)
    return _Field(name, label, code, size, per_unit, na, lo, hi, unit)


# (flag bit, fields in wire order). Bit 0 is inverted: its field is present when the bit is 0.
_GROUPS: tuple[tuple[int, tuple[_Field, ...]], ...] = (
    (0, (_f("speed_kmh", "Instantaneous Speed", "H", 100, None, " km/h"),)),
    (1, (_f("average_speed_kmh", "Average Speed", "H", 100, None, " km/h"),)),
    (2, (_f("distance_m", "Total Distance", "u24", 1, None, " m"),)),
    (
        3,
        (
            _f("inclination_pct", "Inclination", "h", 10, 0x7FFF, " %"),
            _f("ramp_angle_deg", "Ramp Angle Setting", "h", 10, 0x7FFF, " degrees"),
        ),
    ),
    (
        4,
        (
            _f("positive_elevation_gain_m", "Positive Elevation Gain", "H", 10, 0xFFFF, " m"),
            _f("negative_elevation_gain_m", "Negative Elevation Gain", "H", 10, 0xFFFF, " m"),
        ),
    ),
    (5, (_f("instantaneous_pace_km_per_min", "Instantaneous Pace", "B", 10, None, " km/min"),)),
    (6, (_f("average_pace_km_per_min", "Average Pace", "B", 10, None, " km/min"),)),
    (
        7,
        (
            _f("energy_kcal", "Total Energy", "H", 1, 0xFFFF, " kcal"),
            _f("energy_per_hour_kcal", "Energy Per Hour", "H", 1, 0xFFFF, " kcal"),
            _f("energy_per_minute_kcal", "Energy Per Minute", "B", 1, 0xFF, " kcal"),
        ),
    ),
    (8, (_f("heart_rate_bpm", "Heart Rate", "B", 1, None, " bpm"),)),
    (9, (_f("met", "Metabolic Equivalent", "B", 10, None, ""),)),
    (10, (_f("elapsed_s", "Elapsed Time", "H", 1, None, " s"),)),
    (11, (_f("remaining_s", "Remaining Time", "H", 1, None, " s"),)),
    (
        12,
        (
            _f("force_on_belt_n", "Force on Belt", "h", 1, 0x7FFF, " N"),
            _f("power_w", "Power Output", "h", 1, 0x7FFF, " W"),
        ),
    ),
)

_VALUE_NAMES: tuple[str, ...] = tuple(f.name for _, group in _GROUPS for f in group)
_SLOT = {name: i for i, name in enumerate(_VALUE_NAMES)}
_ALL_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TreadmillData))
if (*_VALUE_NAMES, "more_data", "extra", "reserved_flags") != _ALL_NAMES:  # pragma: no cover
    raise RuntimeError("TreadmillData fields and the Treadmill Data table disagree")


def _present(flags: int) -> list[tuple[int, tuple[_Field, ...]]]:
    """The groups a flags value announces, in wire order."""
    flags ^= MORE_DATA  # bit 0 is inverted: make "1" mean "present" like every other bit
    return [(bit, group) for bit, group in _GROUPS if flags >> bit & 1]


# --- decode -------------------------------------------------------------------------------------
#
# Two decoders read the same table. ``_decode_walk`` steps through the fields one by one and
# names the first one that does not fit; it serves the first few packets of each flags value,
# and every truncated packet. A flags value seen often gets a decoder compiled from the table
# (as ``dataclasses`` and ``namedtuple`` compile their methods): one precompiled ``struct``
# unpacks all fields, then straight-line code scales them and fills the record's slots, skipping
# the frozen ``__init__`` (one ``object.__setattr__`` per field, half the cost of a decode).
# Values read from the table need no validation. tests/ftms check both decoders against each
# other and against an independent reference.

_Decoder = Callable[[bytes], TreadmillData]
_DECODERS: dict[int, _Decoder] = {}
_SIGHTINGS: dict[int, int] = {}
_MAX_DECODERS = 256  # real machines use a handful of flags values; garbage must not fill memory
_MAX_SIGHTINGS = 4096
# Compiling costs about as much as a hundred walks: do it for the flags a machine keeps sending
# (it repeats them at 1-10 Hz), not for every stray value a garbled packet carries.
_COMPILE_AFTER = 8


def _walk_failure(data: bytes, flags: int) -> NoReturn:
    _decode_walk(data, flags)
    raise AssertionError("unreachable: a packet too short for its flags")  # pragma: no cover


def _decode_walk(data: bytes, flags: int) -> TreadmillData:
    values: list[Any] = [None] * len(_VALUE_NAMES)
    offset = 2
    for bit, group in _present(flags):
        for field in group:
            size = field.size
            if len(data) < offset + size:
                condition = "clear" if bit == 0 else "set"
                need(
                    data,
                    offset,
                    size,
                    TREADMILL_DATA,
                    f"{field.label} (flags bit {bit} {condition})",
                )
            raw = int.from_bytes(data[offset : offset + size], "little", signed=field.code == "h")
            offset += size
            if raw != field.not_available:
                values[_SLOT[field.name]] = raw if field.per_unit == 1 else raw / field.per_unit
    values += (flags & MORE_DATA == MORE_DATA, bytes(data[offset:]), flags & RESERVED_FLAGS)
    return TreadmillData(*values)


def _compile(flags: int) -> _Decoder:
    """Source for one flags value, e.g. 0x0404: ``v0, v1, v2, v3 = _unpack(data, 2)``, then
    ``_set_speed_kmh(r, v0 / 100)``, ``_set_distance_m(r, (v1 | v2 << 16))``, ..."""
    codes: list[str] = []
    exprs = dict.fromkeys(_VALUE_NAMES, "None")
    for _, group in _present(flags):
        for field in group:
            item = len(codes)
            if field.code == "u24":
                codes += ["H", "B"]
                raw = f"(v{item} | v{item + 1} << 16)"
            else:
                codes.append(field.code)
                raw = f"v{item}"
            value = raw if field.per_unit == 1 else f"{raw} / {field.per_unit}"
            if field.not_available is not None:
                value = f"None if {raw} == {field.not_available} else {value}"
            exprs[field.name] = value
    exprs["more_data"] = repr(flags & MORE_DATA == MORE_DATA)
    exprs["reserved_flags"] = repr(flags & RESERVED_FLAGS)
    body = struct.Struct("<" + "".join(codes))
    size = 2 + body.size
    exprs["extra"] = f"bytes(data[{size}:])"
    lines = [
        "def decode(data):",
        f"    if len(data) < {size}:",
        f"        _walk_failure(data, {flags})",
    ]
    if codes:
        lines.append(f"    {''.join(f'v{i}, ' for i in range(len(codes)))}= _unpack(data, 2)")
    lines.append("    r = _new(_T)")
    lines += [f"    _set_{name}(r, {exprs[name]})" for name in _ALL_NAMES]
    lines.append("    return r")
    namespace: dict[str, Any] = {
        "_unpack": body.unpack_from,
        "_walk_failure": _walk_failure,
        "_new": object.__new__,
        "_T": TreadmillData,
        **{f"_set_{name}": getattr(TreadmillData, name).__set__ for name in _ALL_NAMES},
    }
    exec(compile("\n".join(lines), f"<treadmill data decoder 0x{flags:04X}>", "exec"), namespace)
    decoder: _Decoder = namespace["decode"]
    return decoder


def decode_treadmill_data(data: bytes) -> TreadmillData:
    """Decode one Treadmill Data notification (a whole record or a More Data fragment).

    Raises FtmsDecodeError (naming the offset and the field) when the packet ends early.
    Bytes after the flagged fields are kept in ``extra``.
    """
    if len(data) < 2:
        need(data, 0, 2, TREADMILL_DATA, "Flags (uint16)")
    flags = data[0] | data[1] << 8
    decoder = _DECODERS.get(flags)
    if decoder is not None:
        return decoder(data)
    seen = _SIGHTINGS.get(flags, 0) + 1
    if seen >= _COMPILE_AFTER and len(_DECODERS) < _MAX_DECODERS:
        _SIGHTINGS.pop(flags, None)
        decoder = _DECODERS[flags] = _compile(flags)
        return decoder(data)
    if len(_SIGHTINGS) >= _MAX_SIGHTINGS:
        _SIGHTINGS.clear()
    _SIGHTINGS[flags] = seen
    return _decode_walk(data, flags)


# --- encode -------------------------------------------------------------------------------------


def _put(out: bytearray, field: _Field, value: float | None) -> None:
    if value is None:
        if field.not_available is None:  # pragma: no cover - single-field groups are never None
            raise AssertionError(field.name)
        raw = field.not_available
    else:
        raw = to_raw(value, field.per_unit, field.lo, field.hi, field.name, field.unit)
    size = field.size
    out += raw.to_bytes(size, "little", signed=field.code == "h")


def encode_treadmill_data(data: TreadmillData) -> bytes:
    """Encode one Treadmill Data notification.

    A group is sent when any of its members is not None; its other members go out as "data not
    available". ``more_data=False`` needs ``speed_kmh`` (bit 0 clear carries it) and
    ``more_data=True`` forbids it. Raises LocalFtmsError (FtmsValueOutOfRange for values) on a
    record the wire cannot carry.
    """
    if data.more_data == (data.speed_kmh is not None):
        raise LocalFtmsError(
            "A Treadmill Data record carries the instantaneous speed exactly when its More Data "
            f"flag is clear; got more_data={data.more_data} with speed_kmh={data.speed_kmh!r}."
        )
    if data.reserved_flags & ~RESERVED_FLAGS:
        raise LocalFtmsError(
            f"reserved_flags = 0x{data.reserved_flags:04X} may only use the reserved Treadmill "
            "Data flag bits 13-15 (0xE000)."
        )
    flags = data.reserved_flags | (MORE_DATA if data.more_data else 0)
    out = bytearray(2)
    for bit, group in _GROUPS:
        values = [getattr(data, field.name) for field in group]
        if bit == 0:
            if data.more_data:
                continue
        elif all(value is None for value in values):
            continue
        else:
            flags |= 1 << bit
        for field, value in zip(group, values, strict=True):
            _put(out, field, value)
    out[0:2] = flags.to_bytes(2, "little")
    out += data.extra
    return bytes(out)


# --- More Data: reassembly (client) and splitting (server) --------------------------------------


_values_of = operator.attrgetter(*_VALUE_NAMES)


def _merge(parts: list[TreadmillData]) -> TreadmillData:
    """One record from fragments: a later fragment's value wins, extras are concatenated."""
    merged: list[Any] = list(_values_of(parts[0]))
    reserved = parts[0].reserved_flags
    for part in parts[1:]:
        for slot, value in enumerate(_values_of(part)):
            if value is not None:
                merged[slot] = value
        reserved |= part.reserved_flags
    merged += (False, b"".join(part.extra for part in parts), reserved)
    return TreadmillData(*merged)


class TreadmillDataAssembler:
    """Client side: merges More Data fragments into whole records.

    ``feed()`` a notification; it returns the record once a packet with More Data clear (the one
    carrying the speed) completes it, else None. A packet that is complete on its own comes back
    at once. After ``max_fragments`` fragments without a completing packet the partial record is
    dropped (a machine stuck on More Data yields no records, which the stale-telemetry watchdog
    sees), so memory stays bounded. A malformed packet raises FtmsDecodeError and leaves the
    partial record as it was. Call ``reset()`` on disconnect.
    """

    __slots__ = ("_max_fragments", "_pending")

    def __init__(self, max_fragments: int = 16) -> None:
        if max_fragments < 1:
            raise LocalFtmsError(f"max_fragments = {max_fragments} must be at least 1.")
        self._max_fragments = max_fragments
        self._pending: list[TreadmillData] = []

    @property
    def pending_fragments(self) -> int:
        """Fragments held while waiting for the packet that completes the record."""
        return len(self._pending)

    def feed(self, data: bytes) -> TreadmillData | None:
        record = decode_treadmill_data(data)
        if record.more_data:
            if len(self._pending) >= self._max_fragments:
                self._pending.clear()
            self._pending.append(record)
            return None
        if not self._pending:
            return record
        self._pending.append(record)
        merged = _merge(self._pending)
        self._pending.clear()
        return merged

    def reset(self) -> None:
        self._pending.clear()


def split_treadmill_data(data: TreadmillData, max_len: int = DEFAULT_MAX_LEN) -> list[bytes]:
    """Server side: one record as notifications of at most ``max_len`` bytes each.

    Field groups are packed greedily in flag order; More Data is set on every packet but the
    last, which carries the speed (plus ``extra`` and ``reserved_flags``). A record that fits goes
    out as one packet. Raises LocalFtmsError if ``max_len`` cannot hold a group.
    """
    if data.more_data or data.speed_kmh is None:
        raise LocalFtmsError(
            "split_treadmill_data() needs a whole record: speed_kmh set and more_data False."
        )
    whole = encode_treadmill_data(data)
    if len(whole) <= max_len:
        return [whole]
    if 2 + 2 + len(data.extra) > max_len:
        raise LocalFtmsError(
            f"max_len = {max_len} cannot hold the speed and {len(data.extra)} extra bytes in the "
            "last Treadmill Data packet."
        )
    chunks: list[dict[str, object]] = []
    current: dict[str, object] = {}
    used = 2
    for bit, group in _GROUPS[1:]:
        values = {field.name: getattr(data, field.name) for field in group}
        if all(value is None for value in values.values()):
            continue
        size = sum(field.size for field in group)
        if 2 + size > max_len:
            raise LocalFtmsError(
                f"max_len = {max_len} cannot hold the {size}-byte field group of flag bit {bit}."
            )
        if used + size > max_len:
            chunks.append(current)
            current, used = {}, 2
        current.update(values)
        used += size
    last_fits = used + 2 + len(data.extra) <= max_len
    if not last_fits:
        chunks.append(current)
        current = {}
    packets = [encode_treadmill_data(TreadmillData(more_data=True, **chunk)) for chunk in chunks]  # type: ignore[arg-type]
    packets.append(
        encode_treadmill_data(
            TreadmillData(
                speed_kmh=data.speed_kmh,
                extra=data.extra,
                reserved_flags=data.reserved_flags,
                **current,  # type: ignore[arg-type]
            )
        )
    )
    return packets
