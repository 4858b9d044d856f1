"""MQTT buttons: any (topic, payload) pair the user names becomes a stop input.

The configured payload is matched against each message on the topic, in this order:

* ``*`` -- any message on the topic (only for topics that carry nothing but presses);
* the exact text, after stripping surrounding whitespace (``single`` on ``zigbee2mqtt/btn/action``);
* ``key=value`` -- the message is a JSON object whose ``key`` is ``value`` (``action=single``
  matches zigbee2mqtt's ``{"action": "single", "battery": 97, ...}``); numbers and booleans are
  compared by their JSON text (``pressed=true``);
* a JSON object -- the message is a JSON object containing every key of it with an equal value
  (``{"action": "single"}``, a subset match).

The topic may use MQTT wildcards (``zigbee2mqtt/+/action``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import aiomqtt

from treadcoach.errors import MqttBridgeError

__all__ = ["ANY_PAYLOAD", "ButtonTrigger"]

ANY_PAYLOAD = "*"
_KEY_VALUE = re.compile(r"([A-Za-z0-9_.-]+)=(.*)", re.DOTALL)
# Zigbee payloads are a few hundred bytes; don't JSON-decode anything much bigger.
_MAX_JSON_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class ButtonTrigger:
    topic: str
    payload: str
    # Derived from ``payload`` once, so matching a message does no parsing of the spec.
    _subset: dict[str, Any] | None = None

    @classmethod
    def parse(cls, topic: str, payload: str) -> ButtonTrigger:
        """Validate one configured button; raise MqttBridgeError naming the problem."""
        try:
            aiomqtt.Wildcard(topic)
        except (ValueError, TypeError):
            raise MqttBridgeError(
                f"MQTT button topic {topic!r} is not a valid MQTT topic or wildcard."
            ) from None
        spec = payload.strip()
        if not spec:
            raise MqttBridgeError(
                f"MQTT button on {topic!r} has an empty payload: give the exact payload, "
                f"'key=value', a JSON object, or '{ANY_PAYLOAD}' for any message."
            )
        subset: dict[str, Any] | None = None
        if spec.startswith("{"):
            try:
                loaded = json.loads(spec)
            except ValueError as exc:
                raise MqttBridgeError(
                    f"MQTT button payload {spec!r} on {topic!r} starts like JSON but is not: {exc}."
                ) from None
            if not isinstance(loaded, dict) or not loaded:
                raise MqttBridgeError(
                    f"MQTT button payload {spec!r} on {topic!r} must be a non-empty JSON object."
                )
            subset = loaded
        elif match := _KEY_VALUE.fullmatch(spec):
            subset = {match.group(1): match.group(2)}
        return cls(topic=topic, payload=spec, _subset=subset)

    @property
    def is_key_value(self) -> bool:
        return self._subset is not None and not self.payload.startswith("{")

    def matches(self, topic: aiomqtt.Topic, payload: bytes) -> bool:
        if not topic.matches(self.topic):
            return False
        if self.payload == ANY_PAYLOAD:
            return True
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            return False
        if text == self.payload:
            return True
        if self._subset is None or not text.startswith("{") or len(payload) > _MAX_JSON_BYTES:
            return False
        try:
            message = json.loads(text)
        except ValueError:
            return False
        if not isinstance(message, dict):
            return False
        if self.is_key_value:
            ((key, wanted),) = self._subset.items()
            if key not in message:
                return False
            value = message[key]
            return bool((value if isinstance(value, str) else json.dumps(value)) == wanted)
        return all(key in message and _same(message[key], v) for key, v in self._subset.items())


def _same(a: object, b: object) -> bool:
    # JSON equality: true is not 1, but 1 is 1.0.
    return a == b and isinstance(a, bool) == isinstance(b, bool)
