"""`treadcoach plans` and `plans show` through the real CLI, including a bad plan file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from treadcoach.cli import main
from treadcoach.coach.library import PLANS_DIR_ENV
from treadcoach.config import CONFIG_ENV

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
    # the user's own devices.toml must not change what these tests see
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return folder


def step_rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line[:3].strip().isdigit()]


def test_plans_lists_built_in_and_user_plans_with_times(
    user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_dir / "mine.toml").write_text(MINE, encoding="utf-8")
    assert main(["plans"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "TAKES", "BACKWARD", "FROM"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    for name in ("backward-walk-starter", "retro-intervals", "retro-finisher", "gentle-intro"):
        assert rows[name].rstrip().endswith("built-in")
    assert "2:00" in rows["backward-walk-starter"]  # 2 min backward walk
    # what the session takes on a belt changing speed at 0.5 km/h/s (49:21 of planned steps)
    assert "51:34" in rows["gentle-intro"]
    assert "3:45" in rows["gentle-intro"]  # 6 x 50 m at 4.8 km/h
    assert rows["progression"].rstrip().endswith("generated")
    assert rows["mine"].rstrip().endswith("user")
    # columns line up: every row has TOTAL at the same offset
    offset = lines[0].index("TAKES")
    assert all(line[offset - 2 : offset] == "  " for line in lines[1:6])


def test_show_prints_the_expanded_steps_with_turnarounds_and_caps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plans", "show", "gentle-intro"]) == 0
    out = capsys.readouterr().out
    assert "Gentle Introductory Workout" in out  # the quoted guidance
    table = step_rows(out)
    kinds = [row[1] for row in table]
    assert kinds[:4] == ["warmup", "forward_run", "turnaround", "retro_run"]
    assert kinds.count("turnaround") == 12
    retro = table[3]
    assert retro[2:5] == ["4.80", "2.98", "50"]
    assert (
        "Total 51:34 on the belt (49:21 of planned steps, 2:13 more for slowing into turnarounds, "
        "ramps and the stop); backward 3:45, 300 m; 12 turnarounds"
    ) in out


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


FAST = """
name = "fast"
title = "Fast"
[[segments]]
kind = "warmup"
duration = 60
speed = 5
[[segments]]
kind = "forward_run"
duration = 60
speed = 14
"""


def test_show_applies_the_user_limits_from_devices_toml(
    tmp_path: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # run would send 12 km/h (the default limit) or the user's 10: show must say the same
    (user_dir / "fast.toml").write_text(FAST, encoding="utf-8")
    assert main(["plans", "show", "fast"]) == 0
    assert step_rows(capsys.readouterr().out)[1][2] == "12.00*"
    config = tmp_path / "devices.toml"
    config.write_text("[limits]\nmax_kmh = 10\n", encoding="utf-8")
    assert main(["plans", "show", "fast", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert step_rows(out)[1][2] == "10.00*"
    assert "Limits: max 10 km/h" in out


def test_show_with_a_device_uses_its_range_and_speed_steps(
    tmp_path: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_dir / "fast.toml").write_text(FAST, encoding="utf-8")
    config = tmp_path / "devices.toml"
    config.write_text(
        '[[device]]\nname = "Walking pad"\nmatch = "PAD-*"\nmin_kmh = 1.0\nmax_kmh = 6.0\n'
        "speed_increment_kmh = 0.5\naccel_kmh_per_s = 0.5\n",
        encoding="utf-8",
    )
    assert main(["plans", "show", "fast", "--config", str(config), "--device", "PAD-7"]) == 0
    out = capsys.readouterr().out
    assert [row[2] for row in step_rows(out)] == ["5.00", "6.00*"]
    assert "Belt: Walking pad (devices.toml: 1-6 km/h in 0.5 km/h steps" in out
    # a backward walk at 2 mph (3.22 km/h) runs at 3.0 on a 0.5 km/h grid, never above its cap
    assert main(["plans", "show", "backward-walk-starter", "--config", str(config),
                 "--device", "PAD-7"]) == 0  # fmt: skip
    walk = next(row for row in step_rows(capsys.readouterr().out) if row[1] == "backward_walk")
    assert walk[2] == "3.00"


def test_show_counts_rows_from_one_and_names_a_built_in_plainly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plans", "show", "retro-finisher"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "retro-finisher: Retro finisher (built-in)"
    assert [row[0] for row in step_rows(out)] == [str(n) for n in range(1, 19)]


MPH_PLAN = """
name = "mph"
title = "In mph"
units = "mph"
[[segments]]
kind = "backward_walk"
duration = 60
speed = 2
[[segments]]
kind = "retro_run"
duration = 30
speed = 3
"""


def test_rounding_to_the_belt_is_not_clamping_and_keeps_the_users_mph(
    user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_dir / "mph.toml").write_text(MPH_PLAN, encoding="utf-8")
    assert main(["plans", "show", "mph"]) == 0
    out = capsys.readouterr().out
    rows = {row[1]: row for row in step_rows(out)}
    # 2 mph = 3.2187 km/h is sent as 3.21; 3 mph = 4.828 as 4.82 (rounded down, never up)
    assert rows["backward_walk"][2:4] == ["3.21", "2.00"]
    assert rows["retro_run"][2:4] == ["4.82", "3.00"]
    assert "*" not in out
    assert "clamped" not in out


def test_show_in_mph_puts_mph_first_and_totals_in_miles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text('[limits]\nunits = "mph"\n', encoding="utf-8")
    assert main(["plans", "show", "retro-finisher", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("#"))
    assert header.split()[2:4] == ["MPH", "KM/H"]
    assert "backward 2:30, 0.12 mi;" in out
