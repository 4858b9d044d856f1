"""One treadmill model's quirks: a ``[[device]]`` entry of devices.toml."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from treadcoach.config._base import ConfigModel

__all__ = ["KMH_PER_MPH", "DeviceProfile", "DistanceSource", "RequestControl"]

KMH_PER_MPH = 1.609344

RequestControl = Literal["once", "before_every_command", "never"]
DistanceSource = Literal["device", "integrated"]

# Sanity bounds: no home treadmill runs faster than 30 km/h; a value above is a typo (120 for 12.0).
_MAX_BELT_KMH = 30.0


class DeviceProfile(ConfigModel):
    """How one treadmill model bends the FTMS standard. ``None`` = trust what the machine reports."""

    name: str = Field(min_length=1, description="display name")
    match: tuple[str, ...] = Field(
        default=(),
        description="glob(s) on the advertised BLE name, case-insensitive; '*' matches any name",
    )
    address: str | None = Field(
        default=None,
        description="only this BLE address (MAC, or the macOS UUID), case-insensitive",
    )
    min_kmh: float | None = Field(default=None, ge=0.0, le=_MAX_BELT_KMH)
    max_kmh: float | None = Field(default=None, gt=0.0, le=_MAX_BELT_KMH)
    speed_increment_kmh: float | None = Field(default=None, gt=0.0, le=2.0)
    incline_min_pct: float | None = Field(default=None, ge=-30.0, le=50.0)
    incline_max_pct: float | None = Field(default=None, ge=-30.0, le=50.0)
    incline_step_pct: float | None = Field(default=None, gt=0.0, le=5.0)
    accel_kmh_per_s: float = Field(
        default=0.5,
        gt=0.0,
        le=10.0,
        description="belt acceleration, for ramps and follow deadlines",
    )
    request_control: RequestControl = "once"
    start_before_speed: bool = Field(
        default=False, description="the belt must be running before it accepts Set Target Speed"
    )
    running_wait_s: float = Field(
        default=3.0, gt=0.0, le=30.0, description="how long after Start the belt may take to run"
    )
    target_speed_in_mph: bool = False
    reported_speed_in_mph: bool = False
    distance_source: DistanceSource = "integrated"
    keepalive_s: float | None = Field(default=None, ge=0.2, le=60.0)
    pace_u16: bool = False
    speed_control: bool = Field(
        default=True, description="False: the firmware ignores Set Target Speed"
    )
    start_toggles: bool = Field(
        default=False, description="Start/Resume while running pauses the belt"
    )
    notes: str = ""
    source: str = ""

    @field_validator("match", mode="before")
    @classmethod
    def _one_or_many_globs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            if not all(isinstance(glob, str) for glob in value):
                raise ValueError('must be a name glob like "FS-*" or a list of them')
            if any(not glob.strip() for glob in value):
                raise ValueError('must not contain an empty glob (use "*" to match any name)')
            return tuple(value)
        if isinstance(value, tuple):
            return value
        raise ValueError('must be a name glob like "FS-*" or a list of them')

    @field_validator("address")
    @classmethod
    def _address_not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _match_or_address(self) -> DeviceProfile:
        if not self.match and self.address is None:
            raise ValueError(
                'needs match = "NAME-GLOB" (or an address) to know which treadmill it is'
            )
        return self

    @field_validator("max_kmh")
    @classmethod
    def _max_above_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min_kmh")
        if value is not None and low is not None and value <= low:
            raise ValueError(f"must be greater than min_kmh ({low:g}), got {value:g}")
        return value

    @field_validator("incline_max_pct")
    @classmethod
    def _incline_max_above_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("incline_min_pct")
        if value is not None and low is not None and value <= low:
            raise ValueError(f"must be greater than incline_min_pct ({low:g}), got {value:g}")
        return value

    @property
    def is_generic(self) -> bool:
        """The catch-all entry: matches every name and is not pinned to an address."""
        return self.address is None and "*" in self.match

    def matches(self, name: str | None, address: str | None) -> bool:
        """Does this entry describe the treadmill advertising ``name`` at ``address``?

        With ``address`` set, only that address matches (and the name globs, when given, must match
        too). Otherwise any name glob matching the advertised name (case-insensitive) matches; an
        unknown name (``None``) only matches ``"*"``.
        """
        if self.address is not None:
            if address is None or address.casefold() != self.address.casefold():
                return False
            if not self.match:
                return True
        folded = (name or "").casefold()
        return any(fnmatchcase(folded, glob.casefold()) for glob in self.match)

    def wire_target_kmh(self, kmh: float) -> float:
        """The value to encode in Set Target Speed (0.01 km/h units) to get ``kmh`` on the belt.

        A machine that reads the target as mph (``target_speed_in_mph``) gets the mph number.
        """
        return kmh / KMH_PER_MPH if self.target_speed_in_mph else kmh

    def reported_kmh(self, wire_kmh: float) -> float:
        """The real belt speed for a Treadmill Data speed value as decoded (in "km/h")."""
        return wire_kmh * KMH_PER_MPH if self.reported_speed_in_mph else wire_kmh
