"""What the setup screen offers and what it hands back: the seam the CLI wires real sources into.

The TUI does not scan for treadmills or read plan files itself: the caller passes the choices it
found (scan results, the saved default, the simulator; built-in and user plans, the suggested next
progression step) and a factory that turns the user's pick into a session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from treadcoach.coach.handle import SessionHandle

__all__ = ["Choice", "SessionFactory", "SessionFacts", "SessionRequest", "SetupChoices"]


@dataclass(frozen=True, slots=True)
class Choice:
    label: str  # what the user reads: "KingSmith WalkingPad (AA:BB:..)", "Backward-walk starter"
    value: str  # what comes back in SessionRequest: an address, "sim", a plan name or a file path
    detail: str = ""  # a second line: "RSSI -60", "22 min · 3 min backward"


@dataclass(frozen=True, slots=True)
class SetupChoices:
    devices: Sequence[Choice] = field(default_factory=tuple)
    plans: Sequence[Choice] = field(default_factory=tuple)
    default_device: str | None = None  # value of the saved default device, highlighted first
    suggested_plan: str | None = None  # value of the suggested next progression step
    suggested_reason: str = ""  # why: "last time 2:30 backward, so 3:00 today"


@dataclass(frozen=True, slots=True)
class SessionRequest:
    device: str  # a Choice.value from SetupChoices.devices
    plan: str  # a Choice.value from SetupChoices.plans, or a plan file path the user typed


# Builds (does not start) a session; raising TreadcoachError shows the message on the setup screen.
SessionFactory = Callable[[SessionRequest], SessionHandle]


@runtime_checkable
class SessionFacts(Protocol):
    """What a session can tell the summary beyond its ``Summary`` event (``treadcoach.session.
    Session`` has them; a bare ``SessionHandle`` need not)."""

    planned_duration_s: float
    planned_distance_m: float
    saved_as: int | None  # the journal's id once the session has run; None: not recorded
    recording: bool  # the session is journaled (False: --no-history)
