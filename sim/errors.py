"""Every exception the simulator raises on purpose, under treadcoach's one root.

Like ``treadcoach/errors.py``: typed fields, and ``str(exc)`` is a complete sentence naming the
problem, so the CLI can print it as is.
"""

from __future__ import annotations

from treadcoach.errors import TreadcoachError

__all__ = [
    "AddressInUse",
    "AttError",
    "FaultSpecError",
    "SimConfigError",
    "SimError",
    "UnknownProfile",
]


class SimError(TreadcoachError):
    """Root of the simulator's errors."""


class FaultSpecError(SimError, ValueError):
    """A fault given as ``KIND@SECONDS`` (``--fault``, ``--sim-fault``) cannot be understood."""

    def __init__(self, spec: str, problem: str) -> None:
        self.spec = spec
        self.problem = problem
        super().__init__(f"fault {spec!r} is not valid: {problem}")


class UnknownProfile(SimError, ValueError):
    """No quirk profile has this name."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"there is no simulator profile {name!r}; choose one of {', '.join(known)}"
        )


class SimConfigError(SimError, ValueError):
    """A simulator setting is out of range (a rate, an acceleration, a speed range)."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"simulator setting {setting}: {problem}")


class AddressInUse(SimError):
    """Two simulated treadmills cannot advertise the same address at once."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(f"a simulated treadmill already advertises address {address}")


class AttError(SimError):
    """The treadmill's GATT server refuses an attribute operation with an ATT error code.

    Transports turn it into what their stack raises for one (bleak: ``BleakGATTProtocolError``).
    """

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(
            f"the treadmill refused the operation with ATT error 0x{code:02X}: {reason}"
        )
