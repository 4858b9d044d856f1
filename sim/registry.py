"""The air: which simulated treadmills are advertising in this process, by address.

A simulated treadmill registers itself while inside its ``async with`` block; the bleak scanner
backend reads this to "hear" advertisements and the client backend to connect. Addresses are
compared case-insensitively, as Bluetooth addresses are.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from sim.errors import AddressInUse

if TYPE_CHECKING:
    from sim.strap import SimStrap
    from sim.treadmill import SimTreadmill

__all__ = ["advertising", "lookup", "new_address", "register", "unregister"]

_ADDRESS_PREFIX = "F0:0D"  # a locally administered-looking range nobody ships
# a heart-rate strap (sim.strap) advertises beside the treadmills, with the same GATT face
_advertising: dict[str, SimTreadmill | SimStrap] = {}
_serials = itertools.count(1)


def new_address() -> str:
    """A fresh MAC-format address, ``F0:0D:00:00:00:01`` and up, not advertised right now."""
    while True:
        n = next(_serials)
        address = _ADDRESS_PREFIX + "".join(f":{b:02X}" for b in n.to_bytes(4, "big"))
        if address not in _advertising:
            return address


def register(treadmill: SimTreadmill | SimStrap) -> None:
    key = treadmill.address.upper()
    if key in _advertising:
        raise AddressInUse(treadmill.address)
    _advertising[key] = treadmill


def unregister(treadmill: SimTreadmill | SimStrap) -> None:
    key = treadmill.address.upper()
    if _advertising.get(key) is treadmill:
        del _advertising[key]


def lookup(address: str) -> SimTreadmill | SimStrap | None:
    return _advertising.get(address.upper())


def advertising() -> list[SimTreadmill | SimStrap]:
    """Every treadmill advertising now, oldest first."""
    return list(_advertising.values())
