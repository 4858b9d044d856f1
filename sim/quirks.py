"""How the newer quirk profiles behave: start delay, speed revert, missing ranges, console lock,
control for one command at a time.

``sim.profiles`` says which quirks a machine has; this module makes the server show them. It is
transport-free and clock-free like ``sim.server``: the server calls the hooks of its
:class:`QuirkState` (``heard`` on every read and control-point write, ``started`` after an
accepted Start, ``advance`` before the physics moves on), and transports ask :func:`gatt_table`
which characteristics this machine has. :func:`press_console` is the person at the console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.gatt import GATT_TABLE, ServiceSpec
from treadcoach.ftms import uuids

if TYPE_CHECKING:
    from sim.profiles import Profile
    from sim.server import FtmsServer
    from sim.treadmill import SimTreadmill

__all__ = ["QuirkState", "gatt_table", "press_console"]

_RANGES = frozenset({uuids.SPEED_RANGE_UUID, uuids.INCLINATION_RANGE_UUID})


class QuirkState:
    """The time-dependent part of a profile's quirks, for one server."""

    __slots__ = ("countdown_s", "profile", "quiet_s", "used_control")

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        #: seconds left of the console's countdown after Start (the belt waits meanwhile)
        self.countdown_s = 0.0
        #: seconds since the app last read or wrote anything
        self.quiet_s = 0.0
        #: the last control-point write was a command (not Request Control)
        self.used_control = False

    def heard(self, server: FtmsServer | None = None, opcode: int | None = None) -> None:
        """The app read a characteristic (no ``opcode``) or wrote the control point: a sign
        of life. On a ``control_per_command`` machine the command before this one used up the
        control it was granted."""
        self.quiet_s = 0.0
        if opcode is None or server is None:
            return
        if self.profile.control_per_command and self.used_control:
            server.control_granted = False
        self.used_control = opcode != 0x00  # Request Control

    def started(self, server: FtmsServer) -> None:
        """Start/Resume was accepted: a countdown machine holds the belt for its delay."""
        if self.profile.start_delay_s > 0:
            self.countdown_s = self.profile.start_delay_s
            server.belt.target_kmh = 0.0

    def advance(self, server: FtmsServer, dt: float) -> None:
        """Before the physics moves ``dt`` on: run down the countdown, revert a quiet target.

        Resolution is the step the owner advances by (the simulator syncs on every read, write
        and notification), as on a real console that polls its buttons.
        """
        from sim.server import RunState

        if server.state is not RunState.RUNNING:
            self.countdown_s = 0.0
            self.quiet_s = 0.0
            return
        if self.countdown_s > 0:
            self.countdown_s = max(0.0, self.countdown_s - dt)
            # a target set during the countdown is kept and run when it ends
            server.belt.target_kmh = (
                0.0 if self.countdown_s > 0 else server._belt_kmh(server.target_speed_kmh)
            )
            return
        p = self.profile
        if p.revert_after_s <= 0:
            return
        self.quiet_s += dt
        if self.quiet_s >= p.revert_after_s and abs(server.target_speed_kmh - p.revert_kmh) > 1e-9:
            # silently, as the pads do: no Machine Status tells the app
            server.target_speed_kmh = p.revert_kmh
            server.belt.target_kmh = server._belt_kmh(p.revert_kmh)


def gatt_table(profile: Profile | None) -> tuple[ServiceSpec, ...]:
    """The GATT table of a machine with ``profile`` (None: the full table)."""
    if profile is None or not profile.missing_ranges:
        return GATT_TABLE
    return tuple(
        ServiceSpec(s.uuid, tuple(c for c in s.characteristics if c.uuid not in _RANGES))
        for s in GATT_TABLE
    )


def press_console(treadmill: SimTreadmill) -> bool:
    """Someone presses a button on the console. Returns whether the console took it.

    A standard machine takes control back from the app (Machine Status 0xFF); a locked console
    ignores the press while an app is connected.
    """
    if treadmill.profile.console_lock and treadmill.connected:
        return False
    from sim.faults import FaultKind

    treadmill.inject(FaultKind.CONTROL_LOST)
    return True
