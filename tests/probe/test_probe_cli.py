"""``treadcoach probe`` as the user runs it (in-process; the simulator on virtual time)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from treadcoach.cli import main
from treadcoach.config import load_settings


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "user-devices.toml"
    path.write_text("# nothing of the user's\n", encoding="utf-8")
    return path


def test_probe_sim_writes_an_entry_the_loader_accepts_and_diffs_the_shipped_one(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "entry.toml"
    argv = ["probe", "--sim", "--sim-profile", "mph_target", "--yes-the-belt-is-clear"]
    code = main([*argv, "--out", str(out), "--config", str(config)])
    shown = capsys.readouterr().out
    assert code == 0
    assert "NOBODY ON THE BELT" in shown
    assert "  #   #  ###  ####" in shown  # in large letters
    assert "treadcoach probe report: BFX_T9_" in shown
    assert "compared with the shipped entry 'Bowflex T9'" in shown
    assert "+min_kmh = 1.29" in shown  # the diff shows what the probe adds
    settings = load_settings(out)
    name = shown.split("treadcoach probe report: ")[1].split(" ")[0]
    profile = settings.profile_for(name, None)
    assert profile.source.startswith("treadcoach probe")
    assert profile.target_speed_in_mph is True


def test_probe_without_a_terminal_needs_the_explicit_flag(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = main(["probe", "--sim", "--config", str(config)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "--yes-the-belt-is-clear" in err[0]


def test_probe_sends_nothing_unless_the_user_types_clear(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda: "yes")
    code = main(["probe", "--sim", "--config", str(config)])
    captured = capsys.readouterr()
    assert code == 1
    assert "not confirmed; nothing was sent" in captured.err
    assert "step 1/" not in captured.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sim", "--sim-profile", "treadmill9000"], "there is no simulator profile"),
        (["--sim-profile", "mph_target"], "--sim-profile needs --sim"),
        (["--sim", "--device", "FS-1234"], "--device and --sim exclude each other"),
        (["--sim", "--sim-profile", "min_speed_1+speed_needs_running+x"], "no simulator profile"),
    ],
)
def test_bad_probe_arguments_are_one_line(
    argv: list[str], message: str, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["probe", *argv, "--yes-the-belt-is-clear", "--config", str(config)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert message in err[0]


def test_probe_without_a_device_says_how_to_choose_one(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["probe", "--yes-the-belt-is-clear", "--config", str(config)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "--device NAME|ADDRESS" in err[0]
