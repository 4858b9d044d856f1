"""Hands-free and terminal stop inputs reach the one stop path of a real session.

The pedal is a FIFO standing in for /dev/input/eventN, fed raw ``struct input_event`` records;
the session is the real Session (controller, link over bleak, simulator). The headless stop key
is a real ``treadcoach run --headless`` on a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import pty
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from treadcoach import clock
from treadcoach.coach.library import find_plan
from treadcoach.config import load_settings
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions

EV_SYN, EV_KEY, KEY_B = 0, 1, 48
EVENT = struct.Struct("llHHi")


def _press(code: int) -> bytes:
    now = int(time.time())
    return (
        EVENT.pack(now, 0, EV_KEY, code, 1)
        + EVENT.pack(now, 0, EV_SYN, 0, 0)
        + EVENT.pack(now, 1000, EV_KEY, code, 0)
        + EVENT.pack(now, 1000, EV_SYN, 0, 0)
    )


def _config(tmp_path: Path, pedal: Path, action: str = "stop") -> Path:
    config = tmp_path / "devices.toml"
    config.write_text(
        f'[inputs]\npedal_device = "{pedal}"\npedal_key = "KEY_B"\npedal_action = "{action}"\n'
    )
    return config


@pytest.mark.timeout(60)
def test_foot_pedal_press_stops_the_simulated_belt(tmp_path: Path) -> None:
    pedal = tmp_path / "event7"
    os.mkfifo(pedal)
    settings = load_settings(_config(tmp_path, pedal))
    session = Session(
        SessionOptions(plan=find_plan("backward-walk-starter"), sim=True, record=False),
        settings,
    )
    reasons: list[StopReason] = []
    session.add_listener(lambda e: reasons.append(e.reason) if e.event == "stop" else None)

    async def scenario() -> float:
        # O_RDWR keeps the FIFO open without blocking for a reader (the pedal reader opens it).
        writer = os.open(pedal, os.O_RDWR | os.O_NONBLOCK)
        try:
            run = asyncio.get_running_loop().create_task(session.run())
            await asyncio.sleep(60)  # the belt is up and walking
            assert session.treadmill is not None
            assert session.treadmill.target_speed_kmh > 0
            os.write(writer, _press(KEY_B))
            await run
            return session.treadmill.target_speed_kmh
        finally:
            os.close(writer)

    target = clock.run(scenario(), speedup=math.inf)
    assert reasons == [StopReason.PEDAL]
    assert target == 0.0


@pytest.mark.timeout(60)
def test_headless_stop_key_on_a_terminal_stops_the_session(tmp_path: Path) -> None:
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "treadcoach", "run", "--sim", "--headless", "--json",
            "--plan", "backward-walk-starter", "--speedup", "20", "--no-history",
        ],
        stdin=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
    )  # fmt: skip
    os.close(child)
    try:
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            if json.loads(line)["event"] == "telemetry":
                seen += 1
            if seen >= 5:
                break
        os.write(main, b" ")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    events = [json.loads(line) for line in out.splitlines()]
    stops = [e for e in events if e["event"] == "stop"]
    assert [s["reason"] for s in stops] == ["key"]
    assert proc.returncode == 1
    assert b"Traceback" not in err


@pytest.mark.timeout(60)
def test_mqtt_stop_through_run_mqtt_url_stops_the_session_and_speed_is_refused() -> None:
    import paho.mqtt.publish as publish
    import paho.mqtt.subscribe as subscribe

    from treadcoach.mqtt.localbroker import LocalMosquitto

    with LocalMosquitto() as broker:  # entering starts it
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "treadcoach", "run", "--sim", "--headless", "--json",
                "--plan", "backward-walk-starter", "--speedup", "10", "--no-history",
                "--mqtt", f"mqtt://{broker.host}:{broker.port}",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            # the bridge says "online" (retained) once it is connected and subscribed
            online = subscribe.simple(
                "treadcoach/treadcoach/availability", hostname=broker.host, port=broker.port
            )
            assert online.payload == b"online"
            seen = 0
            for line in proc.stdout:
                if json.loads(line)["event"] == "telemetry":
                    seen += 1
                if seen >= 5:
                    break
            topic = "treadcoach/treadcoach/command"
            publish.single(topic, "speed 12", hostname=broker.host, port=broker.port)
            publish.single(topic, "stop", hostname=broker.host, port=broker.port)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    events = [json.loads(line) for line in out.splitlines()]
    stops = [e for e in events if e["event"] == "stop"]
    assert [s["reason"] for s in stops] == ["mqtt"]
    # the refused 'speed 12' never reached the belt: no telemetry above the warm-up's target
    assert max(e["speed_kmh"] for e in events if e["event"] == "telemetry") <= 4.9
    assert proc.returncode == 1
    assert b"Traceback" not in err
