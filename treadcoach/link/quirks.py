"""Device quirks as pure functions: what goes on the wire, and what came off it, in true units.

The link calls these at its two edges and nowhere else, so the rest of the code (and every
consumer of ``events()``) sees true km/h and well-formed records whatever the machine does:

* ``target_speed_in_mph``: the machine reads Set Target Speed's number as mph (and echoes it so
  in Machine Status). ``wire_target_speed`` converts a km/h target for the wire;
  ``normalise_machine_status`` undoes the echo.
* ``reported_speed_in_mph``: Treadmill Data speeds are mph; ``normalise_treadmill_data``
  converts them to km/h.
* ``pace_u16``: pace fields are u16, not u8; ``normalise_treadmill_packet`` cuts them out before
  the codec sees the packet (``pace.strip_u16_pace``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final, Protocol

from treadcoach.ftms import MachineStatus, TreadmillData
from treadcoach.link.pace import strip_u16_pace

__all__ = [
    "KMH_PER_MPH",
    "commanded_kmh",
    "kmh_from_mph",
    "normalise_machine_status",
    "normalise_treadmill_data",
    "normalise_treadmill_packet",
    "wire_target_speed",
]

KMH_PER_MPH: Final = 1.609344


class SpeedQuirks(Protocol):
    """The profile fields these functions read (``LinkProfile`` has them all)."""

    @property
    def target_speed_in_mph(self) -> bool: ...
    @property
    def reported_speed_in_mph(self) -> bool: ...
    @property
    def pace_u16(self) -> bool: ...


def kmh_from_mph(mph: float) -> float:
    """A speed the machine gave in mph, in km/h (rounded to 0.01, the FTMS resolution)."""
    return round(mph * KMH_PER_MPH, 2)


def wire_target_speed(
    kmh: float, quirks: SpeedQuirks, *, lo: float = 0.0, hi: float | None = None
) -> float:
    """The number to put in Set Target Speed for a target of ``kmh`` (true km/h).

    On an mph machine the mph number is rounded DOWN to the wire's 0.01, so its km/h
    equivalent never exceeds ``kmh`` -- and ``kmh`` is already within every cap (DESIGN
    invariant 1: 4.0 km/h rounded to nearest is 2.49 mph = 4.007 km/h, above a 4.0 cap).

    Except at the bottom of the range ``[lo, hi]`` (km/h; ``hi`` the machine's maximum or the
    cap, whichever is lower): the machine checks the speed it reads the number as against its
    minimum, and 0.8 km/h floored to 0.49 mph is 0.789 km/h -- refused 0x03 (invariant 5:
    clamped, never rejected). There the mph number is rounded UP to the first hundredth at
    or above ``lo``, as long as that stays within ``hi``; the cap always wins.
    """
    if not quirks.target_speed_in_mph:
        return kmh
    # the 1e-6 keeps an exact value (3 mph = 4.828032 km/h) from flooring one step low
    mph = math.floor(kmh / KMH_PER_MPH * 100 + 1e-6) / 100
    while mph > 0 and mph * KMH_PER_MPH > kmh + 1e-9:
        mph = round(mph - 0.01, 2)
    if mph * KMH_PER_MPH < lo - 1e-9:
        up = math.ceil(lo / KMH_PER_MPH * 100 - 1e-6) / 100
        while up * KMH_PER_MPH < lo - 1e-9:
            up = round(up + 0.01, 2)
        top = kmh if hi is None else hi
        if up * KMH_PER_MPH <= top + 1e-9:
            mph = up
    return round(max(mph, 0.0), 2)


def commanded_kmh(wire: float, quirks: SpeedQuirks) -> float:
    """What a Set Target Speed of ``wire`` asks of the belt, in km/h (0.01, never rounded up)."""
    if not quirks.target_speed_in_mph:
        return wire
    return math.floor(wire * KMH_PER_MPH * 100 + 1e-9) / 100


def normalise_treadmill_packet(raw: bytes, quirks: SpeedQuirks) -> bytes:
    """One Treadmill Data notification as the codec expects it."""
    return strip_u16_pace(raw) if quirks.pace_u16 else raw


def normalise_treadmill_data(record: TreadmillData, quirks: SpeedQuirks) -> TreadmillData:
    """A decoded Treadmill Data record in true km/h."""
    if not quirks.reported_speed_in_mph:
        return record
    return replace(
        record,
        speed_kmh=None if record.speed_kmh is None else kmh_from_mph(record.speed_kmh),
        average_speed_kmh=None
        if record.average_speed_kmh is None
        else kmh_from_mph(record.average_speed_kmh),
    )


def normalise_machine_status(status: MachineStatus, quirks: SpeedQuirks) -> MachineStatus:
    """A Machine Status notification in true km/h (an mph machine echoes the number we sent)."""
    if quirks.target_speed_in_mph and status.target_speed_kmh is not None:
        return replace(status, target_speed_kmh=kmh_from_mph(status.target_speed_kmh))
    return status
