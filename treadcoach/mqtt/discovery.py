"""Home Assistant MQTT discovery: the configs that make a session appear with zero YAML.

One retained config per entity (per-entity discovery works on every HA version and on openHAB;
HA's newer device-based discovery would need 2024.11+). Every entity carries a ``unique_id``
derived from the device id (so HA keeps it in its registry), the same ``device`` block (so they
group under one device), the ``origin`` block, and the bridge's availability topic. The entity id
hint is sent both ways: ``default_entity_id`` (HA >= 2025.10) and the deprecated ``object_id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from treadcoach import __version__
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import Phase
from treadcoach.mqtt import topics

__all__ = ["DiscoveryConfig", "discovery_configs"]

MANUFACTURER = "treadcoach"
MODEL = "FTMS treadmill coach"


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    component: str  # sensor | binary_sensor | button
    unique_id: str
    topic: str
    config: dict[str, Any] | None  # None: publish an empty retained payload (removes the entity)

    @property
    def payload(self) -> str:
        return "" if self.config is None else json.dumps(self.config, separators=(",", ":"))


def _value(field: str) -> str:
    return "{{ value_json.%s }}" % field  # noqa: UP031 -- Jinja braces make f-strings unreadable


_SENSORS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    # key, name, component-specific config
    (
        "speed",
        "Speed",
        {
            "device_class": "speed",
            "unit_of_measurement": "km/h",
            "state_class": "measurement",
            "suggested_display_precision": 1,
            "value_template": _value("speed_kmh"),
        },
    ),
    (
        "target_speed",
        "Target speed",
        {
            "device_class": "speed",
            "unit_of_measurement": "km/h",
            "state_class": "measurement",
            "suggested_display_precision": 1,
            "value_template": _value("target_kmh"),
        },
    ),
    (
        "distance",
        "Distance",
        {
            "device_class": "distance",
            "unit_of_measurement": "m",
            "state_class": "total_increasing",
            "suggested_display_precision": 0,
            "value_template": _value("distance_m"),
        },
    ),
    (
        "segment",
        "Segment",
        {
            "device_class": "enum",
            "options": [kind.value for kind in SegmentKind],
            "icon": "mdi:shoe-print",
            "value_template": _value("segment_kind"),
        },
    ),
    (
        "remaining_time",
        "Segment time left",
        {
            "device_class": "duration",
            "unit_of_measurement": "s",
            "suggested_display_precision": 0,
            "value_template": _value("remaining_s"),
        },
    ),
    (
        "remaining_distance",
        "Segment distance left",
        {
            "device_class": "distance",
            "unit_of_measurement": "m",
            "suggested_display_precision": 0,
            "value_template": _value("remaining_m"),
        },
    ),
    (
        "turnaround_countdown",
        "Turnaround countdown",
        {
            "device_class": "duration",
            "unit_of_measurement": "s",
            "value_template": _value("countdown_s"),
        },
    ),
    (
        "heart_rate",
        "Heart rate",
        {
            "unit_of_measurement": "bpm",
            "state_class": "measurement",
            "icon": "mdi:heart-pulse",
            "value_template": _value("heart_rate_bpm"),
        },
    ),
    (
        "elapsed",
        "Elapsed",
        {
            "device_class": "duration",
            "unit_of_measurement": "s",
            "suggested_display_precision": 0,
            "value_template": _value("elapsed_s"),
        },
    ),
    (
        "phase",
        "Phase",
        {
            "device_class": "enum",
            "options": [phase.value for phase in Phase],
            "icon": "mdi:state-machine",
            "value_template": _value("phase"),
        },
    ),
    (
        "stop_reason",
        "Stop reason",
        {"icon": "mdi:hand-back-left", "value_template": _value("stop_reason")},
    ),
)

_RUNNING = {
    "device_class": "running",
    "value_template": "{{ 'ON' if value_json.running else 'OFF' }}",
}

# key, name, payload, icon, needs remote control
_BUTTONS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("stop", "Stop belt", "stop", "mdi:stop-circle-outline", False),
    # the dizzy stop: the same stop, recorded as dizzy (a step back for the progression)
    ("stop_dizzy", "Stop belt: dizzy", "stop dizzy", "mdi:emoticon-dizzy-outline", False),
    ("pause", "Pause belt", "pause", "mdi:pause-circle-outline", False),
    ("resume", "Resume belt", "resume", "mdi:play-circle-outline", True),
)


def discovery_configs(
    device_id: str, prefix: str = "homeassistant", *, remote_control: bool = False
) -> list[DiscoveryConfig]:
    """Every discovery config for one bridge, ready to publish retained.

    The resume button exists only with remote control on; otherwise its config is an empty payload,
    which removes an entity left over from a session that had remote control enabled.
    """
    device_id = topics.check_device_id(device_id)
    prefix = topics.check_discovery_prefix(prefix)
    slug = device_id.lower().replace("-", "_")
    # Entity ids read sensor.treadcoach_speed for the default device id, else
    # sensor.treadcoach_<device_id>_speed.
    entity_stem = slug if slug.startswith("treadcoach") else f"treadcoach_{slug}"
    common: dict[str, Any] = {
        "availability_topic": topics.availability_topic(device_id),
        "payload_available": topics.AVAILABLE,
        "payload_not_available": topics.NOT_AVAILABLE,
        "device": {
            "identifiers": [f"treadcoach_{device_id}"],
            "name": "Treadcoach" if device_id == "treadcoach" else f"Treadcoach {device_id}",
            "manufacturer": MANUFACTURER,
            "model": MODEL,
            "sw_version": __version__,
        },
        "origin": {"name": "treadcoach", "sw_version": __version__},
    }

    def make(component: str, key: str, name: str, extra: dict[str, Any]) -> DiscoveryConfig:
        unique_id = f"treadcoach_{device_id}_{key}"
        object_id = f"{entity_stem}_{key}"
        config = {
            "name": name,
            "unique_id": unique_id,
            "object_id": object_id,
            "default_entity_id": f"{component}.{object_id}",
            **common,
            **extra,
        }
        return DiscoveryConfig(
            component,
            unique_id,
            topics.discovery_config_topic(prefix, component, unique_id),
            config,
        )

    state = {"state_topic": topics.state_topic(device_id)}
    configs = [make("sensor", key, name, {**state, **extra}) for key, name, extra in _SENSORS]
    configs.append(make("binary_sensor", "running", "Running", {**state, **_RUNNING}))
    for key, name, payload, icon, needs_remote in _BUTTONS:
        button = make(
            "button",
            key,
            name,
            {
                "command_topic": topics.command_topic(device_id),
                "payload_press": payload,
                "qos": 1,
                "retain": False,
                "icon": icon,
            },
        )
        if needs_remote and not remote_control:
            button = DiscoveryConfig(button.component, button.unique_id, button.topic, None)
        configs.append(button)
    return configs
