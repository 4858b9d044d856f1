"""Every MQTT topic treadcoach uses, in one place (the ``treadcoach/<device_id>/...`` names are a contract).

``treadcoach/<device_id>/state``           session state JSON, published ~1 Hz and on segment change/stop
``treadcoach/<device_id>/availability``    ``online`` / ``offline`` (retained; ``offline`` is the last will)
``treadcoach/<device_id>/command``         ``stop``, ``pause``; ``resume``, ``speed <kmh>`` if enabled
``treadcoach/<device_id>/command/result``  JSON answer to each command (accepted or refused, and why)
``<prefix>/<component>/<unique_id>/config`` Home Assistant discovery, one per entity (retained)
``<prefix>/status``                         Home Assistant's birth/last will: ``online`` means "resend"
"""

from __future__ import annotations

import re

from treadcoach.errors import MqttBridgeError

__all__ = [
    "AVAILABLE",
    "NOT_AVAILABLE",
    "ROOT",
    "availability_topic",
    "check_device_id",
    "check_discovery_prefix",
    "command_result_topic",
    "command_topic",
    "discovery_config_topic",
    "ha_status_topic",
    "state_topic",
]

ROOT = "treadcoach"
AVAILABLE = "online"
NOT_AVAILABLE = "offline"

# Home Assistant accepts only these characters in discovery ids, and MQTT topic levels must not
# contain '/', '+' or '#': one strict rule for the device id keeps both sides valid.
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")


def check_device_id(device_id: str) -> str:
    """Return ``device_id`` if it is usable in topics and discovery ids, else raise MqttBridgeError."""
    if not _DEVICE_ID.fullmatch(device_id):
        raise MqttBridgeError(
            f"MQTT device id {device_id!r} is not usable: use 1-64 letters, digits, '_' or '-' "
            "(it becomes part of topic names and Home Assistant ids)."
        )
    return device_id


def check_discovery_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a plain topic prefix (no wildcards, no empty levels)."""
    if not _PREFIX.fullmatch(prefix):
        raise MqttBridgeError(
            f"Home Assistant discovery prefix {prefix!r} is not a plain topic prefix: "
            "use letters, digits, '_' or '-' separated by '/' (the default is 'homeassistant')."
        )
    return prefix


def _base(device_id: str) -> str:
    return f"{ROOT}/{device_id}"


def state_topic(device_id: str) -> str:
    return f"{_base(device_id)}/state"


def availability_topic(device_id: str) -> str:
    return f"{_base(device_id)}/availability"


def command_topic(device_id: str) -> str:
    return f"{_base(device_id)}/command"


def command_result_topic(device_id: str) -> str:
    return f"{_base(device_id)}/command/result"


def discovery_config_topic(prefix: str, component: str, unique_id: str) -> str:
    # HA docs: with a unique_id, use it as the topic's object id and leave node_id out.
    return f"{prefix}/{component}/{unique_id}/config"


def ha_status_topic(prefix: str) -> str:
    return f"{prefix}/status"
