"""``treadcoach history`` shows the check-in, the dizzy stop in words and the heart rate.

Through the real CLI entry (``cli.main``), against a real journal file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from history_streams import JournalFiller, session_events

from treadcoach.cli import main
from treadcoach.coach.events import Event, Stop, Summary
from treadcoach.history import Journal
from treadcoach.history.checkin import CheckIn
from treadcoach.history.checkin_store import save_checkin
from treadcoach.safety.reasons import StopReason


def _dizzy(events: list[Event]) -> list[Event]:
    """The session stopped 40 s in by the walker's dizzy key."""
    kept = [e for e in events if e.t <= 40 and e.event not in ("stop", "summary")]
    return [
        *kept,
        Stop(t=40.0, reason=StopReason.DIZZY, detail="dizzy key"),
        Summary(t=41.0, completed=False, stop_reason=StopReason.DIZZY),
    ]


@pytest.fixture
def journal(journal_path: Path, record_session: JournalFiller) -> Path:
    """1: completed with HR and a check-in; 2: stopped dizzy, no check-in; 3: no HR at all."""
    with Journal.open(journal_path) as opened:
        first = record_session(opened, session_events(hz=2.0))
        record_session(opened, _dizzy(session_events(hz=2.0)))
        record_session(opened, session_events(hz=2.0, heart_rate=False))
    save_checkin(journal_path, first, CheckIn(rpe=14, pain=2))
    return journal_path


def _show(path: Path, session_id: int, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["history", "show", str(session_id), "--db", str(path)]) == 0
    return capsys.readouterr().out


def test_show_prints_the_checkin_rpe_in_borgs_words_and_pain(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _show(journal, 1, capsys)
    assert "Check-in: RPE 14/20 (somewhat hard) · pain 2/10" in out
    assert "Check-in: none" in _show(journal, 2, capsys)


def test_show_prints_a_skipped_answer_as_skipped(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_checkin(journal, 3, CheckIn(rpe=None, pain=0))
    assert "Check-in: RPE skipped · pain 0/10" in _show(journal, 3, capsys)


def test_show_prints_average_and_max_heart_rate_from_telemetry(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # session_events: heart rate 100 + segment index, segments of 30, 6, 20, 6 and 10 s at 2 Hz
    readings = [100] * 60 + [101] * 12 + [102] * 40 + [103] * 12 + [104] * 20
    mean = round(sum(readings) / len(readings))
    out = _show(journal, 1, capsys)
    assert (
        f"Heart rate: average {mean} bpm · max 104 bpm · backward average 102 bpm"
        f" ({len(readings)} readings)" in out
    )


def test_show_has_no_heart_rate_line_when_telemetry_carried_none(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "Heart rate" not in _show(journal, 3, capsys)


def test_show_says_a_dizzy_stop_in_words_and_that_it_is_a_step_back(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _show(journal, 2, capsys)
    assert "stopped (felt dizzy or strained)" in out.splitlines()[0]
    assert "stop: dizzy (dizzy key)" in out
    assert "felt dizzy or strained: the progression counts it as a step back" in out


def test_the_listing_has_rpe_and_pain_columns_and_the_dizzy_reason_in_words(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--db", str(journal)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["RPE", "PAIN"]
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert by_id["1"].split()[-2:] == ["14", "2"]
    assert by_id["3"].split()[-2:] == ["-", "-"]
    assert "stopped (felt dizzy or strained)" in by_id["2"]


def test_json_carries_the_checkin_and_the_heart_rate(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--json", "--db", str(journal)]) == 0
    listed = {s["id"]: s for s in json.loads(capsys.readouterr().out)}
    assert (listed[1]["rpe"], listed[1]["pain"]) == (14, 2)
    assert (listed[2]["rpe"], listed[2]["pain"]) == (None, None)
    assert listed[2]["stop_reason"] == "dizzy"
    assert main(["history", "show", "1", "--json", "--db", str(journal)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["heart_rate"]["max_bpm"] == 104
    assert shown["heart_rate"]["backward_mean_bpm"] == 102.0
    assert main(["history", "show", "3", "--json", "--db", str(journal)]) == 0
    assert json.loads(capsys.readouterr().out)["heart_rate"] is None
