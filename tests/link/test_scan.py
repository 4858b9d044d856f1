"""Discovery through the simulator's scanner backend, and `treadcoach scan` as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from link_helpers import on_virtual_time
from transports import Transport

import sim
from treadcoach.config import load_settings
from treadcoach.errors import DeviceNotFound
from treadcoach.link import discover_treadmills, find_treadmill, is_address

ROOT = Path(__file__).resolve().parents[2]


def test_scan_lists_simulated_treadmills_with_type_rssi_and_known_profile(
    transport: Transport,
) -> None:
    settings = load_settings()

    def known(name: str | None, address: str) -> str | None:
        profile = settings.known_profile(name, address)
        return profile.name if profile is not None else None

    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="standard", rssi=-70) as plain,
            sim.SimTreadmill(profile="start_toggle", rssi=-50) as pad,
            transport.backends(plain, pad) as (_, scanner, *_),
        ):
            found = await discover_treadmills(
                timeout_s=1.0, scanner_backend=scanner, profile_lookup=known
            )
            assert [f.address for f in found] == [pad.address, plain.address]  # loudest first
            by_address = {f.address: f for f in found}
            assert by_address[pad.address].known_profile is not None
            assert "TM11GY" in by_address[pad.address].known_profile
            assert by_address[plain.address].known_profile is None
            for f in found:
                assert f.is_treadmill is True
                assert f.available is True
                assert f.type_label == "treadmill"
                assert f.device.address == f.address
            assert by_address[pad.address].rssi == -50
            assert by_address[pad.address].name == pad.name

    on_virtual_time(scenario)


def test_scan_filters_by_name_pattern_and_address(transport: Transport) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="standard") as plain,
            sim.SimTreadmill(profile="start_toggle") as pad,
            transport.backends(plain, pad) as (_, scanner, *_),
        ):
            by_prefix = await discover_treadmills(
                timeout_s=1.0, name_pattern="tm11", scanner_backend=scanner
            )
            assert [f.address for f in by_prefix] == [pad.address]
            by_glob = await discover_treadmills(
                timeout_s=1.0, name_pattern="*FTMS*", scanner_backend=scanner
            )
            assert [f.address for f in by_glob] == [plain.address]
            by_address = await discover_treadmills(
                timeout_s=1.0, address=plain.address.lower(), scanner_backend=scanner
            )
            assert [f.address for f in by_address] == [plain.address]

    on_virtual_time(scenario)


def test_find_treadmill_by_name_or_address_and_not_found(transport: Transport) -> None:
    async def scenario() -> None:
        async with (
            sim.SimTreadmill(profile="start_toggle") as pad,
            transport.backends(pad) as (_, scanner, *_),
        ):
            by_name = await find_treadmill("TM11GY", scanner_backend=scanner)
            assert by_name.address == pad.address
            by_address = await find_treadmill(pad.address, scanner_backend=scanner)
            assert by_address.name == pad.name
            with pytest.raises(DeviceNotFound) as missing:
                await find_treadmill("AA:BB:CC:DD:EE:FF", timeout_s=3, scanner_backend=scanner)
            assert missing.value.address == "AA:BB:CC:DD:EE:FF"
            assert "3 s" in str(missing.value)

    on_virtual_time(scenario)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("F0:0D:00:00:00:01", True),
        ("f0:0d:00:00:00:01", True),
        ("3E3A4B3C-1234-5678-9ABC-DEF012345678", True),  # a macOS peripheral id
        ("TM11GY", False),
        ("F0:0D:00:00:00", False),
        ("", False),
    ],
)
def test_is_address_tells_addresses_from_names(text: str, expected: bool) -> None:
    assert is_address(text) is expected


def _treadcoach(
    *args: str, config_home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI with its user config dir under ``config_home`` (never the real one)."""
    isolated = {k: v for k, v in os.environ.items() if k != "TREADCOACH_CONFIG"}
    isolated["XDG_CONFIG_HOME"] = str(config_home)
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**isolated, **(env or {})},
        timeout=60,
    )


def test_scan_sim_cli_lists_the_simulated_treadmills(tmp_path: Path) -> None:
    proc = _treadcoach(
        "scan",
        "--sim",
        "--sim-profile",
        "standard",
        "--sim-profile",
        "mph_target",
        config_home=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "RSSI", "TYPE", "KNOWN", "PROFILE"]
    assert len(lines) == 3
    assert any(line.startswith("SIM-FTMS") and "treadmill" in line for line in lines)
    assert any(line.startswith("BFX_T9_") and "Bowflex T9" in line for line in lines)


def test_scan_sim_cli_saves_the_chosen_device(tmp_path: Path) -> None:
    config = tmp_path / "treadcoach" / "devices.toml"
    listed = _treadcoach("scan", "--sim", config_home=tmp_path)
    address = listed.stdout.splitlines()[1].split()[1]
    saved = _treadcoach("scan", "--sim", "--save", address, config_home=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert "default device" in saved.stdout
    assert address in config.read_text()
    unknown = _treadcoach("scan", "--sim", "--save", "AA:BB:CC:DD:EE:FF", config_home=tmp_path)
    assert unknown.returncode != 0
    assert "AA:BB:CC:DD:EE:FF" in unknown.stderr
    assert "AA:BB:CC:DD:EE:FF" not in config.read_text()


def test_scan_without_bluetooth_says_so_in_one_line_and_fails(tmp_path: Path) -> None:
    # No D-Bus system bus at this path, whatever this machine has: the "no bluetoothd" case.
    missing = tmp_path / "no-such-dbus-socket"
    proc = _treadcoach(
        "scan",
        "--timeout",
        "1",
        config_home=tmp_path,
        env={"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={missing}"},
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    message = lines[0]
    assert message.startswith("treadcoach: Bluetooth is not available:")
    assert str(missing) in message  # names what is missing...
    assert "systemctl start" in message  # ...how to fix it...
    assert "--sim" in message  # ...and the way to try it without a treadmill
