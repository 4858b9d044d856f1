"""What the session controller is given: its steps, its link, its settings.

Protocols (structural types) for the two things it drives, so the controller can be tested
against anything shaped like them and depends on no concrete link; and the session's settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from treadcoach.coach.kinds import SegmentKind
from treadcoach.safety.watchdog import WatchLimits

if TYPE_CHECKING:
    from treadcoach.coach.heart_rate import HrDecision, SpeedBounds

__all__ = ["HeartPort", "Link", "SessionConfig", "StepLike"]


class StepLike(Protocol):
    """What the controller needs of an expanded plan step (``coach.schedule.Step``)."""

    @property
    def index(self) -> int: ...
    @property
    def kind(self) -> SegmentKind: ...
    @property
    def target_kmh(self) -> float: ...
    @property
    def duration_s(self) -> float | None: ...
    @property
    def distance_m(self) -> float | None: ...
    @property
    def incline_pct(self) -> float | None: ...
    @property
    def label(self) -> str: ...
    @property
    def cue(self) -> str | None: ...


class Link(Protocol):
    """What the controller needs of ``treadcoach.link.TreadmillLink``."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def connected(self) -> bool: ...
    @property
    def belt_running(self) -> bool | None: ...
    @property
    def belt_speed_kmh(self) -> float | None: ...
    @property
    def last_telemetry_at(self) -> float | None: ...

    def events(self) -> AsyncIterator[Any]: ...
    async def start(self) -> bool: ...
    def stop(self, *, take_control: bool = False) -> Awaitable[None]: ...
    async def pause(self) -> None: ...
    async def set_speed(self, kmh: float, *, ceiling_kmh: float | None = None) -> float: ...
    async def set_incline(self, pct: float) -> float: ...
    async def request_control(self) -> None: ...


class HeartPort(Protocol):
    """What the controller needs of the heart rate (``treadcoach.hr_feed.HeartRateFeed``): the
    strap's state and the HR coach's decision. ``now_s`` is the event loop's ``time()``, the
    clock the strap link stamps its samples with."""

    @property
    def strap_connected(self) -> bool: ...

    # ``step`` is the controller's step (a ``coach.schedule.Step`` in a real session): Any, so
    # a feed that reads more of it than StepLike promises (its plan segment's zone) fits
    def begin_step(self, step: Any) -> None: ...
    def decide(self, now_s: float, commanded_kmh: float, bounds: SpeedBounds) -> HrDecision: ...


@dataclass(frozen=True, slots=True)
class SessionConfig:
    plan_name: str = ""
    watch: WatchLimits = field(default_factory=WatchLimits)
    # Commanded speed moves toward each new target at these rates (invariant 4): a person on the
    # belt feels a ramp, never a jump.
    ramp_up_kmh_per_s: float = 1.0
    ramp_down_kmh_per_s: float = 2.0
    governor_interval_s: float = 1.0
    # Direction changes (invariant 3): slow to turnaround speed, then count down >= 5 s.
    turnaround_countdown_s: int = 5
    turnaround_settle_max_s: float = 20.0
    # After the link drops, how long to wait for it to come back and stop the belt.
    reconnect_grace_s: float = 30.0
    # Watchdog period; speed rules are also checked on every telemetry record.
    tick_s: float = 0.5
    # After Stop, how long to wait for the machine's answer (the link retries within it), and
    # then for the belt to report standstill.
    stop_confirm_s: float = 15.0
    # Invariant 5: a remote may stop or pause; resume/speed only when the user enabled it.
    remote_control: bool = False
    # A headless session ends when the console takes control (0xFF); the TUI instead holds the
    # plan and offers to take control back (request_control_back).
    end_on_control_lost: bool = True
    # "device": use the treadmill's Total Distance; "integrated": integrate speed (default:
    # some machines report a lifetime odometer, see ftms-quirks.md).
    distance_source: str = "integrated"
    simulated: bool = False
