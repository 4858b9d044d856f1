"""treadcoach.mqtt: the aiomqtt bridge (state, availability, Home Assistant discovery, commands).

``MqttBridge(session, hostname=..., device_id=...).run()`` is the whole public face; topic names
are in :mod:`treadcoach.mqtt.topics`, the wire formats in :mod:`treadcoach.mqtt.payloads`.
"""

from __future__ import annotations

from treadcoach.mqtt.bridge import BridgedSession, MqttBridge, StatusCallback
from treadcoach.mqtt.connection import BrokerAddress, make_tls_context, parse_broker_url

__all__ = [
    "BridgedSession",
    "BrokerAddress",
    "MqttBridge",
    "StatusCallback",
    "make_tls_context",
    "parse_broker_url",
]
