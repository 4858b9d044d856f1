"""``treadcoach serve`` takes the strap options as ``run`` does (it shares run's arguments)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # --hr reaches the session (it used to be ignored: "no treadmill chosen" instead)
        (
            ["--device", "AA:BB:CC:DD:EE:FF", "--hr", "sim", "--no-history"],
            "treadcoach: --hr: sim: a simulated strap needs the simulated treadmill (--sim)",
        ),
        (["--sim", "--hr", " "], "treadcoach: --hr: ' ': needs a strap name or address"),
        (["--sim", "--rpe", "12"], "treadcoach serve: --rpe/--pain are for 'run --headless'"),
        (
            ["--sim", "--sim-strap-fault", "drop@3", "--no-history"],
            "treadcoach: --sim-strap-fault: drop@3: needs the simulated strap (--hr sim)",
        ),
    ],
)
def test_serve_reads_the_strap_options_and_refuses_bad_ones_in_one_line(
    args: list[str], message: str
) -> None:
    proc = _serve(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip() == message
