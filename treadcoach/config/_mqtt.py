"""``[mqtt]``: the broker, Home Assistant discovery, remote control, and MQTT stop buttons."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import Field, ValidationInfo, field_validator

from treadcoach.config._base import ConfigModel, quoted

__all__ = ["MqttButton", "MqttSettings"]

# The same schemes the bridge's parse_broker_url takes (tcp:// and ssl:// are aliases).
_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}
_TLS_SCHEMES = ("mqtts", "ssl")
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]+")
_TOPIC_LEVEL_WILDCARDS = ("+", "#")

ButtonPayload = str | dict[str, str | int | float | bool]


class MqttButton(ConfigModel):
    """A message that stops the belt: one ``[[mqtt.buttons]]`` table.

    The MQTT bridge (``treadcoach.mqtt.buttons.ButtonTrigger``) owns the matching; this model only
    checks the entry when the file is loaded. ``payload`` is either a string, which the bridge reads
    as the exact message text (surrounding whitespace ignored), ``"key=value"`` (a JSON message
    whose ``key`` is ``value``) or ``"*"`` (any message on the topic), or a table, which matches a
    JSON object message holding every key of the table with an equal value (other keys ignored):
    zigbee2mqtt publishes ``{"action":"single","battery":97,...}``, so ``payload = { action =
    "single" }`` fits its buttons.
    """

    topic: str = Field(min_length=1, description="MQTT topic; + and # wildcards allowed")
    payload: ButtonPayload

    @field_validator("topic")
    @classmethod
    def _topic_or_wildcard(cls, value: str) -> str:
        levels = value.split("/")
        for position, level in enumerate(levels):
            misplaced_hash = "#" in level and (level != "#" or position != len(levels) - 1)
            if misplaced_hash or ("+" in level and level != "+"):
                raise ValueError(
                    "is not a valid MQTT topic: + must be a whole level and # the whole last "
                    f"level, got {quoted(value)}"
                )
        return value

    @field_validator("payload", mode="before")
    @classmethod
    def _string_or_flat_table(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError('must not be empty (use "*" for any message on the topic)')
            return value
        if isinstance(value, dict):
            if not value:
                raise ValueError("must not be an empty table")
            for key, item in value.items():
                if not isinstance(item, str | int | float | bool):
                    raise ValueError(
                        f"table values must be strings, numbers or booleans ({key} is not)"
                    )
            return value
        raise ValueError('must be a string ("single") or a table ({ action = "single" })')

    @property
    def payload_spec(self) -> str:
        """The payload as the bridge's ``ButtonTrigger.parse(topic, payload)`` takes it."""
        if isinstance(self.payload, str):
            return self.payload
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False)


class MqttSettings(ConfigModel):
    """``[mqtt]``. Without this table (and without ``--mqtt URL``) there is no MQTT bridge."""

    url: str = Field(repr=False, description="mqtt://[user[:password]@]host[:port] or mqtts://")
    device_id: str = "treadcoach"
    discovery_prefix: str = "homeassistant"
    discovery: bool = True
    remote_control: bool = Field(
        default=False,
        description="let the command topic resume and change speed (DESIGN invariant 5)",
    )
    ca_file: Path | None = Field(default=None, strict=False)
    tls_insecure: bool = False
    buttons: tuple[MqttButton, ...] = ()

    @field_validator("url")
    @classmethod
    def _url_parses(cls, value: str) -> str:
        _split_url(value)
        return value

    @field_validator("device_id")
    @classmethod
    def _device_id_is_a_topic_level(cls, value: str) -> str:
        if not _DEVICE_ID.fullmatch(value):
            raise ValueError(
                f"must be letters, digits, '_' or '-' only (it is an MQTT topic level), got {quoted(value)}"
            )
        return value

    @field_validator("discovery_prefix")
    @classmethod
    def _prefix_is_a_topic(cls, value: str) -> str:
        if not value or value.startswith("/") or value.endswith("/"):
            raise ValueError(
                f"must be a topic without leading or trailing '/', got {quoted(value)}"
            )
        if any(wildcard in value for wildcard in _TOPIC_LEVEL_WILDCARDS):
            raise ValueError(f"must not contain the wildcards + or #, got {quoted(value)}")
        return value

    @field_validator("ca_file", "tls_insecure")
    @classmethod
    def _tls_options_need_mqtts(cls, value: object, info: ValidationInfo) -> object:
        url = info.data.get("url")
        if value and url is not None and _split_url(url).scheme not in _TLS_SCHEMES:
            raise ValueError(f"only applies to an mqtts:// url, got {quoted(_masked(url))}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("buttons", mode="before")
    @classmethod
    def _buttons_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @property
    def tls(self) -> bool:
        return _split_url(self.url).scheme in _TLS_SCHEMES

    @property
    def hostname(self) -> str:
        return _split_url(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = _split_url(self.url)
        return parts.port or _DEFAULT_PORTS[parts.scheme]

    @property
    def username(self) -> str | None:
        parts = _split_url(self.url)
        return unquote(parts.username) if parts.username else None

    @property
    def password(self) -> str | None:
        parts = _split_url(self.url)
        return unquote(parts.password) if parts.password is not None else None

    @property
    def display_url(self) -> str:
        """The url with the password masked, for logs and messages."""
        return _masked(self.url)


def _masked(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    return url.replace(f":{password}@", ":***@", 1)


def _split_url(url: str) -> SplitResult:
    """Parse and check a broker url; ValueError says what is wrong in the user's terms."""
    shown = _masked(url)
    form = "mqtt://[user[:password]@]host[:port] or mqtts://..."
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(f"must look like {form}, got {quoted(shown)}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise ValueError(f"must start with mqtt:// or mqtts://, got {quoted(shown)}")
    if not parts.hostname:
        raise ValueError(f"must name a broker host ({form}), got {quoted(shown)}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has a bad port (1-65535), got {quoted(shown)}") from None
    if port == 0:
        raise ValueError(f"has a bad port (1-65535), got {quoted(shown)}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must not have a path, query or fragment ({form}), got {quoted(shown)}")
    if parts.password is not None and not parts.username:
        raise ValueError(f"has a password but no user name, got {quoted(shown)}")
    return parts
