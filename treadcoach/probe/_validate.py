"""The probe's entry must be one the config loader accepts: checked before it is written."""

from __future__ import annotations

import tomllib

from pydantic import ValidationError

from treadcoach.config import DeviceProfile
from treadcoach.errors import ConfigError

__all__ = ["validate_entry"]


def validate_entry(text: str) -> DeviceProfile:
    """The ``[[device]]`` table in ``text`` as a DeviceProfile, or ConfigError naming the key."""
    try:
        data = tomllib.loads(text)
        table = data["device"][0]
    except (tomllib.TOMLDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError("probe entry", "", f"not one [[device]] table: {exc}") from None
    try:
        return DeviceProfile.model_validate(table)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError("probe entry", where, str(error["msg"])) from None
