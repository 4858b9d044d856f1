"""The simulated FTMS treadmill.

    async with sim.SimTreadmill(name="Garage", profile="standard") as treadmill:
        ...  # advertises; reach it with bleak:
        # BleakScanner(backend=sim.bleak_backend.SimBleakScanner)
        # BleakClient(treadmill.address, backend=sim.bleak_backend.SimBleakClient)

Layout: ``physics`` (belt, runner) and ``server`` (FTMS server semantics) are transport-free and
clock-free; ``treadmill`` runs them on the event loop's clock and advertises through
``registry``; ``bleak_backend`` is the bleak seam; ``faults`` and ``profiles`` describe what can go
wrong and which odd machine to imitate. ``sim.bleak_backend`` is imported on its own (it pulls in
bleak), so ``import sim`` stays light; so is ``sim.bumble_peripheral`` (optional, needs bumble).
``standalone`` and ``bench`` back ``treadcoach sim`` and ``treadcoach bench sim45``.
"""

from __future__ import annotations

from sim.errors import (
    AddressInUse,
    AttError,
    FaultSpecError,
    SimConfigError,
    SimError,
    UnknownProfile,
)
from sim.faults import FaultKind, FaultSpec, parse_fault_spec
from sim.physics import Belt, Runner
from sim.profiles import PROFILES, Profile, get_profile
from sim.server import RunState
from sim.treadmill import ControlPointWrite, SimTreadmill

__all__ = [
    "PROFILES",
    "AddressInUse",
    "AttError",
    "Belt",
    "ControlPointWrite",
    "FaultKind",
    "FaultSpec",
    "FaultSpecError",
    "Profile",
    "RunState",
    "Runner",
    "SimConfigError",
    "SimError",
    "SimTreadmill",
    "UnknownProfile",
    "get_profile",
    "parse_fault_spec",
]
