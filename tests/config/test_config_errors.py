"""A bad devices.toml gives one message naming the file, the line and key, and the problem."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from treadcoach.config import RESERVED_KEYS, load_settings
from treadcoach.errors import ConfigError, TreadcoachError

SHIPPED = str(Path(__file__).resolve().parents[2] / "treadcoach" / "data" / "devices.toml")

BAD_FILES = [
    pytest.param(
        "[limits]\nmax_kph = 10\n",
        'line 2, limits.max_kph: unknown key (did you mean "max_kmh"?)',
        id="unknown-key-with-suggestion",
    ),
    pytest.param(
        "# comment\nlimits.max_kph = 10\n",
        'line 2, limits.max_kph: unknown key (did you mean "max_kmh"?)',
        id="unknown-dotted-key",
    ),
    pytest.param(
        "limits = { max_kmh = 10, max_kph = 10 }\n",
        'line 1, limits.max_kph: unknown key (did you mean "max_kmh"?)',
        id="unknown-key-in-inline-table",
    ),
    pytest.param(
        "[limits]\nmaximum = 10\n",
        "line 2, limits.maximum: unknown key (known keys: backward_max_kmh, hr_max_bpm, max_kmh, "
        "overspeed_tolerance_kmh, stale_after_s, target_deadline_s, turnaround_kmh, "
        "turnaround_s, units)",
        id="unknown-key-lists-known-keys",
    ),
    pytest.param(
        '[[devices]]\nname = "x"\n',
        'line 1, devices: unknown key (did you mean "device"?)',
        id="unknown-table",
    ),
    pytest.param(
        '[limits]\nmax_kmh = "fast"\n',
        'line 2, limits.max_kmh: must be a number, got "fast"',
        id="wrong-type-string-for-number",
    ),
    pytest.param(
        '[limits]\nmax_kmh = "12"\n',
        'line 2, limits.max_kmh: must be a number, got "12"',
        id="no-silent-coercion-of-numeric-strings",
    ),
    pytest.param(
        "[audio]\nenabled = 1\n",
        "line 2, audio.enabled: must be true or false, got 1",
        id="wrong-type-number-for-bool",
    ),
    pytest.param(
        "[limits]\nmax_kmh = 12 km/h\n",
        "line 2, column 14: not valid TOML: expected newline or end of document after a statement",
        id="toml-syntax-with-line",
    ),
    pytest.param(
        "[limits\n",
        "line 1, column 8: not valid TOML: expected ']' at the end of a table declaration",
        id="toml-unclosed-table",
    ),
    pytest.param(
        "[limits]\nbackward_max_kmh = 15.0\n",
        "line 2, limits.backward_max_kmh: must be at most limits.max_kmh (12), got 15",
        id="backward-above-max",
    ),
    pytest.param(
        "[limits]\nmax_kmh = 4.0\n",
        "line 1, limits.backward_max_kmh: must be at most limits.max_kmh (4), got 4.83 "
        f"(that value comes from {SHIPPED}; set it in this file)",
        id="lower-max-under-shipped-backward-max",
    ),
    pytest.param(
        "[limits]\nturnaround_s = 3\n",
        "line 2, limits.turnaround_s: must be at least 5, got 3",
        id="turnaround-under-5s",
    ),
    pytest.param(
        "[limits]\nstale_after_s = 5.0\n",
        "line 2, limits.stale_after_s: must be at most 2, got 5.0",
        id="stale-limit-looser-than-design",
    ),
    pytest.param(
        "[limits]\nturnaround_kmh = 5.0\n",
        "line 2, limits.turnaround_kmh: must be at most limits.backward_max_kmh (4.83), got 5",
        id="turnaround-faster-than-backward-cap",
    ),
    pytest.param(
        '[mqtt]\nurl = "http://broker"\n',
        'line 2, mqtt.url: must start with mqtt:// or mqtts://, got "http://broker"',
        id="mqtt-url-scheme",
    ),
    pytest.param(
        '[mqtt]\nurl = "mqtt://user:secret@broker:99999"\n',
        'line 2, mqtt.url: has a bad port (1-65535), got "mqtt://user:***@broker:99999"',
        id="mqtt-url-port-password-masked",
    ),
    pytest.param(
        '[mqtt]\nurl = "mqtt://"\n',
        "line 2, mqtt.url: must name a broker host "
        '(mqtt://[user[:password]@]host[:port] or mqtts://...), got "mqtt://"',
        id="mqtt-url-no-host",
    ),
    pytest.param(
        '[mqtt]\ndevice_id = "x"\n',
        "line 1, mqtt.url: required key is missing",
        id="mqtt-url-missing",
    ),
    pytest.param(
        '[mqtt]\nurl = "mqtt://h"\ndevice_id = "tread mill/1"\n',
        "line 3, mqtt.device_id: must be letters, digits, '_' or '-' only "
        '(it is an MQTT topic level), got "tread mill/1"',
        id="mqtt-device-id",
    ),
    pytest.param(
        '[mqtt]\nurl = "mqtt://h"\nca_file = "ca.pem"\n',
        'line 3, mqtt.ca_file: only applies to an mqtts:// url, got "mqtt://h"',
        id="mqtt-ca-file-without-tls",
    ),
    pytest.param(
        '[mqtt]\nurl = "mqtt://h"\n\n[[mqtt.buttons]]\ntopic = "a/#/b"\npayload = "x"\n',
        "line 5, mqtt.buttons[1].topic: is not a valid MQTT topic: + must be a whole level and "
        '# the whole last level, got "a/#/b"',
        id="mqtt-button-topic",
    ),
    pytest.param(
        '[mqtt]\nurl = "mqtt://h"\n\n[[mqtt.buttons]]\ntopic = "z"\npayload = 3\n',
        'line 6, mqtt.buttons[1].payload: must be a string ("single") or a table '
        '({ action = "single" })',
        id="mqtt-button-payload-type",
    ),
    pytest.param(
        '[[device]]\nname = "x"\nmatch = "X*"\n\n[[device]]\nname = "y"\nmatch = "Y*"\nmax_kph = 3\n',
        'line 8, device[2].max_kph: unknown key (did you mean "max_kmh"?)',
        id="device-typo-counts-entries-from-1",
    ),
    pytest.param(
        '[[device]]\nname = "y"\nmatch = "Y*"\nmin_kmh = 3\nmax_kmh = 2\n',
        "line 5, device[1].max_kmh: must be greater than min_kmh (3), got 2",
        id="device-range-inverted",
    ),
    pytest.param(
        '[[device]]\nname = "y"\nmatch = "Y*"\nmax_kmh = 120\n',
        "line 4, device[1].max_kmh: must be at most 30, got 120",
        id="device-speed-typo",
    ),
    pytest.param(
        '[[device]]\nname = "y"\n',
        'line 1, device[1]: needs match = "NAME-GLOB" (or an address) to know which treadmill it is',
        id="device-without-match",
    ),
    pytest.param(
        '[[device]]\nmatch = "Y*"\n',
        "line 1, device[1].name: required key is missing",
        id="device-without-name",
    ),
    pytest.param(
        '[device]\nname = "y"\n',
        "line 1, device: must be an array of tables: write [[device]], not [device]",
        id="device-single-brackets",
    ),
    pytest.param(
        '[[device]]\nname = "y"\nmatch = "Y"\nrequest_control = "always"\n',
        'line 4, device[1].request_control: must be one of "once", "before_every_command" or '
        '"never", got "always"',
        id="device-literal",
    ),
    pytest.param(
        '[[device]]\nname = "y"\nmatch = ["Y*", ""]\n',
        'line 3, device[1].match: must not contain an empty glob (use "*" to match any name)',
        id="device-empty-glob",
    ),
    pytest.param(
        '[inputs]\npedal_key = "KEY_B"\n',
        "line 2, inputs.pedal_key: is set but inputs.pedal_device is not",
        id="pedal-key-without-device",
    ),
    pytest.param(
        '[inputs]\npedal_device = "/dev/input/event5"\npedal_key = "b"\n',
        'line 3, inputs.pedal_key: must be an evdev key name like "KEY_B" or "BTN_LEFT", got "b"',
        id="pedal-key-name",
    ),
    pytest.param(
        '[inputs]\nstop_key = "p"\n',
        'line 1, inputs.pause_key: must differ from inputs.stop_key, both are "p" '
        f"(that value comes from {SHIPPED}; set it in this file)",
        id="stop-and-pause-same-key",
    ),
    pytest.param(
        '[inputs]\nstop_key = "Space Bar"\n',
        'line 2, inputs.stop_key: unknown key "Space Bar": use a single character, '
        "ctrl+<letter>, a character name such as full_stop, or one of space, enter, tab, "
        "escape, backspace, up, down, right, left, home, end, insert, delete, pageup, pagedown, "
        "f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12",
        id="stop-key-name",
    ),
    pytest.param(
        '[inputs]\nstop_key = "ctrl+z"\n',
        'line 2, inputs.stop_key: "ctrl+z" cannot be used: it suspends a terminal program',
        id="stop-key-reserved",
    ),
    pytest.param(
        'default_device = ""\n',
        "line 1, default_device: must not be empty",
        id="empty-default-device",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_user_file_gives_one_exact_message(
    write_user_file: Callable[[str], Path], text: str, expected: str
) -> None:
    path = write_user_file(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: {expected}"
    assert caught.value.path == str(path)


def test_config_error_is_a_treadcoach_error_with_fields(
    write_user_file: Callable[[str], Path],
) -> None:
    path = write_user_file("[limits]\nmax_kph = 10\n")
    with pytest.raises(TreadcoachError) as caught:
        load_settings(path)
    error = caught.value
    assert isinstance(error, ConfigError)
    assert (error.location, error.problem) == (
        "line 2, limits.max_kph",
        'unknown key (did you mean "max_kmh"?)',
    )


def test_error_in_a_later_user_device_names_that_entry_not_a_merged_index(
    write_user_file: Callable[[str], Path],
) -> None:
    # The user's entries come first in the merged list; the shipped ones never shift their numbers.
    text = "".join(f'[[device]]\nname = "d{i}"\nmatch = "D{i}*"\n\n' for i in range(3))
    path = write_user_file(text + '[[device]]\nname = "bad"\nmatch = "B*"\naccel_kmh_per_s = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.location == "line 16, device[4].accel_kmh_per_s"


def test_file_that_is_not_utf8_is_named(write_user_file: Callable[[str], Path]) -> None:
    path = write_user_file("")
    path.write_bytes(b"[limits]\nmax_kmh = 12 # \xff\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: line 2: the file is not UTF-8 text (bytes ff)"


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing)
    assert str(caught.value) == f"{missing}: no such file"


def test_env_path_that_does_not_exist_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("TREADCOACH_CONFIG", str(missing))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"{missing}: no such file (from $TREADCOACH_CONFIG)"


def test_unreadable_file_is_named(write_user_file: Callable[[str], Path]) -> None:
    path = write_user_file("[limits]\n")
    path.unlink()
    path.mkdir()  # a directory where the file should be: reading fails on every platform
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.path == str(path)
    assert caught.value.problem.startswith("cannot read the file: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('stop_key = "bogus_key_name"', 'line 2, inputs.stop_key: unknown key "bogus_key_name"'),
        ('pause_key = "f13"', 'line 2, inputs.pause_key: unknown key "f13"'),
        ('stop_key = "shift+tab"', 'line 2, inputs.stop_key: unknown key "shift+tab"'),
        (
            'stop_key = "S"\npause_key = "s"',
            'line 3, inputs.pause_key: must differ from inputs.stop_key, both are "s"',
        ),
    ],
)
def test_a_key_name_neither_mode_knows_is_a_config_error_naming_it(
    write_user_file: Callable[[str], Path], text: str, expected: str
) -> None:
    path = write_user_file(f"[inputs]\n{text}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("setting", ["stop_key", "pause_key"])
@pytest.mark.parametrize("key", sorted(RESERVED_KEYS))
def test_every_reserved_key_is_refused_as_stop_and_pause_key(
    write_user_file: Callable[[str], Path], setting: str, key: str
) -> None:
    other = {"stop_key": 'pause_key = "f6"', "pause_key": 'stop_key = "f7"'}[setting]
    path = write_user_file(f'[inputs]\n{other}\n{setting} = "{key}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.location == f"line 3, inputs.{setting}"
    assert caught.value.problem == f'"{key}" cannot be used: it {RESERVED_KEYS[key]}'


@pytest.mark.parametrize(
    ("spelling", "name"),
    [("esc", "escape"), ("Return", "enter"), (".", "full_stop"), ("/", "slash"), ("F5", "f5")],
)
def test_key_names_are_kept_as_textual_spells_them(
    write_user_file: Callable[[str], Path], spelling: str, name: str
) -> None:
    # the TUI binds what config hands it: "esc" would never match Textual's "escape"
    path = write_user_file(f'[inputs]\nstop_key = "{spelling}"\n')
    assert load_settings(path).inputs.stop_key == name


def test_the_docs_list_exactly_the_reserved_keys() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "inputs-and-mqtt.md").read_text()
    paragraph = docs[docs.index("These keys cannot be the stop or pause key") :].split("\n\n")[0]
    listed = paragraph[: paragraph.index("An unknown key name")]
    assert set(re.findall(r"`([^`]+)`", listed)) == set(RESERVED_KEYS)
