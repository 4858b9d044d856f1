"""The console script's shape (a contract: DESIGN.md, 'Console script')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from treadcoach.cli import COMMANDS, main
from treadcoach.coach.events import Cue, Fault, SegmentStarted, Summary
from treadcoach.coach.kinds import SegmentKind
from treadcoach.commands._text import REPEAT_WINDOW_S, HeadlessText


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


# --- headless text output: the user's units; a repeating fault is summarised ----------------


def _faults(text: HeadlessText, seconds: int) -> list[str]:
    out: list[str] = []
    for t in range(30, 30 + seconds):
        out += text.lines(Fault(t=float(t), kind="garbage", detail=f"bad frame {t}"))
    return out


def test_a_fault_every_second_prints_once_then_one_line_a_minute() -> None:
    text = HeadlessText()
    lines = _faults(text, 600)
    assert lines[0] == "[    30.0] fault garbage: bad frame 30"
    assert len(lines) == 1 + int(600 // REPEAT_WINDOW_S) - 1
    assert lines[1] == (
        "[    90.0] fault garbage: 60 more times since 30.0 s (latest: bad frame 90)"
    )
    # nothing is lost: every repeat is counted by the end of the session
    end = text.lines(Summary(t=700.0, completed=False, duration_s=700, distance_m=0, backward_s=0))
    counted = sum(int(line.split(": ")[1].split()[0]) for line in lines[1:] + end[:-1])
    assert 1 + counted == 600
    assert end[-1].endswith("stopped: 11.7 min, 0 m, backward 0 s")


def test_another_fault_kind_is_printed_at_once() -> None:
    text = HeadlessText()
    _faults(text, 10)
    assert text.lines(Fault(t=41.0, kind="stale", detail="no data for 2.1 s")) == [
        "[    41.0] fault stale: no data for 2.1 s"
    ]


def test_mph_users_read_mph_and_miles() -> None:
    text = HeadlessText(units="mph")
    segment = SegmentStarted(
        t=0.0, index=2, kind=SegmentKind.RETRO_RUN, target_kmh=4.82, distance_m=50.0, total=18
    )
    assert text.lines(segment) == ["[     0.0] segment 3/18: retro_run 3.0 mph for 55 yd"]
    summary = Summary(t=807.0, completed=True, duration_s=807, distance_m=1609.344, backward_s=150)
    assert text.lines(summary) == ["[   807.0] completed: 13.4 min, 1.00 mi, backward 150 s"]


def test_a_pause_says_how_to_resume() -> None:
    text = HeadlessText(pause_key="f5")
    assert text.lines(Cue(t=3.0, text="Paused (pedal)", kind="info")) == [
        "[     3.0]   Paused (pedal) -- press f5 to resume"
    ]


def _headless_sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "treadcoach", "run", "--sim", "--headless",
            "--speedup", "inf", "--no-history", *args,
        ],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False,
    )  # fmt: skip


def test_a_session_with_garbage_frames_prints_a_few_fault_lines() -> None:
    proc = _headless_sim("--plan", "backward-walk-starter", "--sim-fault", "garbage@30")
    assert proc.returncode == 0, proc.stderr
    faults = [line for line in proc.stdout.splitlines() if "fault garbage" in line]
    # 10.5 minutes, a bad frame most seconds: one line, then one a minute
    assert 2 <= len(faults) <= 12


def test_a_session_in_mph_prints_mph_and_miles(tmp_path: Path) -> None:
    config = tmp_path / "devices.toml"
    config.write_text('[limits]\nunits = "mph"\n', encoding="utf-8")
    proc = _headless_sim("--plan", "retro-finisher", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.endswith("segment 3/18: retro_run 3.0 mph for 55 yd") for line in lines)
    assert " km/h" not in proc.stdout
    assert " mi, backward " in lines[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("history", "--limit", "-5"), "argument --limit: a number of sessions is from 1 up"),
        (("history", "show", "0"), "argument id: a session id is from 1 up"),
        (("history", "show", "99999999999999999999999"), "argument id: a session id is from 1 up"),
        (("history", "export", "x1"), "argument id: a session id is a whole number"),
    ],
)
def test_history_numbers_out_of_range_are_one_line(
    args: tuple[str, ...], message: str, one_session_db: Path
) -> None:
    # --limit -5 said "No sessions recorded yet"; a huge id was an OverflowError traceback
    proc = _treadcoach(*args, "--db", str(one_session_db))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr.splitlines()[-1]


def test_a_headless_session_piped_into_head_stops_the_belt_and_ends_quietly(
    tmp_path: Path,
) -> None:
    """``treadcoach run --headless --json | head -2``: once the reader has left, nobody sees the
    session any more; the belt stops and the process ends (it used to run the plan out)."""
    from treadcoach.history import Journal

    db = tmp_path / "history.sqlite"
    # real time at 5x: the plan would take minutes to run out, the stop takes a moment
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "treadcoach",
            "run",
            "--sim",
            "--headless",
            "--json",
            "--speedup",
            "5",
            "--plan",
            "gentle-intro",
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    lines = [proc.stdout.readline() for _ in range(2)]  # what head -2 reads
    proc.stdout.close()  # head exits
    try:
        returncode = proc.wait(timeout=60)  # a failure bound for a hung process, not a speed
    finally:
        proc.kill()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert all(line.startswith(b"{") for line in lines)
    assert b"Traceback" not in stderr
    assert stderr == b""
    assert returncode == 141
    with Journal.open(db, create=False) as journal:
        (session,) = journal.sessions(limit=1)
    assert session.stop_reason == "quit"
    assert not session.completed


def test_headless_text_says_heart_rate_changes_in_words_not_json() -> None:
    from treadcoach.coach.events import HeartRateStatus

    text = HeadlessText()
    zone = HeartRateStatus(
        t=12.0,
        strap_connected=True,
        signal="ok",
        bpm=104,
        zone_low_bpm=105,
        zone_high_bpm=115,
        zone_state="below",
    )
    assert text.lines(zone) == ["[    12.0] heart rate 104 bpm, zone 105-115: below"]
    stale = HeartRateStatus(t=20.0, strap_connected=True, signal="stale", holding=True)
    assert text.lines(stale) == ["[    20.0] heart rate: strap stale, holding speed"]
    down = HeartRateStatus(t=30.0, strap_connected=False, signal="stale")
    assert text.lines(down) == ["[    30.0] heart rate: strap reconnecting"]
    ceiling = HeartRateStatus(
        t=40.0, strap_connected=True, signal="ok", bpm=158, above_ceiling=True, limit_kmh=3.2
    )
    assert text.lines(ceiling) == [
        "[    40.0] heart rate 158 bpm: above the ceiling, slowing to 3.2 km/h"
    ]
