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

from dataclasses import replace
from typing import Final, Protocol

from treadcoach.ftms import MachineStatus, TreadmillData
from treadcoach.link.pace import strip_u16_pace

__all__ = [
    "KMH_PER_MPH",
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


def wire_target_speed(kmh: float, quirks: SpeedQuirks) -> float:
    """The number to put in Set Target Speed for a target of ``kmh`` (true km/h)."""
    if quirks.target_speed_in_mph:
        return round(kmh / KMH_PER_MPH, 2)
    return kmh


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
