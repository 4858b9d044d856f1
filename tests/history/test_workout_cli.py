"""``treadcoach plans export NAME --fit/--zwo FILE`` and ``plans import FILE``, through cli.main."""

from __future__ import annotations

from pathlib import Path

import pytest
from garmin_fit_sdk import Decoder, Stream

from treadcoach.cli import main
from treadcoach.coach.library import PLANS_DIR_ENV, find_plan
from treadcoach.coach.schedule import expand


@pytest.fixture
def plans_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "plans"
    monkeypatch.setenv(PLANS_DIR_ENV, str(folder))
    config = tmp_path / "devices.toml"
    config.write_text("")
    monkeypatch.setenv("TREADCOACH_CONFIG", str(config))
    return folder


def test_export_then_import_puts_the_same_plan_in_the_plan_folder(
    plans_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "retro.fit"
    assert main(["plans", "export", "retro-intervals", "--fit", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target.resolve())
    _, errors = Decoder(Stream.from_file(str(target))).read()
    assert errors == []
    assert main(["plans", "import", str(target)]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.parent == plans_dir
    imported = find_plan(written.stem)  # found by name in the user's plan folder
    original = find_plan("retro-intervals")
    assert [(s.kind, s.target_kmh, s.duration_s) for s in expand(imported)] == [
        (s.kind, s.target_kmh, s.duration_s) for s in expand(original)
    ]


def test_zwift_export_and_import_need_a_reference_pace(
    plans_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "walk.zwo"
    assert main(["plans", "export", "backward-walk-starter", "--zwo", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--threshold-pace" in err
    assert not target.exists()
    pace = ["--threshold-pace", "6:00"]
    assert main(["plans", "export", "backward-walk-starter", "--zwo", str(target), *pace]) == 0
    capsys.readouterr()
    assert main(["plans", "import", str(target), *pace, "--backward-from-names"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert "backward_walk" in written.read_text()


def test_an_unreadable_workout_file_is_one_line(
    plans_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.fit"
    junk.write_bytes(b"not a workout at all")
    assert main(["plans", "import", str(junk)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(junk) in err
    assert not plans_dir.exists() or not list(plans_dir.iterdir())


def test_export_without_a_file_option_says_which_to_give(
    plans_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plans", "export", "retro-intervals"]) == 2
    assert "--fit FILE" in capsys.readouterr().err
