"""``treadcoach history``: the listing, ``show``, ``export`` and their errors, through cli.main."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fit_tool import FitFile
from history_streams import STARTED_AT, JournalFiller

from treadcoach.cli import main
from treadcoach.coach.events import Event, Summary
from treadcoach.history import DATA_DIR_ENV, Journal
from treadcoach.safety.reasons import StopReason

Stream = Callable[..., list[Event]]


@pytest.fixture
def three_sessions(journal_path: Path, make_stream: Stream, record_session: JournalFiller) -> Path:
    """Completed (oldest), stopped by the key, interrupted (newest)."""
    events = make_stream()
    with Journal.open(journal_path) as journal:
        record_session(journal, events, started_at=STARTED_AT)
        stopped = [e for e in events if e.t <= 40 and e.event not in ("stop", "summary")]
        stopped.append(Summary(t=40.0, completed=False, stop_reason=StopReason.KEY))
        record_session(journal, stopped, started_at=STARTED_AT + timedelta(days=2))
        record_session(
            journal,
            [e for e in events if e.t <= 50],
            started_at=STARTED_AT + timedelta(days=4),
            plan="retro-intervals",
            finish=False,
        )
    return journal_path


def _status_column(lines: list[str]) -> list[str]:
    start = lines[0].index("STATUS")
    end = lines[0].index("TIME")
    return [line[start:end].strip() for line in lines[1:]]


def test_history_lists_sessions_newest_first_in_aligned_columns(
    three_sessions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--db", str(three_sessions)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["ID", "DATE", "PLAN", "STATUS"]
    assert _status_column(lines) == ["interrupted", "stopped (key)", "completed"]
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]
    # right-aligned numbers end where their header ends
    end = lines[0].index("BACKWARD") + len("BACKWARD")
    assert all(line[end - 1].isdigit() for line in lines[1:])
    completed = lines[3]
    assert "0:20" in completed  # backward done and planned
    assert "1:13" in completed  # duration
    assert "retro-intervals (sim)" in lines[1]


def test_history_limit_and_json(three_sessions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", str(three_sessions), "--limit", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [3, 2]
    assert rows[0]["status"] == "interrupted"
    assert rows[0]["finished"] is False
    assert rows[1]["stop_reason"] == "key"
    assert rows[1]["backward_s"] == pytest.approx(3.0)  # backward walk from t=37 to the stop at 40
    assert set(rows[0]) >= {
        "started_at",
        "plan",
        "planned_backward_s",
        "backward_s",
        "backward_distance_m",
        "distance_m",
        "duration_s",
        "completed",
    }


def test_empty_history_is_a_friendly_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "fresh"))
    assert main(["history"]) == 0
    assert capsys.readouterr().out.strip() == "No sessions recorded yet."
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "fresh").exists()  # listing never creates a journal

    Journal.open(tmp_path / "empty.sqlite3").close()
    assert main(["history", "--db", str(tmp_path / "empty.sqlite3")]) == 0
    assert capsys.readouterr().out.startswith("No sessions recorded yet")


def test_show_lists_segments_and_what_stopped_the_session(
    three_sessions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "show", "2", "--db", str(three_sessions)]) == 0
    out = capsys.readouterr().out
    assert "Session 2" in out
    assert "stopped (key)" in out
    for kind in ("warmup", "turnaround", "backward_walk"):
        assert kind in out
    assert "cooldown" not in out  # it stopped before the cool-down
    assert "stop: key" not in out  # the stop came in the summary, not as a stop event
    assert "fault" not in out


def test_show_of_an_interrupted_session_says_so(
    three_sessions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--db", str(three_sessions), "show", "3"]) == 0
    out = capsys.readouterr().out
    assert "interrupted" in out
    assert "last recorded event" in out


def test_show_json_has_the_session_and_its_events(
    three_sessions: Path, capsys: pytest.CaptureFixture[str], make_stream: Stream
) -> None:
    assert main(["history", "show", "1", "--json", "--db", str(three_sessions)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["session"]["status"] == "completed"
    assert len(body["events"]) == len(make_stream())
    assert body["events"][-2] == {"event": "stop", "t": 73.0, "reason": "plan_end", "detail": ""}


def test_unknown_session_id_is_a_clear_error(
    three_sessions: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "show", "99", "--db", str(three_sessions)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"treadcoach: history journal {three_sessions} has no session 99."
    assert main(["history", "export", "99", "--db", str(three_sessions)]) == 2
    assert "has no session 99" in capsys.readouterr().err


def test_export_writes_the_fit_file_and_prints_its_path(
    three_sessions: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "run.fit"
    assert main(["history", "export", "1", "--fit", str(target), "--db", str(three_sessions)]) == 0
    assert capsys.readouterr().out.strip() == str(target.resolve())
    FitFile.from_file(str(target))


def test_export_defaults_to_a_dated_file_in_the_current_directory(
    three_sessions: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["history", "--db", str(three_sessions), "export", "3"]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written.parent == tmp_path.resolve()
    assert written.name.startswith("treadcoach-")
    assert written.name.endswith("-3.fit")
    assert written.is_file()


def test_a_corrupt_journal_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "history.sqlite3"
    bad.write_bytes(b"\x00garbage" * 1000)
    assert main(["history", "--db", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(bad) in err
    assert "Traceback" not in err


def test_a_missing_db_given_explicitly_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.sqlite3"
    assert main(["history", "--db", str(missing)]) == 2
    assert f"history journal {missing}: no such file." in capsys.readouterr().err
    assert not missing.exists()


@pytest.mark.parametrize(("setting", "sport"), [("running", "running"), ("auto", "walking")])
def test_export_files_the_sport_the_history_setting_says(
    three_sessions: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    sport: str,
) -> None:
    from garmin_fit_sdk import Decoder
    from garmin_fit_sdk import Stream as FitStream

    config = tmp_path / "devices.toml"
    config.write_text(f'[history]\nsport = "{setting}"\n')
    monkeypatch.setenv("TREADCOACH_CONFIG", str(config))
    target = tmp_path / "run.fit"
    assert main(["history", "export", "1", "--fit", str(target), "--db", str(three_sessions)]) == 0
    messages, errors = Decoder(FitStream.from_file(str(target))).read()
    assert errors == []
    assert messages["session_mesgs"][0]["sport"] == sport


def test_a_bad_history_sport_setting_is_one_line(
    three_sessions: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text('[history]\nsport = "swimming"\n')
    monkeypatch.setenv("TREADCOACH_CONFIG", str(config))
    target = tmp_path / "run.fit"
    assert main(["history", "export", "1", "--fit", str(target), "--db", str(three_sessions)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "history.sport" in err
    assert not target.exists()
