"""Command grammar, state JSON, button matching, discovery configs and broker URLs (no broker)."""

from __future__ import annotations

import json
import re
import ssl

import aiomqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import SegmentView, SessionState
from treadcoach.errors import MqttBridgeError
from treadcoach.mqtt.buttons import ButtonTrigger
from treadcoach.mqtt.connection import BrokerAddress, make_tls_context, parse_broker_url
from treadcoach.mqtt.discovery import discovery_configs
from treadcoach.mqtt.payloads import Command, CommandName, StatePayload, parse_command
from treadcoach.safety.reasons import StopReason

# --- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "command", "kmh"),
    [
        (b"stop", "stop", None),
        (b"  STOP\n", "stop", None),
        (b"pause", "pause", None),
        (b"Resume", "resume", None),
        (b"speed 4.5", "speed", 4.5),
        (b"speed   3", "speed", 3.0),
        (b"speed 0", "speed", 0.0),
        (b'{"command": "stop"}', "stop", None),
        (b'{"command":"speed","kmh":4.0}', "speed", 4.0),
        (b' {"command": "pause"} ', "pause", None),
    ],
)
def test_commands_in_text_and_json(payload: bytes, command: str, kmh: float | None) -> None:
    assert parse_command(payload) == Command(command=CommandName(command), kmh=kmh)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"halt",
        b"stop please",
        b"speed",
        b"speed fast",
        b"speed nan",
        b"speed -inf",
        b"speed -0.5",
        b"speed 31",
        b'{"command": "speed", "kmh": "NaN"}',
        b'{"command": "pause", "extra": 1}',  # only stop is lenient about extra keys
        b'{"command": "resume", "kmh": 3}',
        b'{"command": ["stop"]}',
        b'{"cmd": "stop"}',
        pytest.param(b'{"command": "stop"' + b" " * 5000 + b"}", id="json-over-4k"),
        pytest.param(b'{"a":' * 3000 + b"1" + b"}" * 3000, id="json-nested-3000-deep"),
        b'"stop"',
        b"\xc3\x28",
        b"stop" + b" " * 300,
    ],
)
def test_non_commands_raise_value_error(payload: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- ValueError is the whole contract here
        parse_command(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"command": "STOP"}',
        b'{"command": "Stop", "source": "home assistant"}',
        b'{"source": "button", "command": "sToP", "battery": 97}',
        b'{"command": "stop", "kmh": 3}',
        b'{"command": "stop", "kmh": "fast", "extra": {"nested": [1, 2, null]}}',
        b'{"command": " stop\\n"}',
        pytest.param(b'{"command": "stop", "note": "' + b"x" * 1000 + b'"}', id="over-256-bytes"),
        b'{"command": "stop", "command": "speed"}',  # a duplicate key cannot hide a stop
        b'{"command": "resume", "command": "STOP"}',
    ],
)
def test_any_json_object_whose_command_is_stop_stops(payload: bytes) -> None:
    assert parse_command(payload) == Command(command=CommandName.STOP, kmh=None)


@pytest.mark.parametrize(
    "payload",
    [
        b"stop dizzy",
        b"  STOP   Dizzy\n",
        b'{"command": "stop", "reason": "dizzy"}',
        b'{"command": " Stop", "reason": "DIZZY ", "source": "home assistant"}',
        b'{"reason": "other", "command": "stop", "reason": "dizzy"}',  # any reason saying dizzy
    ],
)
def test_stop_dizzy_in_text_and_json_is_the_dizzy_stop(payload: bytes) -> None:
    command = parse_command(payload)
    assert command == Command(command=CommandName.STOP, kmh=None, dizzy=True)
    assert command.stop_reason is StopReason.DIZZY


@pytest.mark.parametrize(
    "payload",
    [
        b"stop",
        b'{"command": "stop", "reason": "tired"}',
        b'{"command": "stop", "reason": ["dizzy"]}',
        b'{"command": "stop", "dizzy": true}',
    ],
)
def test_any_other_stop_is_the_ordinary_remote_stop(payload: bytes) -> None:
    command = parse_command(payload)
    assert command == Command(command=CommandName.STOP, kmh=None)
    assert command.stop_reason is StopReason.MQTT


@pytest.mark.parametrize(
    "payload",
    [b"pause dizzy", b"stop dizzy now", b'{"command": "pause", "reason": "dizzy"}', b"dizzy"],
)
def test_only_a_stop_can_be_dizzy(payload: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- ValueError is the whole contract here
        parse_command(payload)


def test_home_assistant_has_a_dizzy_stop_button_that_needs_no_remote_control() -> None:
    (config,) = [c for c in discovery_configs("d") if c.unique_id.endswith("_stop_dizzy")]
    assert config.component == "button"
    assert config.config is not None
    assert parse_command(config.config["payload_press"].encode()).dizzy


@pytest.mark.parametrize(
    ("payload", "command", "kmh"),
    [
        (b'{"command": "PAUSE"}', "pause", None),
        (b'{"command": "Speed", "kmh": 4.5}', "speed", 4.5),
    ],
)
def test_json_command_names_ignore_case(payload: bytes, command: str, kmh: float | None) -> None:
    assert parse_command(payload) == Command(command=CommandName(command), kmh=kmh)


@given(st.binary(max_size=300))
def test_any_payload_parses_or_raises_value_error(payload: bytes) -> None:
    try:
        command = parse_command(payload)
    except ValueError:
        return
    assert command.command in set(CommandName)


@given(st.floats(min_value=0, max_value=30, allow_nan=False))
def test_speed_text_round_trips(kmh: float) -> None:
    assert parse_command(f"speed {kmh!r}".encode()).kmh == kmh


def test_only_resume_and_speed_need_remote_control() -> None:
    assert {c for c in CommandName if c.needs_remote_control} == {
        CommandName.RESUME,
        CommandName.SPEED,
    }


# --- state JSON ---------------------------------------------------------------------------------


def test_state_of_a_distance_segment_reports_metres_left() -> None:
    state = SessionState(
        segment=SegmentView(
            index=5, kind=SegmentKind.RETRO_RUN, target_kmh=4.8, duration_s=None, distance_m=50
        ),
        remaining=31.27,
        remaining_unit="m",
    )
    payload = StatePayload.from_state(state)
    assert (payload.remaining_m, payload.remaining_s) == (31.3, None)
    assert payload.segment_kind is SegmentKind.RETRO_RUN


def test_state_before_the_plan_starts_is_not_running() -> None:
    payload = json.loads(StatePayload.from_state(SessionState()).model_dump_json())
    assert payload["phase"] == "connecting"
    assert payload["running"] is False
    assert payload["segment_kind"] is None


def test_every_discovery_template_reads_a_field_of_the_state_json() -> None:
    fields = set(StatePayload.model_fields)
    for config in discovery_configs("dev1"):
        template = (config.config or {}).get("value_template", "")
        for used in re.findall(r"value_json\.(\w+)", template):
            assert used in fields, (config.unique_id, used)


# --- Home Assistant discovery -------------------------------------------------------------------


def test_discovery_ids_follow_home_assistant_rules() -> None:
    configs = [c for c in discovery_configs("Tread-Mill_1", "homeassistant") if c.config]
    unique_ids = [c.unique_id for c in configs]
    assert len(set(unique_ids)) == len(unique_ids)
    for config in configs:
        assert config.config is not None
        assert re.fullmatch(r"[a-zA-Z0-9_-]+", config.unique_id)
        assert re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", config.config["default_entity_id"])
        assert (
            config.config["default_entity_id"] == f"{config.component}.{config.config['object_id']}"
        )
        assert config.topic == f"homeassistant/{config.component}/{config.unique_id}/config"
        json.loads(config.payload)


def test_entity_ids_read_naturally_for_the_default_device_id() -> None:
    ids = {c.config["default_entity_id"] for c in discovery_configs("treadcoach") if c.config}
    assert {"sensor.treadcoach_speed", "button.treadcoach_stop"} <= ids
    ids = {c.config["default_entity_id"] for c in discovery_configs("Garage-1") if c.config}
    assert "binary_sensor.treadcoach_garage_1_running" in ids


def test_resume_button_only_exists_with_remote_control() -> None:
    def resume(remote: bool) -> str:
        (config,) = [
            c
            for c in discovery_configs("d", remote_control=remote)
            if c.unique_id.endswith("_resume")
        ]
        return config.payload

    assert resume(False) == ""  # an empty retained config removes the entity in HA
    assert json.loads(resume(True))["payload_press"] == "resume"


@pytest.mark.parametrize("device_id", ["", "a/b", "a+b", "a#", "tread mill", "x" * 65, "ü"])
def test_device_ids_that_break_topics_or_ha_ids_are_refused(device_id: str) -> None:
    with pytest.raises(MqttBridgeError, match="device id"):
        discovery_configs(device_id)


@pytest.mark.parametrize("prefix", ["", "/ha", "ha/", "ha/#", "h+a"])
def test_bad_discovery_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(MqttBridgeError, match="prefix"):
        discovery_configs("dev", prefix)


# --- MQTT buttons -------------------------------------------------------------------------------

Z2M_SINGLE = b'{"action":"single","battery":100,"linkquality":87,"voltage":3025}'


@pytest.mark.parametrize(
    ("button_topic", "spec", "topic", "payload", "matches"),
    [
        ("z2m/btn", "action=single", "z2m/btn", Z2M_SINGLE, True),
        ("z2m/btn", "action=single", "z2m/btn", b'{"action":"double"}', False),
        ("z2m/btn", "action=single", "z2m/btn", b'{"battery":100}', False),
        ("z2m/btn", "action=single", "z2m/btn", b"single", False),
        ("z2m/btn", "action=single", "z2m/btn", b"action=single", True),  # exact text counts too
        ("z2m/btn", '{"action": "single"}', "z2m/btn", Z2M_SINGLE, True),
        ("z2m/btn", '{"action": "single", "battery": 99}', "z2m/btn", Z2M_SINGLE, False),
        ("b", "pressed=true", "b", b'{"pressed": true}', True),
        ("b", '{"pressed": 1}', "b", b'{"pressed": true}', False),  # JSON true is not 1
        ("z2m/btn/action", "single", "z2m/btn/action", b"single", True),
        ("z2m/btn/action", "single", "z2m/btn/action", b" single\n", True),
        ("z2m/btn/action", "single", "z2m/btn/action", b"Single", False),
        ("z2m/btn/action", "*", "z2m/btn/action", b"anything", True),
        ("z2m/+", "action=single", "z2m/btn", Z2M_SINGLE, True),
        ("z2m/btn", "action=single", "other/btn", Z2M_SINGLE, False),
        ("z2m/btn", "action=single", "z2m/btn", b"\xff{", False),
        ("z2m/btn", "action=single", "z2m/btn", b"[1]", False),
    ],
)
def test_button_payload_matching(
    button_topic: str, spec: str, topic: str, payload: bytes, matches: bool
) -> None:
    trigger = ButtonTrigger.parse(button_topic, spec)
    assert trigger.matches(aiomqtt.Topic(topic), payload) is matches


@pytest.mark.parametrize(
    ("topic", "spec"),
    [
        ("z2m/#/x", "single"),
        ("", "single"),
        ("z2m/btn", ""),
        ("z2m/btn", "{nope"),
        ("z2m/btn", "{}"),
    ],
)
def test_bad_button_settings_are_refused(topic: str, spec: str) -> None:
    with pytest.raises(MqttBridgeError):
        ButtonTrigger.parse(topic, spec)


@given(st.binary(max_size=200))
def test_button_matching_never_raises(payload: bytes) -> None:
    for spec in ("action=single", '{"action": "single"}', "single", "*"):
        ButtonTrigger.parse("z2m/btn", spec).matches(aiomqtt.Topic("z2m/btn"), payload)


# --- broker URL and TLS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtt://localhost", BrokerAddress("localhost", 1883, tls=False)),
        ("mqtt://ha.local:1884", BrokerAddress("ha.local", 1884, tls=False)),
        ("mqtts://broker.example", BrokerAddress("broker.example", 8883, tls=True)),
        (
            "mqtt://coach:p%40ss@192.168.1.5",
            BrokerAddress("192.168.1.5", 1883, tls=False, username="coach", password="p@ss"),
        ),
        ("mqtt://[::1]:1999/", BrokerAddress("::1", 1999, tls=False)),
    ],
)
def test_broker_urls(url: str, address: BrokerAddress) -> None:
    assert parse_broker_url(url) == address


@pytest.mark.parametrize(
    "url",
    ["localhost", "http://ha.local", "mqtt://", "mqtt://h:99999", "mqtt://h/topic", "mqtt://h?x=1"],
)
def test_bad_broker_urls_are_refused(url: str) -> None:
    with pytest.raises(MqttBridgeError, match="MQTT broker URL"):
        parse_broker_url(url)


def test_broker_address_never_prints_the_password() -> None:
    address = parse_broker_url("mqtts://coach:hunter2@ha.local")
    assert "hunter2" not in str(address)
    assert str(address) == "mqtts://coach@ha.local:8883"


def test_tls_context_verifies_unless_insecure() -> None:
    assert make_tls_context().verify_mode is ssl.CERT_REQUIRED
    insecure = make_tls_context(insecure=True)
    assert (insecure.verify_mode, insecure.check_hostname) == (ssl.CERT_NONE, False)


def test_unreadable_ca_file_is_a_clear_error() -> None:
    with pytest.raises(MqttBridgeError, match="CA certificate"):
        make_tls_context("/nonexistent/ca.pem")
