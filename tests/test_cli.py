"""The console script's shape (a contract: DESIGN.md, 'Console script')."""

from __future__ import annotations

import subprocess
import sys

import pytest

from treadcoach.cli import COMMANDS, main


def test_help_lists_every_contract_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "plans", "scan", "sim", "history", "bench"):
        assert name in out
    assert set(COMMANDS) >= {"run", "plans", "scan", "sim", "history", "bench"}


def test_console_script_runs_as_module() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "treadcoach", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "treadcoach" in proc.stdout
