"""Run one MQTT bridge until killed (the last-will test kills this process with SIGKILL)."""

from __future__ import annotations

import asyncio
import sys

from mqtt_doubles import running_session

from treadcoach.mqtt.bridge import MqttBridge


async def main(host: str, port: int, device_id: str) -> None:
    bridge = MqttBridge(running_session(), hostname=host, port=port, device_id=device_id)
    await bridge.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
