"""The headless check-in (issue 16): `run --rpe N --pain N`, checked before anything starts.

Through the real CLI (``treadcoach.cli.main``); the prompt on a terminal is in
tests/test_first_run.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from treadcoach.cli import main

RUN = ["run", "--sim", "--headless", "--speedup", "inf", "--plan", "gentle-intro"]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--rpe", "25"], "--rpe: RPE must be a whole number from 6 to 20, not 25"),
        (["--rpe", "5"], "--rpe: RPE must be a whole number from 6 to 20, not 5"),
        (["--pain", "ten"], "--pain: pain must be a whole number from 0 to 10, not 'ten'"),
        (["--pain", "-1"], "--pain: pain must be a whole number from 0 to 10, not -1"),
        (["--rpe", "12", "--no-history"], "--rpe: saved with the session, so not with"),
    ],
)
def test_a_bad_check_in_is_one_line_and_exit_2_before_the_belt_moves(
    extra: list[str], problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "history.sqlite"
    status = main([*RUN, "--db", str(db), *extra])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.count("\n") == 1
    assert problem in err
    assert "Traceback" not in err
    assert out == ""  # no session: not one event printed
    assert not db.exists()


def test_the_check_in_flags_are_for_headless_sessions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["run", "--sim", "--plan", "gentle-intro", "--pain", "2"])
    assert status == 2
    assert "--pain: only with --headless" in capsys.readouterr().err


def test_rpe_and_pain_flags_are_saved_with_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from treadcoach.history import checkin_store
    from treadcoach.history.checkin import CheckIn

    db = tmp_path / "history.sqlite"
    status = main([*RUN, "--db", str(db), "--rpe", "13", "--pain", "2"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Check-in saved with session 1." in out
    assert checkin_store.load_checkin(db, 1) == CheckIn(rpe=13, pain=2)
