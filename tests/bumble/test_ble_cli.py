"""``run --ble bumble:TRANSPORT`` and ``sim --ble TRANSPORT``: the user's path, over real HCI.

Two virtual controllers on one in-process radio, each behind bumble's HCI-over-TCP transport on
a loopback port: the central (``ble_backends``) and the simulated treadmill (``serving``) open
them by transport spec exactly as they would open ``usb:0``. Real sockets, so real time (a few
hundred milliseconds of advertising, connecting and ATT). The USB dongle path is ``hardware``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("bumble")

from bleak import BleakClient, BleakScanner
from bumble.transport import open_transport

import sim
from sim.bumble_peripheral import serving
from sim.errors import SimConfigError
from sim.standalone import StandaloneOptions, run_standalone
from treadcoach.clock import run
from treadcoach.errors import BluetoothUnavailable, ConfigError
from treadcoach.ftms import uuids
from treadcoach.link import TreadmillLink
from treadcoach.link.bumble import AirController, ConnectionEventLink
from treadcoach.link.bumble.cli import ble_backends, parse_ble


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def hci_over_tcp(air: ConnectionEventLink, address: str) -> AsyncIterator[str]:
    """A virtual controller on ``air`` behind an HCI TCP server; yields the host's spec."""
    port = _free_port()
    transport = await open_transport(f"tcp-server:127.0.0.1:{port}")
    try:
        AirController(
            address,
            host_source=transport.source,
            host_sink=transport.sink,
            link=air,
            public_address=address,
        )
        yield f"tcp-client:127.0.0.1:{port}"
    finally:
        await transport.close()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("usb:0", "expected bumble:TRANSPORT"),
        ("bumble:carrier-pigeon:1", "unknown bumble transport 'carrier-pigeon'"),
        ("bluez:hci0", "expected bumble:TRANSPORT"),
    ],
)
def test_a_bad_ble_option_is_one_line_naming_the_problem(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        parse_ble(value)
    assert "\n" not in str(caught.value)


def test_parse_ble_takes_bumble_transports() -> None:
    assert parse_ble("bumble:usb:0") == "usb:0"
    assert parse_ble("bumble:serial:/dev/ttyACM0,1000000") == "serial:/dev/ttyACM0,1000000"
    assert parse_ble("usb:0", prefixed=False) == "usb:0"


def test_run_ble_drives_a_treadmill_served_by_sim_ble_over_hci_transports(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)
        async with (
            hci_over_tcp(air, "F0:0D:00:00:0C:01") as treadmill_side,
            hci_over_tcp(air, "C0:7C:00:00:0C:02") as central_side,
            sim.SimTreadmill(name="Garage", address="F0:0D:00:00:0C:01") as treadmill,
            serving(treadmill, treadmill_side),
        ):
            client, scanner = ble_backends("bumble:" + central_side)
            async with TreadmillLink(
                "Garage", client_backend=client, scanner_backend=scanner
            ) as link:
                assert link.address == treadmill.address
                await link.start()
                await link.set_speed(3.0)
                await asyncio.sleep(1.0)
                assert treadmill.belt_speed_kmh > 0
                await link.stop()
            assert treadmill.target_speed_kmh == 0.0

    run(scenario())  # real time: sockets
    # and the controller opened on first use was closed with the loop, cleanly
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_sim_ble_refuses_a_scaled_clock() -> None:
    options = StandaloneOptions(ble="tcp-client:127.0.0.1:9", duration_s=1.0)
    with pytest.raises(SimConfigError, match="real time"):
        run(run_standalone(options, lambda line: None), speedup=10)


@pytest.mark.hardware
def test_a_usb_dongle_scans_through_the_bumble_backend() -> None:
    # needs a dongle the user may open (docs/bluetooth.md); TREADCOACH_BLE overrides usb:0
    spec = os.environ.get("TREADCOACH_BLE", "bumble:usb:0")

    async def scenario() -> None:
        _, scanner = ble_backends(spec)
        found = await BleakScanner.discover(
            timeout=5.0, backend=scanner, service_uuids=[uuids.FTMS_SERVICE_UUID]
        )
        print(f"{len(found)} FTMS device(s): {[d.name for d in found]}")

    run(scenario())


def test_a_controller_that_goes_away_calls_the_disconnect_callback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the dongle unplugged: the HCI transport ends under a live connection
    async def scenario() -> None:
        air = ConnectionEventLink(0.0)
        port = _free_port()
        controller_side = await open_transport(f"tcp-server:127.0.0.1:{port}")
        AirController(
            "central",
            host_source=controller_side.source,
            host_sink=controller_side.sink,
            link=air,
            public_address="C0:7C:00:00:0C:03",
        )
        try:
            async with (
                hci_over_tcp(air, "F0:0D:00:00:0C:04") as treadmill_side,
                sim.SimTreadmill(address="F0:0D:00:00:0C:04") as treadmill,
                serving(treadmill, treadmill_side),
            ):
                client_backend, scanner = ble_backends(f"bumble:tcp-client:127.0.0.1:{port}")
                device = await BleakScanner.find_device_by_address(
                    treadmill.address, timeout=5, backend=scanner
                )
                assert device is not None
                gone = asyncio.Event()
                client = BleakClient(
                    device, disconnected_callback=lambda _c: gone.set(), backend=client_backend
                )
                await client.connect()
                controller_side.sink.transport.close()  # the "USB" connection ends
                await asyncio.wait_for(gone.wait(), 5)
                assert not client.is_connected
        finally:
            await controller_side.close()

    run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("ble", ["bumble:air", "bumble:air:50"])
def test_run_sim_over_bumble_ends_a_dropped_session_with_the_belt_stopped(
    ble: str, tmp_path: Path
) -> None:
    # the console script, with the simulator behind bumble's GATT server on the in-process
    # radio: how the fault matrix runs over real ATT (``--ble bumble:air:MS``)
    env = dict(os.environ)
    env.update(
        TREADCOACH_DATA_DIR=str(tmp_path / "data"),
        TREADCOACH_LOG=str(tmp_path / "treadcoach.log"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "treadcoach",
            "run",
            "--sim",
            "--ble",
            ble,
            "--headless",
            "--json",
            "--speedup",
            "inf",
            "--no-history",
            "--plan",
            "backward-walk-starter",
            "--sim-fault",
            "disconnect@350",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1, done.stderr
    assert events[0]["event"] == "connected"
    assert [e["kind"] for e in events if e["event"] == "fault"] == ["disconnect"]
    assert [e["reason"] for e in events if e["event"] == "stop"] == ["disconnect"]
    assert events[-1]["event"] == "summary"
    assert events[-1]["completed"] is False


def test_a_bad_air_interval_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"0 or 7\.5 to 4000 ms"):
        parse_ble("bumble:air:3")


def test_a_controller_that_cannot_be_opened_is_one_line_naming_it() -> None:
    async def scenario() -> None:
        _, scanner = ble_backends("bumble:serial:/nonexistent/ttyBLE")
        with pytest.raises(BluetoothUnavailable) as caught:
            await BleakScanner.discover(timeout=1, backend=scanner)
        assert "'serial:/nonexistent/ttyBLE'" in str(caught.value)
        assert "docs/bluetooth.md" in str(caught.value)
        assert "\n" not in str(caught.value)
        async with sim.SimTreadmill() as treadmill:
            with pytest.raises(SimConfigError, match="cannot open the Bluetooth controller"):
                async with serving(treadmill, "serial:/nonexistent/ttyBLE"):
                    pass

    run(scenario())
