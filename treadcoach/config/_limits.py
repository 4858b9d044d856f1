"""The user's own limits: the caps and watchdog thresholds the safety layer enforces."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from treadcoach.config._base import ConfigModel

__all__ = ["Units", "UserLimits"]

Units = Literal["kmh", "mph"]

# DESIGN.md invariant 2: telemetry older than 2 s is stale. Users may be stricter, never looser.
_STALE_MAX_S = 2.0
# DESIGN.md invariant 3: the turnaround countdown is never shorter than 5 s.
_TURNAROUND_MIN_S = 5.0


class UserLimits(ConfigModel):
    """``[limits]``. Speeds in km/h whatever ``units`` says (units only change what is shown)."""

    max_kmh: float = Field(
        default=12.0, gt=0.0, le=30.0, description="never command faster than this"
    )
    backward_max_kmh: float = Field(
        default=4.83, gt=0.0, le=30.0, description="cap for backward segments (4.83 = 3 mph)"
    )
    units: Units = "kmh"
    stale_after_s: float = Field(default=_STALE_MAX_S, gt=0.0, le=_STALE_MAX_S)
    overspeed_tolerance_kmh: float = Field(default=0.5, gt=0.0, le=2.0)
    target_deadline_s: float = Field(
        default=5.0,
        gt=0.0,
        le=60.0,
        description="margin added to the ramp time before 'target ignored'",
    )
    turnaround_s: float = Field(default=8.0, ge=_TURNAROUND_MIN_S, le=120.0)
    turnaround_kmh: float = Field(
        default=1.0,
        gt=0.0,
        le=30.0,
        validate_default=True,
        description="the belt's speed while you turn; a turnaround slows the belt, never stops it",
    )

    hr_max_bpm: int | None = Field(
        default=None,
        ge=80,
        le=230,
        description="heart-rate ceiling: above it speed steps down; well above it, stop",
    )

    @field_validator("backward_max_kmh")
    @classmethod
    def _backward_within_max(cls, value: float, info: ValidationInfo) -> float:
        cap = info.data.get("max_kmh")
        if cap is not None and value > cap:
            raise ValueError(f"must be at most limits.max_kmh ({cap:g}), got {value:g}")
        return value

    @field_validator("turnaround_kmh")
    @classmethod
    def _turnaround_within_backward(cls, value: float, info: ValidationInfo) -> float:
        cap = info.data.get("backward_max_kmh")
        if cap is not None and value > cap:
            raise ValueError(f"must be at most limits.backward_max_kmh ({cap:g}), got {value:g}")
        return value

    def follow_deadline_s(self, from_kmh: float, to_kmh: float, accel_kmh_per_s: float) -> float:
        """Seconds the belt gets to reach ``to_kmh`` before the target counts as ignored.

        The ramp time at the device's acceleration plus ``target_deadline_s`` of margin, so a slow
        belt (3G Cardio Pro Runner X ramps for > 5 s) is not mistaken for one that ignores us.
        """
        if accel_kmh_per_s <= 0:
            raise ValueError(f"accel_kmh_per_s must be positive, got {accel_kmh_per_s:g}")
        return abs(to_kmh - from_kmh) / accel_kmh_per_s + self.target_deadline_s
