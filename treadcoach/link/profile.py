"""The quirk fields the link reads from a devices.toml entry, and the profile used when none is given.

The link depends on this read-only shape, not on the config package: ``treadcoach.config``'s
``DeviceProfile`` satisfies it as is, and tests or tools can hand in anything with these fields.
``None`` in a limit means "trust what the machine reports".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from treadcoach.link.ranges import RangeLimits

__all__ = ["GENERIC_PROFILE", "GenericProfile", "LinkProfile", "RequestControlMode"]

RequestControlMode = Literal["once", "before_every_command", "never"]


class LinkProfile(RangeLimits, Protocol):
    """The range limits (``ranges.RangeLimits``, read by the pure range code) and the quirks."""

    @property
    def name(self) -> str: ...
    @property
    def request_control(self) -> RequestControlMode: ...
    @property
    def start_before_speed(self) -> bool: ...
    @property
    def running_wait_s(self) -> float: ...
    @property
    def target_speed_in_mph(self) -> bool: ...
    @property
    def reported_speed_in_mph(self) -> bool: ...
    @property
    def keepalive_s(self) -> float | None: ...
    @property
    def pace_u16(self) -> bool: ...
    @property
    def speed_control(self) -> bool: ...
    @property
    def start_toggles(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class GenericProfile:
    """A standard FTMS treadmill: ranges from the machine, Request Control once."""

    name: str = "Generic FTMS treadmill"
    min_kmh: float | None = None
    max_kmh: float | None = None
    speed_increment_kmh: float | None = None
    incline_min_pct: float | None = None
    incline_max_pct: float | None = None
    incline_step_pct: float | None = None
    request_control: RequestControlMode = "once"
    start_before_speed: bool = False
    running_wait_s: float = 3.0
    target_speed_in_mph: bool = False
    reported_speed_in_mph: bool = False
    keepalive_s: float | None = None
    pace_u16: bool = False
    speed_control: bool = True
    start_toggles: bool = False


GENERIC_PROFILE = GenericProfile()
