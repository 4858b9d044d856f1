"""The settings models on their own: derived values the other layers call."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from treadcoach.config import (
    KMH_PER_MPH,
    DeviceProfile,
    MqttButton,
    MqttSettings,
    Settings,
    UserLimits,
    load_settings,
)
from treadcoach.errors import ConfigError

speeds = st.floats(min_value=0.0, max_value=30.0, allow_nan=False)
accels = st.floats(min_value=0.05, max_value=10.0, allow_nan=False)


@given(start=speeds, end=speeds, accel=accels)
def test_follow_deadline_covers_the_ramp_plus_the_margin(
    start: float, end: float, accel: float
) -> None:
    limits = UserLimits()
    deadline = limits.follow_deadline_s(start, end, accel)
    assert deadline >= limits.target_deadline_s
    assert math.isclose(deadline - limits.target_deadline_s, abs(end - start) / accel, abs_tol=1e-9)
    # symmetric: slowing down gets as long as speeding up
    assert math.isclose(deadline, limits.follow_deadline_s(end, start, accel))


def test_slow_belt_gets_a_longer_deadline() -> None:
    limits = UserLimits()
    slow = load_settings().profile_for("3G PRO RUNNER X", None)
    generic = load_settings().profile_for("unknown", None)
    assert limits.follow_deadline_s(0, 4.83, slow.accel_kmh_per_s) > limits.follow_deadline_s(
        0, 4.83, generic.accel_kmh_per_s
    )


def test_follow_deadline_refuses_a_non_positive_acceleration() -> None:
    with pytest.raises(ValueError, match="accel_kmh_per_s must be positive"):
        UserLimits().follow_deadline_s(0, 5, 0)


def test_models_are_frozen() -> None:
    limits = UserLimits()
    with pytest.raises(ValidationError):
        limits.max_kmh = 40.0  # type: ignore[misc]


def test_backward_cap_can_never_exceed_the_overall_cap() -> None:
    with pytest.raises(ValidationError):
        UserLimits(max_kmh=4.0, backward_max_kmh=4.83)


@given(kmh=st.floats(min_value=0.0, max_value=30.0, allow_nan=False))
def test_mph_target_machine_gets_the_mph_number_and_reports_back_in_kmh(kmh: float) -> None:
    mph_machine = DeviceProfile(
        name="m", match="M*", target_speed_in_mph=True, reported_speed_in_mph=True
    )
    wire = mph_machine.wire_target_kmh(kmh)
    assert math.isclose(wire * KMH_PER_MPH, kmh, abs_tol=1e-9)
    assert math.isclose(mph_machine.reported_kmh(wire), kmh, abs_tol=1e-9)
    standard = DeviceProfile(name="s", match="*")
    assert standard.wire_target_kmh(kmh) == kmh
    assert standard.reported_kmh(kmh) == kmh


def test_tm11gy_target_of_1_61_kmh_is_sent_as_1_00() -> None:
    # issue 5100: 02 64 00 (1.00) gave 1.61 km/h on the belt
    tm11gy = load_settings().profile_for("TM11GY", None)
    assert round(tm11gy.wire_target_kmh(1.609344), 2) == 1.00


def test_match_accepts_one_glob_or_a_list() -> None:
    assert DeviceProfile(name="a", match="X*").match == ("X*",)
    assert DeviceProfile(name="a", match=["X*", "Y*"]).match == ("X*", "Y*")


def test_unknown_name_only_matches_the_catch_all() -> None:
    assert DeviceProfile(name="g", match="*").matches(None, None)
    assert not DeviceProfile(name="fs", match="FS-*").matches(None, "AA")


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "password", "tls"),
    [
        ("mqtt://broker", "broker", 1883, None, None, False),
        ("mqtts://broker", "broker", 8883, None, None, True),
        ("mqtt://ha:s3cret@10.0.0.2:1884", "10.0.0.2", 1884, "ha", "s3cret", False),
        ("mqtts://me:p%40ss@broker.lan", "broker.lan", 8883, "me", "p@ss", True),
        ("mqtt://user@broker/", "broker", 1883, "user", None, False),
    ],
)
def test_mqtt_url_parts(
    url: str, host: str, port: int, user: str | None, password: str | None, tls: bool
) -> None:
    mqtt = MqttSettings(url=url)
    assert (mqtt.hostname, mqtt.port, mqtt.username, mqtt.password, mqtt.tls) == (
        host,
        port,
        user,
        password,
        tls,
    )


def test_mqtt_password_never_shows_in_repr_or_display_url() -> None:
    mqtt = MqttSettings(url="mqtt://ha:s3cret@broker")
    assert "s3cret" not in repr(mqtt)
    assert "s3cret" not in repr(Settings(mqtt=mqtt))
    assert mqtt.display_url == "mqtt://ha:***@broker"


def test_mqtt_url_from_the_command_line_keeps_the_rest_of_the_mqtt_table() -> None:
    base = Settings(mqtt=MqttSettings(url="mqtt://a", device_id="pad", remote_control=True))
    updated = base.with_mqtt_url("mqtt://b:1999")
    assert updated.mqtt is not None
    assert (updated.mqtt.hostname, updated.mqtt.port) == ("b", 1999)
    assert (updated.mqtt.device_id, updated.mqtt.remote_control) == ("pad", True)
    fresh = Settings().with_mqtt_url("mqtt://c")
    assert fresh.mqtt is not None
    assert fresh.mqtt.remote_control is False


def test_bad_mqtt_url_from_the_command_line_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings().with_mqtt_url("broker.lan")
    assert str(caught.value) == '--mqtt: url: must start with mqtt:// or mqtts://, got "broker.lan"'


@pytest.mark.parametrize(
    ("payload", "spec"),
    [
        ("single", "single"),
        ("action=single", "action=single"),
        ("*", "*"),
        ({"action": "single"}, '{"action":"single"}'),
        ({"pressed": True, "count": 2}, '{"pressed":true,"count":2}'),
    ],
)
def test_button_payload_spec_is_what_the_bridge_parses(
    payload: str | dict[str, str | int | bool], spec: str
) -> None:
    assert MqttButton(topic="zigbee2mqtt/+/action", payload=payload).payload_spec == spec


def test_settings_without_devices_has_no_profile_to_give() -> None:
    with pytest.raises(ConfigError, match="no generic"):
        Settings().profile_for("x", None)
    assert Settings().known_profile("x", None) is None


def test_device_list_without_a_catch_all_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs a generic entry"):
        Settings(device=[DeviceProfile(name="x", match="X*")])
