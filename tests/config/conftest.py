"""Keep every config test away from the developer's real ~/.config/treadcoach."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from treadcoach.config import CONFIG_ENV


@pytest.fixture(autouse=True)
def isolated_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $TREADCOACH_CONFIG, and the platform config dir points into tmp_path."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    config_home = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    return config_home


@pytest.fixture
def write_user_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a user devices.toml with the given text and return its path."""

    def write(text: str, name: str = "devices.toml") -> Path:
        path = tmp_path / "user" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write
