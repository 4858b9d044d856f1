"""Where the broker is: ``--mqtt URL`` parsing and the TLS context.

URLs: ``mqtt://[user[:password]@]host[:port]`` (plain, port 1883) or ``mqtts://...`` (TLS, port
8883). User and password may be percent-encoded. Bad URLs raise MqttBridgeError naming the problem.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from treadcoach.errors import MqttBridgeError

__all__ = ["BrokerAddress", "make_tls_context", "parse_broker_url"]

_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    hostname: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:  # never shows the password
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.hostname}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MqttBridgeError(f"MQTT broker URL {url!r} is not valid: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise MqttBridgeError(
            f"MQTT broker URL {url!r} must start with mqtt:// or mqtts:// (TLS), "
            "e.g. mqtt://user:password@homeassistant.local:1883."
        )
    if not parts.hostname:
        raise MqttBridgeError(f"MQTT broker URL {url!r} names no host.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise MqttBridgeError(
            f"MQTT broker URL {url!r} has a path or query; treadcoach uses only scheme, user, "
            "password, host and port."
        )
    return BrokerAddress(
        hostname=parts.hostname,
        port=port or _DEFAULT_PORTS[scheme],
        tls=scheme in {"mqtts", "ssl"},
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def make_tls_context(
    ca_file: str | Path | None = None, *, insecure: bool = False
) -> ssl.SSLContext:
    """A client TLS context: system CAs (or ``ca_file``); ``insecure`` skips certificate checks.

    ``insecure`` is for a home broker with a self-signed certificate and no CA file at hand; it
    still encrypts, but anyone on the network can impersonate the broker.
    """
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise MqttBridgeError(
                f"Cannot load the MQTT CA certificate file {str(ca_file)!r}: {exc}."
            ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
