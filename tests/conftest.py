"""Shared fixtures. Per-area fixtures live in the conftest.py of each tests/ subfolder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes the real user's journal or log (subprocesses inherit the environment)."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("TREADCOACH_LOG", str(Path(home) / "treadcoach.log"))
    monkeypatch.setenv("TREADCOACH_DATA_DIR", str(Path(home) / "data"))
