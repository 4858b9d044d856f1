"""`treadcoach plans` and `plans show` through the real CLI, including a bad plan file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from treadcoach.cli import main
from treadcoach.coach.library import PLANS_DIR_ENV

BAD_PLAN = """
name = "bad"
title = "Bad"

[[segments]]
kind = "warmup"
duration = "5 min"
speed = 5

[[segments]]
kind = "forward_run"
duration = "1 min"
speed = 8

[[segments]]
kind = "retro_run"
duration = "30 s"
speed = -3
"""

MINE = """
name = "mine"
title = "My own"
[[segments]]
kind = "warmup"
duration = 60
speed = 5
[[segments]]
kind = "retro_run"
duration = 30
speed = 9
"""


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "plans"
    folder.mkdir()
    monkeypatch.setenv(PLANS_DIR_ENV, str(folder))
    return folder


def test_plans_lists_built_in_and_user_plans_with_times(
    user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_dir / "mine.toml").write_text(MINE, encoding="utf-8")
    assert main(["plans"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "TOTAL", "BACKWARD", "FROM"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    for name in ("backward-walk-starter", "retro-intervals", "retro-finisher", "gentle-intro"):
        assert rows[name].rstrip().endswith("built-in")
    assert "2:00" in rows["backward-walk-starter"]  # 2 min backward walk
    assert "49:21" in rows["gentle-intro"]
    assert "3:45" in rows["gentle-intro"]  # 6 x 50 m at 4.8 km/h
    assert rows["progression"].rstrip().endswith("generated")
    assert rows["mine"].rstrip().endswith("user")
    # columns line up: every row has TOTAL at the same offset
    offset = lines[0].index("TOTAL")
    assert all(line[offset - 2 : offset] == "  " for line in lines[1:6])


def test_show_prints_the_expanded_steps_with_turnarounds_and_caps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plans", "show", "gentle-intro"]) == 0
    out = capsys.readouterr().out
    assert "Gentle Introductory Workout" in out  # the quoted guidance
    table = [line.split() for line in out.splitlines() if line[:3].strip().isdigit()]
    kinds = [row[1] for row in table]
    assert kinds[:4] == ["warmup", "forward_run", "turnaround", "retro_run"]
    assert kinds.count("turnaround") == 12
    retro = table[3]
    assert retro[2:5] == ["4.80", "2.98", "50"]
    assert "Total 49:21 planned; backward 3:45, 300 m; 12 turnarounds" in out


def test_show_marks_speeds_clamped_to_the_backward_cap(
    user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_dir / "mine.toml").write_text(MINE, encoding="utf-8")
    assert main(["plans", "show", "mine", "--backward-max-kmh", "4"]) == 0
    out = capsys.readouterr().out
    assert "4.00*" in out
    assert "clamped to the cap that applies" in out


def test_a_bad_plan_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_PLAN, encoding="utf-8")
    assert main(["plans", "show", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"treadcoach: {bad}: segment 3 (retro_run): speed: input should be greater than 0 (got -3)\n"
    )


def test_an_unknown_name_lists_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plans", "show", "gentel-intro"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("treadcoach: gentel-intro: no plan by this name; available: ")
    assert "gentle-intro" in err


def test_a_broken_user_plan_is_named_but_the_list_still_prints(
    user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_dir / "broken.toml").write_text(BAD_PLAN, encoding="utf-8")
    assert main(["plans"]) == 2
    captured = capsys.readouterr()
    assert "gentle-intro" in captured.out
    assert captured.err.count("\n") == 1
    assert "broken.toml: segment 3 (retro_run)" in captured.err


def test_the_console_script_reports_a_bad_plan_without_a_traceback(
    tmp_path: Path, user_dir: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ntitle = "Bad"\n[[segments]\nkind = 1\n', encoding="utf-8")
    env = {**os.environ, PLANS_DIR_ENV: str(user_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "treadcoach", "plans", "show", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert f"{bad}: is not valid TOML" in proc.stderr
    assert "(at line 3, column" in proc.stderr

    ok = subprocess.run(
        [sys.executable, "-m", "treadcoach", "plans"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "gentle-intro" in ok.stdout
