"""The devices.toml we ship: it loads, it is documented, and its entries match real names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.config import (
    AudioSettings,
    DeviceProfile,
    InputSettings,
    MqttButton,
    MqttSettings,
    Settings,
    UserLimits,
    load_settings,
    shipped_devices,
)

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL = REPO / "devices.toml"
PACKAGED = REPO / "treadcoach" / "data" / "devices.toml"


@pytest.fixture(scope="module")
def shipped() -> Settings:
    return load_settings()


def test_packaged_copy_is_byte_identical_to_top_level_devices_toml() -> None:
    assert PACKAGED.read_bytes() == TOP_LEVEL.read_bytes(), (
        "devices.toml is edited at the top level; refresh the packaged copy with "
        "`cp devices.toml treadcoach/data/devices.toml`"
    )


def test_loader_reads_the_packaged_copy() -> None:
    assert shipped_devices().read_bytes() == PACKAGED.read_bytes()


def test_shipped_file_loads_with_the_design_defaults(shipped: Settings) -> None:
    # DESIGN.md invariants 1-3 and 5 as shipped defaults.
    assert shipped.limits.backward_max_kmh == 4.83
    assert shipped.limits.stale_after_s == 2.0
    assert shipped.limits.turnaround_s >= 5
    assert shipped.inputs.stop_key == "space"
    assert shipped.mqtt is None
    assert shipped.default_device is None


def test_shipped_defaults_equal_the_model_defaults(shipped: Settings) -> None:
    # One source of truth for a default: the file says what the code would do anyway.
    assert shipped.limits == UserLimits()
    assert shipped.inputs == InputSettings()
    assert shipped.audio == AudioSettings()


def test_generic_entry_is_last_and_the_only_catch_all(shipped: Settings) -> None:
    generic = [profile for profile in shipped.devices if profile.is_generic]
    assert generic == [shipped.devices[-1]]
    assert generic[0].name == "Generic FTMS treadmill"


def test_every_model_entry_cites_its_source_next_to_it(shipped: Settings) -> None:
    text = TOP_LEVEL.read_text(encoding="utf-8")
    blocks = re.split(r"^\[\[device\]\]$", text, flags=re.MULTILINE)[1:]
    assert len(blocks) == len(shipped.devices)
    for block, profile in zip(blocks, shipped.devices, strict=True):
        assert re.search(r"^# Source: ", block, re.MULTILINE), profile.name
        if not profile.is_generic:
            assert profile.source.startswith("https://"), profile.name


@pytest.mark.parametrize(
    "model", [DeviceProfile, UserLimits, InputSettings, AudioSettings, MqttSettings, MqttButton]
)
def test_every_field_is_documented_in_the_shipped_file(model: type) -> None:
    text = TOP_LEVEL.read_text(encoding="utf-8")
    for name in model.model_fields:
        assert re.search(rf"\b{name}\b", text), f"{model.__name__}.{name} is not in devices.toml"


# Advertised names: seen in the cited reports where they give one (TM11GY, "JFTM T202-5_4DEE"),
# otherwise QZ's name prefix with a made-up serial suffix.
REAL_NAMES = [
    ("TM11GY", "Vitalwalk Apollo 11 Max walking pad (TM11GY)"),
    ("BFX_T9_0A1B", "Bowflex T9"),
    ("JFTM T202-5_4DEE", "Horizon T202"),
    ("JFTM 7.0AT-1234", "Horizon 7.0AT"),
    ("KS-HD-Z1D", "Kingsmith WalkingPad (FTMS models)"),
    ("KS-AP-R3H", "Kingsmith WalkingPad (FTMS models)"),
    ("KS-NG-X218", "Kingsmith WalkingPad (FTMS models)"),
    ("MOBVOI TMP", "Mobvoi Home Treadmill Pro (MOBVOI TMP)"),
    ("WELLFIT TM 1234", "Wellfit treadmill"),
    ("F85", "Sole F85"),
    ("F85-4A21", "Sole F85"),
    ("SPERAX_RM-01", "Sperax RM-01 walking pad"),
    ("MYRUN ", "Technogym MyRun"),
    ("MYRUN 0123", "Technogym MyRun"),
    ("FS-A3B4C5", "FitShow treadmill or walking pad (FS-)"),
    ("fs-a3b4c5", "FitShow treadmill or walking pad (FS-)"),
    ("TRX3500", "Xterra TRX3500"),
    ("3G PRO RUNNER X", "3G Cardio Pro Runner X"),
    # Near misses fall through to the generic profile.
    ("MOBVOI TM", "Generic FTMS treadmill"),
    ("3G PROX", "Generic FTMS treadmill"),
    ("MYRUN", "Generic FTMS treadmill"),
    ("KS-X21", "Generic FTMS treadmill"),
    ("XF85", "Generic FTMS treadmill"),
    ("", "Generic FTMS treadmill"),
]


@pytest.mark.parametrize(("advertised", "expected"), REAL_NAMES)
def test_advertised_name_selects_its_profile(
    shipped: Settings, advertised: str, expected: str
) -> None:
    assert shipped.profile_for(advertised, "AA:BB:CC:DD:EE:FF").name == expected


def test_quirk_flags_of_the_entries_the_link_depends_on(shipped: Settings) -> None:
    tm11gy = shipped.profile_for("TM11GY", None)
    assert tm11gy.start_toggles
    assert tm11gy.target_speed_in_mph
    assert shipped.profile_for("F85", None).speed_control is False
    assert shipped.profile_for("MYRUN 1", None).distance_source == "integrated"
    assert shipped.profile_for("TRX3500", None).keepalive_s == 1.0
    kingsmith = shipped.profile_for("KS-HD-Z1D", None)
    assert kingsmith.start_before_speed
    assert kingsmith.request_control == "once"
    wellfit = shipped.profile_for("WELLFIT TM", None)
    assert (wellfit.min_kmh, wellfit.speed_increment_kmh) == (0.96, 0.32)


def test_unknown_name_is_not_reported_as_known(shipped: Settings) -> None:
    assert shipped.known_profile("Some Treadmill", None) is None
    known = shipped.known_profile("FS-123", None)
    assert known is not None
    assert known.name.startswith("FitShow")


@given(name=st.one_of(st.none(), st.text(max_size=40)), address=st.one_of(st.none(), st.text()))
def test_any_advertised_name_gets_a_profile(name: str | None, address: str | None) -> None:
    settings = load_settings()
    profile = settings.profile_for(name, address)
    assert profile.matches(name, address)
    assert profile in settings.devices
