"""The ``pace_u16`` quirk: machines that send Instantaneous/Average Pace as u16, not u8.

FTMS fields follow flag-bit order, so a two-byte pace shifts every later field (energy, heart
rate, elapsed time) by one byte and the record decodes to nonsense or fails. We never use pace
(speed is there), so the link cuts the pace fields out before the codec sees the packet.
"""

from __future__ import annotations

__all__ = ["strip_u16_pace"]

_INSTANT_PACE = 1 << 5
_AVERAGE_PACE = 1 << 6


def _pace_offset(flags: int) -> int:
    """Byte offset of the first pace field: flags, then the fields of bits 0-4 that are present."""
    offset = 2
    if not flags & 0x0001:  # inverted: speed present when More Data is clear
        offset += 2
    if flags & 0x0002:  # average speed
        offset += 2
    if flags & 0x0004:  # total distance, u24
        offset += 3
    if flags & 0x0008:  # inclination + ramp angle
        offset += 4
    if flags & 0x0010:  # positive + negative elevation gain
        offset += 4
    return offset


def strip_u16_pace(data: bytes) -> bytes:
    """``data`` without its u16 pace fields (flags updated); too short a packet is left as is."""
    if len(data) < 2:
        return data
    flags = data[0] | data[1] << 8
    cut = 2 * bool(flags & _INSTANT_PACE) + 2 * bool(flags & _AVERAGE_PACE)
    if not cut:
        return data
    offset = _pace_offset(flags)
    if len(data) < offset + cut:
        return data
    flags &= ~(_INSTANT_PACE | _AVERAGE_PACE)
    return flags.to_bytes(2, "little") + data[2:offset] + data[offset + cut :]
