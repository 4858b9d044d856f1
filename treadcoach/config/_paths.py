"""Where devices.toml lives: shipped inside the package, and the user's copy."""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import platformdirs

__all__ = ["CONFIG_ENV", "shipped_devices", "user_devices_path"]

CONFIG_ENV = "TREADCOACH_CONFIG"
"""An explicit path to the user's devices.toml; wins over the platform config dir."""


def shipped_devices() -> Traversable:
    """The devices.toml shipped as package data (a copy of the repository's top-level file)."""
    return files("treadcoach").joinpath("data", "devices.toml")


def user_devices_path() -> Path:
    """``$TREADCOACH_CONFIG`` if set, else ``<user config dir>/treadcoach/devices.toml``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return platformdirs.user_config_path("treadcoach") / "devices.toml"
