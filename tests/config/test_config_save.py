"""save_default_device edits one line of the user's file and keeps everything else."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadcoach.config import load_settings, save_default_device
from treadcoach.errors import ConfigError

USER_FILE = """\
# my treadmill settings
# (hand-written, keep my comments)

history_db = "/data/tc.sqlite"  # on the NAS

[limits]
max_kmh = 10.0  # knees
backward_max_kmh = 4.0

[[device]]
# my pad ignores speed
name = "Pad"
match = "FS-99*"
speed_control = false
"""


def test_creates_the_user_file_with_its_folder(isolated_config_dir: Path) -> None:
    written = save_default_device("AA:BB:CC:DD:EE:FF")
    assert written == isolated_config_dir / "treadcoach" / "devices.toml"
    assert load_settings().default_device == "AA:BB:CC:DD:EE:FF"


def test_adds_the_key_and_keeps_comments_and_other_content(
    write_user_file: Callable[[str], Path],
) -> None:
    path = write_user_file(USER_FILE)
    save_default_device("FS-99AB", path)
    text = path.read_text()
    assert text.replace('default_device = "FS-99AB"\n', "") == USER_FILE
    assert text.startswith("# my treadmill settings\n# (hand-written, keep my comments)\ndefault_")
    settings = load_settings(path)
    assert settings.default_device == "FS-99AB"
    assert settings.limits.max_kmh == 10.0


def test_replaces_an_existing_value_in_place(write_user_file: Callable[[str], Path]) -> None:
    path = write_user_file('default_device = "old"\n' + USER_FILE)
    save_default_device("new", path)
    assert path.read_text() == 'default_device = "new"\n' + USER_FILE


def test_a_default_device_key_inside_a_table_is_not_touched(
    write_user_file: Callable[[str], Path],
) -> None:
    # Only the top-level key is the setting: a same-named key in a table is someone else's.
    path = write_user_file('[notes]\ndefault_device = "in a table"\n')
    save_default_device("top", path)
    data = tomllib.loads(path.read_text())
    assert data["default_device"] == "top"
    assert data["notes"] == {"default_device": "in a table"}


def test_keeps_windows_line_endings(write_user_file: Callable[[str], Path]) -> None:
    path = write_user_file("")
    path.write_bytes(b"# mine\r\n[limits]\r\nmax_kmh = 9.0\r\n")
    save_default_device("X", path)
    assert path.read_bytes() == b'# mine\r\ndefault_device = "X"\r\n[limits]\r\nmax_kmh = 9.0\r\n'


def test_refuses_to_edit_a_multiline_value_and_leaves_the_file(
    write_user_file: Callable[[str], Path],
) -> None:
    original = 'default_device = """\nold"""\n[limits]\nmax_kmh = 9.0\n'
    path = write_user_file(original)
    with pytest.raises(ConfigError, match="cannot update this key safely"):
        save_default_device("new", path)
    assert path.read_text() == original


def test_refuses_a_broken_file_and_leaves_it(write_user_file: Callable[[str], Path]) -> None:
    path = write_user_file("[limits\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_default_device("new", path)
    assert path.read_text() == "[limits\n"


def test_refuses_an_empty_name() -> None:
    with pytest.raises(ConfigError):
        save_default_device("  ")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(name=st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_any_name_round_trips(write_user_file: Callable[[str], Path], name: str) -> None:
    path = write_user_file(USER_FILE)
    save_default_device(name, path)
    assert tomllib.loads(path.read_text(encoding="utf-8"))["default_device"] == name
