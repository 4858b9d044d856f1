"""`treadcoach scan` lists straps; `run --hr`; hr_strap in devices.toml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _treadcoach(*args: str, config_home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TREADCOACH_CONFIG"}
    env["XDG_CONFIG_HOME"] = str(config_home)
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_scan_sim_lists_a_simulated_strap_below_the_treadmills(tmp_path: Path) -> None:
    proc = _treadcoach("scan", "--sim", "--sim-strap", config_home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "ADDRESS"]
    strap_header = lines.index(next(line for line in lines if line.startswith("HEART-RATE STRAP")))
    assert strap_header > 1  # after the treadmill table
    assert lines[strap_header + 1].startswith("SimHR ")
    assert "--hr NAME|ADDRESS" in proc.stdout


def test_sim_strap_needs_sim_and_an_empty_hr_is_refused(tmp_path: Path) -> None:
    proc = _treadcoach("scan", "--sim-strap", config_home=tmp_path)
    assert proc.returncode == 2
    assert "--sim-strap needs --sim" in proc.stderr
    proc = _treadcoach("run", "--sim", "--headless", "--hr", " ", config_home=tmp_path)
    assert proc.returncode == 2
    assert "--hr needs a strap name or address" in proc.stderr


def test_hr_strap_is_read_from_devices_toml(tmp_path: Path) -> None:
    from treadcoach.config import load_settings

    path = tmp_path / "devices.toml"
    path.write_text('hr_strap = "Polar H10"\n[limits]\nhr_max_bpm = 158\n')
    settings = load_settings(path)
    assert settings.hr_strap == "Polar H10"
    assert settings.limits.hr_max_bpm == 158
