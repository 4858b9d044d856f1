"""The user's devices.toml laid over the shipped one: what wins, and where it is found."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from treadcoach.config import CONFIG_ENV, Settings, UserLimits, load_settings, user_devices_path

REPO = Path(__file__).resolve().parents[2]


def test_without_a_user_file_the_shipped_settings_apply(isolated_config_dir: Path) -> None:
    assert not (isolated_config_dir / "treadcoach" / "devices.toml").exists()
    settings = load_settings()
    shipped_entries = (REPO / "devices.toml").read_text().count("\n[[device]]\n")
    assert len(settings.devices) == shipped_entries
    assert settings.limits == UserLimits()


def test_user_file_in_the_platform_config_dir_is_found(isolated_config_dir: Path) -> None:
    path = isolated_config_dir / "treadcoach" / "devices.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[limits]\nmax_kmh = 9.5\n")
    assert user_devices_path() == path
    assert load_settings().limits.max_kmh == 9.5


def test_env_path_overrides_the_platform_config_dir(
    isolated_config_dir: Path,
    write_user_file: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    platform_file = isolated_config_dir / "treadcoach" / "devices.toml"
    platform_file.parent.mkdir(parents=True)
    platform_file.write_text("[limits]\nmax_kmh = 9.5\n")
    env_file = write_user_file("[limits]\nmax_kmh = 8.0\n")
    monkeypatch.setenv(CONFIG_ENV, str(env_file))
    assert load_settings().limits.max_kmh == 8.0


def test_user_limits_override_key_by_key(write_user_file: Callable[[str], Path]) -> None:
    settings = load_settings(write_user_file('[limits]\nmax_kmh = 10.0\nunits = "mph"\n'))
    assert settings.limits.max_kmh == 10.0
    assert settings.limits.units == "mph"
    # untouched keys keep the shipped values
    assert settings.limits.backward_max_kmh == 4.83
    assert settings.limits.turnaround_s == 8.0
    assert settings.inputs.stop_key == "space"


def test_user_device_entry_is_tried_before_the_shipped_one(
    write_user_file: Callable[[str], Path],
) -> None:
    # A user who found their FitShow pad ignores speed corrects the shipped entry.
    path = write_user_file(
        '[[device]]\nname = "My FS pad"\nmatch = "FS-1234*"\nspeed_control = false\n'
    )
    settings = load_settings(path)
    assert settings.devices[0].name == "My FS pad"
    assert settings.profile_for("FS-1234AB", None).speed_control is False
    # other FS- names still get the shipped entry, and the generic one is still last
    assert settings.profile_for("FS-9999", None).name.startswith("FitShow")
    assert settings.devices[-1].is_generic


def test_user_entry_pinned_to_an_address_wins_for_that_machine_only(
    write_user_file: Callable[[str], Path],
) -> None:
    path = write_user_file(
        '[[device]]\nname = "Garage treadmill"\naddress = "aa:bb:cc:dd:ee:ff"\nmax_kmh = 8.0\n'
    )
    settings = load_settings(path)
    assert settings.profile_for("Anything", "AA:BB:CC:DD:EE:FF").name == "Garage treadmill"
    assert settings.profile_for("Anything", "11:22:33:44:55:66").is_generic
    assert settings.profile_for("Anything", None).is_generic


def test_user_mqtt_and_top_level_keys(write_user_file: Callable[[str], Path]) -> None:
    path = write_user_file(
        'default_device = "FS-A1B2"\nhistory_db = "journal/history.sqlite"\n\n'
        '[mqtt]\nurl = "mqtt://ha:secret@broker.lan"\n\n'
        '[[mqtt.buttons]]\ntopic = "zigbee2mqtt/pedal"\npayload = { action = "single" }\n'
    )
    settings = load_settings(path)
    assert settings.default_device == "FS-A1B2"
    # a relative path means "next to the file that says so"
    assert settings.history_db == path.parent / "journal" / "history.sqlite"
    assert settings.mqtt is not None
    assert (settings.mqtt.hostname, settings.mqtt.port) == ("broker.lan", 1883)
    assert settings.mqtt.remote_control is False  # DESIGN invariant 5: off unless enabled
    assert settings.mqtt.buttons[0].payload_spec == '{"action":"single"}'


def test_history_db_expands_home(
    write_user_file: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings = load_settings(write_user_file('history_db = "~/tc.sqlite"\n'))
    assert settings.history_db == tmp_path / "home" / "tc.sqlite"


def test_user_generic_entry_shadows_all_shipped_models(
    write_user_file: Callable[[str], Path],
) -> None:
    # Allowed (the user's choice), and visible: every name then gets the user's entry.
    path = write_user_file('[[device]]\nname = "Mine"\nmatch = "*"\nmax_kmh = 6.0\n')
    settings = load_settings(path)
    assert settings.profile_for("TM11GY", None).name == "Mine"


def test_commented_examples_in_the_shipped_file_are_valid(tmp_path: Path) -> None:
    """Uncomment every example setting in devices.toml: the result must load."""
    text = (REPO / "devices.toml").read_text(encoding="utf-8")
    example = re.compile(r"# ((?:\[\[?[a-z.]+\]\]?)|(?:[a-z_]+ = .+))$")
    lines = []
    for line in text.splitlines():
        found = example.fullmatch(line)
        lines.append(found.group(1) if found else line)
    uncommented = "\n".join(lines) + "\n"
    assert "[mqtt]\n" in uncommented
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    uncommented = uncommented.replace("/etc/ssl/certs/my-broker-ca.pem", str(ca))
    uncommented = uncommented.replace('url = "mqtt://', 'url = "mqtts://')
    path = tmp_path / "devices.toml"
    path.write_text(uncommented, encoding="utf-8")
    settings = load_settings(path)
    assert settings.mqtt is not None
    assert len(settings.mqtt.buttons) == 2
    assert settings.inputs.pedal_key == "KEY_B"
    assert isinstance(settings, Settings)
