"""The faults a simulated treadmill can be made to show, and the ``KIND@SECONDS`` syntax for them.

Three kinds of fault, by how long they last:

* events, over as soon as they happen: ``disconnect`` (the link drops; the treadmill keeps
  advertising and its belt keeps running, as a real one does; ``down_s`` keeps it out of reach
  that long), ``control_lost`` (someone took over at the console: status 0xFF, then 0x05 until
  Request Control), ``safety_key`` (the belt stops at once, status 0x03), and someone at the
  console: ``console_speed`` (+/- pressed: the belt heads for ``kmh``, default 8 km/h, status
  0x05 target speed changed), ``console_start`` (status 0x04) and ``console_stop`` (status 0x02);
* a count: ``nack`` answers the next ``count`` control-point writes (default 1, any opcode,
  Stop included) with 0x04 *Operation Failed*. 0x04, not 0x05, because 0x05 already means "ask
  for control again" (``control_lost``); a transient failure is what a retrying client must ride
  out. ``not_permitted`` answers them 0x05 while keeping control (a pad that is not ready yet);
  ``drop_indication`` carries them out but loses their indication; ``late_indication`` carries
  them out and indicates ``delay_s`` later (default 3 s, past a 2 s command timeout);
* modes, on until cleared (``SimTreadmill.clear_fault``), for ``for_s`` seconds, or until the
  link drops: ``stale`` (no more notifications while connected; control-point writes are still
  answered), ``garbage`` (malformed Treadmill Data packets interleaved with the good ones),
  ``ignore_speed`` (Set Target Speed is acknowledged but the belt keeps its speed), ``slow_belt``
  (the motor ramps at 0.2 km/h per second: a belt that is slow to slow down; not cured by a
  reconnect either).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from sim.errors import FaultSpecError

__all__ = [
    "CONSOLE_SPEED_KMH",
    "COUNTED",
    "LATE_INDICATION_S",
    "MODES",
    "SLOW_BELT_KMH_PER_S",
    "FaultKind",
    "FaultSpec",
    "garbage_packet",
    "parse_fault_spec",
]


class FaultKind(enum.StrEnum):
    DISCONNECT = "disconnect"
    NACK = "nack"
    CONTROL_LOST = "control_lost"
    SAFETY_KEY = "safety_key"
    STALE = "stale"
    GARBAGE = "garbage"
    IGNORE_SPEED = "ignore_speed"
    CONSOLE_SPEED = "console_speed"
    CONSOLE_START = "console_start"
    CONSOLE_STOP = "console_stop"
    NOT_PERMITTED = "not_permitted"
    DROP_INDICATION = "drop_indication"
    LATE_INDICATION = "late_indication"
    SLOW_BELT = "slow_belt"

    @classmethod
    def parse(cls, text: str, spec: str | None = None) -> FaultKind:
        """The kind named ``text`` (``control-lost`` is accepted for ``control_lost``).

        ``spec`` is the whole text it came from, for the error message.
        """
        try:
            return cls(text.strip().lower().replace("-", "_"))
        except ValueError:
            known = ", ".join(k.value for k in cls)
            raise FaultSpecError(
                text if spec is None else spec, f"unknown fault kind; choose one of {known}"
            ) from None


#: the kinds that stay on until cleared
MODES = frozenset({FaultKind.STALE, FaultKind.GARBAGE, FaultKind.IGNORE_SPEED, FaultKind.SLOW_BELT})
#: the kinds that act on the next ``count`` control-point writes
COUNTED = frozenset(
    {
        FaultKind.NACK,
        FaultKind.NOT_PERMITTED,
        FaultKind.DROP_INDICATION,
        FaultKind.LATE_INDICATION,
    }
)
#: what the console sets with ``console_speed`` unless told otherwise (the issue's 8 km/h)
CONSOLE_SPEED_KMH = 8.0
#: how late ``late_indication`` answers unless told otherwise: past the link's 2 s timeout
LATE_INDICATION_S = 3.0
#: ``slow_belt``: the motor's ramp rate, km/h per second, up and down
SLOW_BELT_KMH_PER_S = 0.2


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """``kind`` happens ``at_s`` seconds after the simulated treadmill started (loop clock)."""

    kind: FaultKind
    at_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.at_s) and self.at_s >= 0):
            raise FaultSpecError(f"{self.kind}@{self.at_s}", "the time must be 0 or more seconds")

    def __str__(self) -> str:
        return f"{self.kind.value}@{self.at_s:g}"


def parse_fault_spec(text: str) -> FaultSpec:
    """``"stale@30"`` -> ``FaultSpec(FaultKind.STALE, 30.0)``; anything else -> FaultSpecError."""
    kind_text, sep, seconds_text = text.strip().partition("@")
    if not sep:
        raise FaultSpecError(text, "expected KIND@SECONDS, for example stale@30")
    kind = FaultKind.parse(kind_text, text) if kind_text.strip() else None
    if kind is None:
        raise FaultSpecError(text, "the fault kind before '@' is missing")
    try:
        at_s = float(seconds_text)
    except ValueError:
        raise FaultSpecError(
            text, f"{seconds_text!r} after '@' is not a number of seconds"
        ) from None
    if not (math.isfinite(at_s) and at_s >= 0):
        raise FaultSpecError(text, "the time after '@' must be 0 or more seconds")
    return FaultSpec(kind, at_s)


# Malformed Treadmill Data as seen in the wild: a lone byte, a record whose flags promise more
# than it carries, the current record with vendor bytes appended past the ATT payload, the current
# record with reserved flag bits set, and an empty notification. Those built from the current
# record carry true values, so a client that tolerates them is not misled about the belt.
_VENDOR_TAIL = bytes(range(0x30, 0x30 + 18))


def garbage_packet(sequence: int, good: bytes) -> bytes:
    """The ``sequence``-th malformed packet (they cycle), built around ``good``, a valid record."""
    match sequence % 5:
        case 0:
            return b"\x00"
        case 1:
            # flags promise every field; only the (true) speed follows
            return bytes.fromhex("fe 1f") + good[2:4]
        case 2:
            return good + _VENDOR_TAIL
        case 3:
            flags = int.from_bytes(good[:2], "little") | 0xE000
            return flags.to_bytes(2, "little") + good[2:]
        case _:
            return b""
