"""Watchdogs over the belt: stale telemetry, overspeed, a target the belt does not follow.

Pure and synchronous: the controller feeds it commanded targets and telemetry with loop-clock
timestamps, and asks ``check(now)`` for a reason to stop. Tests drive it with plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadcoach.safety.reasons import StopReason

__all__ = ["BeltWatch", "Verdict", "WatchLimits"]


@dataclass(frozen=True, slots=True)
class WatchLimits:
    stale_after_s: float = 2.0
    overspeed_tolerance_kmh: float = 0.5
    # How close the belt must get to its target, and how long it gets to get there beyond the
    # time its acceleration needs (a home belt ramps ~0.5-1 km/h per second).
    follow_tolerance_kmh: float = 0.5
    follow_margin_s: float = 4.0
    accel_kmh_per_s: float = 0.5


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: StopReason
    detail: str


class BeltWatch:
    """Tracks what the belt was told and what it does; says when that is unsafe."""

    def __init__(self, limits: WatchLimits, *, now: float) -> None:
        self.limits = limits
        self._last_telemetry_at = now
        self._speed_kmh = 0.0
        self._target_kmh = 0.0
        # The fastest the belt may legitimately run right now: a slow-down takes time, so the
        # previous (higher) target stays allowed until the deadline passes.
        self._allowed_kmh = 0.0
        self._deadline = now
        # Where the current ramp began: a ramp is several commands, and its deadline belongs to
        # the whole change from there, not to the last command (issue 12 d).
        self._ramp_at = now
        self._ramp_from_kmh = 0.0
        self._armed = False  # stale/follow checks start with the first command

    def commanded(self, target_kmh: float, *, now: float) -> None:
        """The belt was told to run at ``target_kmh`` (0 for stop/pause)."""
        accel = max(self.limits.accel_kmh_per_s, 1e-6)
        if not self._armed or now >= self._deadline:
            # a new change of speed: it starts from where the belt is now
            self._ramp_at, self._ramp_from_kmh = now, self._speed_kmh
            ceiling_now, step_kmh = self._target_kmh, abs(target_kmh - self._speed_kmh)
        else:
            ceiling_now, step_kmh = self._allowed_kmh, abs(target_kmh - self._target_kmh)
        self._allowed_kmh = max(ceiling_now, target_kmh)
        self._target_kmh = target_kmh
        # The belt gets the time its acceleration needs for the whole ramp, counted from the
        # ramp's start -- or, for a ramp slower than the belt, the time for this command's step.
        whole = self._ramp_at + abs(target_kmh - self._ramp_from_kmh) / accel
        self._deadline = max(whole, now + step_kmh / accel) + self.limits.follow_margin_s
        if not self._armed:
            # Silence before the first command is not staleness: start counting from here.
            self._last_telemetry_at = max(self._last_telemetry_at, now)
        self._armed = True

    def rearm(self, *, now: float) -> None:
        """Watch again after a disarm (the user took control back from the console): the belt's
        speed now -- whatever the console left -- is where the next command's change starts."""
        self._target_kmh = self._allowed_kmh = self._speed_kmh
        self._deadline = now
        self._last_telemetry_at = max(self._last_telemetry_at, now)
        self._armed = True

    def telemetry(self, speed_kmh: float, *, now: float) -> None:
        self._speed_kmh = speed_kmh
        self._last_telemetry_at = now

    def telemetry_age_s(self, now: float) -> float:
        return now - self._last_telemetry_at

    def check(self, now: float, *, stale: bool = True) -> Verdict | None:
        """A reason to stop, or None. ``stale=False`` skips the silence check (paused belt)."""
        if not self._armed:
            return None
        age = now - self._last_telemetry_at
        if stale and age > self.limits.stale_after_s:
            return Verdict(StopReason.STALE, f"no treadmill data for {age:.1f} s")
        tol = self.limits.overspeed_tolerance_kmh
        settled = now >= self._deadline
        ceiling = self._target_kmh if settled else self._allowed_kmh
        if self._speed_kmh > ceiling + tol:
            return Verdict(
                StopReason.OVERSPEED,
                f"belt at {self._speed_kmh:.1f} km/h, target {self._target_kmh:.1f} km/h",
            )
        if settled and abs(self._speed_kmh - self._target_kmh) > self.limits.follow_tolerance_kmh:
            return Verdict(
                StopReason.TARGET_IGNORED,
                f"belt stayed at {self._speed_kmh:.1f} km/h, target {self._target_kmh:.1f} km/h",
            )
        return None

    def disarm(self) -> None:
        """After a stop: the belt is coasting down; nothing more to judge."""
        self._armed = False
