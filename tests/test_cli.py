"""The console script's shape (a contract: DESIGN.md, 'Console script')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _treadcoach(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", *args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


@pytest.fixture(scope="module")
def one_session_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("history") / "history.sqlite3"
    proc = _treadcoach(
        "run", "--sim", "--headless", "--plan", "backward-walk-starter", "--speedup", "inf",
        "--db", str(db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return db


def _into_closed_pipe(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run with stdout a pipe nobody reads any more (``| head -0``): every write gets EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "treadcoach", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "command",
    [
        ("history",),
        ("history", "--json"),
        ("history", "show", "1"),
        ("history", "show", "1", "--json"),
        ("plans",),
        ("plans", "show", "retro-finisher"),
        ("--help",),
    ],
    ids=" ".join,
)
def test_output_piped_into_head_ends_quietly(
    command: tuple[str, ...], one_session_db: Path
) -> None:
    db = ("--db", str(one_session_db)) if command[0] == "history" else ()
    proc = _into_closed_pipe(*command, *db)
    assert b"Traceback" not in proc.stderr
    assert proc.stderr == b""
    if command != ("--help",):  # argparse itself ignores a failed write of its help
        assert proc.returncode == 141  # what a shell reports for a command ended by SIGPIPE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--speed", "-3"), "--speed"),
        (("--speed", "nan"), "--speed"),
        (("--speed", "1000"), "--speed"),
        (("--duration", "-1"), "--duration"),
    ],
)
def test_sim_rejects_impossible_numbers_in_one_line(args: tuple[str, ...], message: str) -> None:
    proc = _treadcoach("sim", *args, "--speedup", "inf", "--duration", "5", timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"treadcoach sim: error: argument {message}")
    )


def test_version_prints_the_package_version() -> None:
    from treadcoach import __version__

    proc = _treadcoach("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"treadcoach {__version__}"


def test_history_help_offers_only_what_history_does() -> None:
    # There is no progression view in 'history' (the next step is in 'run' and the setup screen).
    for args in (("--help",), ("history", "--help")):
        proc = _treadcoach(*args)
        assert proc.returncode == 0, proc.stderr
        history_lines = [line for line in proc.stdout.splitlines() if "history" in line.lower()]
        assert history_lines
        assert not any("progression" in line.lower() for line in history_lines)


def test_fit_export_refuses_to_replace_a_file_without_force(
    one_session_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "run.fit"
    target.write_bytes(b"my other run")
    export = ("history", "export", "1", "--fit", str(target), "--db", str(one_session_db))
    proc = _treadcoach(*export)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"treadcoach: FIT export {target}: exists already; add --force to replace it.\n"
    )
    assert target.read_bytes() == b"my other run"
    proc = _treadcoach(*export, "--force")
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() != b"my other run"
