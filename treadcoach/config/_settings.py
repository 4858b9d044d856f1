"""The whole devices.toml: limits, inputs, audio, MQTT and the known treadmills."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from treadcoach.config._base import ConfigModel
from treadcoach.config._device import DeviceProfile
from treadcoach.config._inputs import AudioSettings, InputSettings
from treadcoach.config._limits import UserLimits
from treadcoach.config._mqtt import MqttSettings
from treadcoach.errors import ConfigError

__all__ = ["HistorySettings", "Settings"]


class HistorySettings(ConfigModel):
    """``[history]``: how sessions are exported (treadcoach.history.fit)."""

    # "auto": walking unless more of the session was run than walked (issue 15.4)
    sport: Literal["auto", "walking", "running"] = "auto"


class Settings(ConfigModel):
    """Everything devices.toml configures, after merging the user's copy over the shipped one.

    ``devices`` holds the ``[[device]]`` tables in matching order: the user's first, then the
    shipped ones, the last of which is the generic FTMS treadmill (``match = "*"``).
    """

    default_device: str | None = Field(
        default=None, min_length=1, description="a name or an address"
    )
    # issue 16: the heart-rate strap to connect beside the treadmill (`--hr` overrides it)
    hr_strap: str | None = Field(default=None, min_length=1, description="a name or an address")
    history_db: Path | None = Field(default=None, strict=False)
    history: HistorySettings = Field(default_factory=lambda: HistorySettings())
    limits: UserLimits = Field(default_factory=lambda: UserLimits())
    inputs: InputSettings = Field(default_factory=lambda: InputSettings())
    audio: AudioSettings = Field(default_factory=lambda: AudioSettings())
    mqtt: MqttSettings | None = None
    devices: tuple[DeviceProfile, ...] = Field(default=(), alias="device")

    @field_validator("devices", mode="before")
    @classmethod
    def _array_of_tables(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("devices")
    @classmethod
    def _has_generic(cls, value: tuple[DeviceProfile, ...]) -> tuple[DeviceProfile, ...]:
        if not any(profile.is_generic for profile in value):
            raise ValueError(
                'needs a generic entry (match = "*", no address) for unknown treadmills'
            )
        return value

    def profile_for(self, name: str | None, address: str | None) -> DeviceProfile:
        """The first ``[[device]]`` that matches, else the generic FTMS profile."""
        for profile in self.devices:
            if profile.matches(name, address):
                return profile
        # Only reachable for a Settings built in code without devices: validation guarantees a
        # generic entry whenever [[device]] tables were given.
        raise ConfigError(
            "devices.toml", "device", 'there is no generic [[device]] entry (match = "*")'
        )

    def known_profile(self, name: str | None, address: str | None) -> DeviceProfile | None:
        """The matching model-specific entry, or None when only the generic one fits."""
        profile = self.profile_for(name, address) if self.devices else None
        return None if profile is None or profile.is_generic else profile

    def with_mqtt_url(self, url: str) -> Settings:
        """These settings with the broker from ``--mqtt URL`` (keeping the rest of ``[mqtt]``).

        A bad url raises ConfigError naming ``--mqtt``, like a bad file would.
        """
        current = self.mqtt.model_dump() if self.mqtt is not None else {}
        try:
            mqtt = MqttSettings.model_validate({**current, "url": url})
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            problem = str(error.get("ctx", {}).get("error", error["msg"]))
            where = ".".join(str(part) for part in error["loc"])
            raise ConfigError("--mqtt", where, problem) from None
        return self.model_copy(update={"mqtt": mqtt})
