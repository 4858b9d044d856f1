"""``[inputs]`` (stop and pause keys, a foot pedal) and ``[audio]`` (spoken or chimed cues)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from treadcoach.config._base import ConfigModel, quoted
from treadcoach.config._keys import canonical_key

__all__ = ["AudioSettings", "InputSettings"]

# evdev key names from linux/input-event-codes.h: KEY_B, KEY_SPACE, BTN_LEFT.
_EVDEV_KEY = re.compile(r"(KEY|BTN)_[A-Z0-9_]+")
_EVDEV_KEY_MAX = 0x2FF


def _check_key(value: str) -> str:
    """A key both the TUI and headless mode can act on, and not a reserved one (``_keys``)."""
    try:
        return canonical_key(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace(repr(value), quoted(value))) from None


class InputSettings(ConfigModel):
    """``[inputs]``. The stop key works on every screen whatever has focus."""

    stop_key: str = "space"
    pause_key: str = Field(default="p", validate_default=True)
    pedal_device: str | None = Field(
        default=None,
        min_length=1,
        description="/dev/input/eventN, a /dev/input/by-id path, or a name",
    )
    pedal_key: str | int | None = Field(
        default=None,
        description='"KEY_B"-style name or a numeric code; unset = any key on the pedal',
    )
    pedal_action: Literal["stop", "pause"] = "stop"

    @field_validator("stop_key")
    @classmethod
    def _stop_key_name(cls, value: str) -> str:
        return _check_key(value)

    @field_validator("pause_key")
    @classmethod
    def _pause_key_name(cls, value: str, info: ValidationInfo) -> str:
        value = _check_key(value)
        stop_key = info.data.get("stop_key")
        # headless mode matches letters in either case: "s" and "S" are one key there
        if isinstance(stop_key, str) and value.lower() == stop_key.lower():
            raise ValueError(f"must differ from inputs.stop_key, both are {quoted(value)}")
        return value

    @field_validator("pedal_key", mode="before")
    @classmethod
    def _pedal_key_code(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError('must be an evdev key name like "KEY_B" or a key code number')
        if isinstance(value, str) and not _EVDEV_KEY.fullmatch(value):
            raise ValueError(
                f'must be an evdev key name like "KEY_B" or "BTN_LEFT", got {quoted(value)}'
            )
        if isinstance(value, int) and not 0 <= value <= _EVDEV_KEY_MAX:
            raise ValueError(f"must be a key code from 0 to {_EVDEV_KEY_MAX}, got {value}")
        if info.data.get("pedal_device") is None and "pedal_device" in info.data:
            raise ValueError("is set but inputs.pedal_device is not")
        return value


class AudioSettings(ConfigModel):
    """``[audio]``: the user walking backward cannot see the screen, so cues are heard."""

    enabled: bool = True
    engine: Literal["auto", "espeak", "bell", "none"] = Field(
        default="auto", description="auto: espeak-ng when installed, else the terminal bell"
    )
    voice: str | None = Field(default=None, min_length=1, description="espeak-ng voice, e.g. en-gb")
    last_seconds: int = Field(
        default=3, ge=0, le=10, description="count down aloud the last N seconds"
    )
