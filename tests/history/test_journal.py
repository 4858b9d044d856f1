"""The SQLite journal: round trips, interrupted sessions, bad files (real files in tmp_path)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_streams import STARTED_AT, JournalFiller

from treadcoach.coach.events import Event, SegmentStarted, Stop, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.errors import (
    HistoryError,
    JournalTooNew,
    JournalUnreadable,
    SessionNotFound,
)
from treadcoach.history import DATA_DIR_ENV, Journal, summarize
from treadcoach.history.schema import APPLICATION_ID, SCHEMA_VERSION
from treadcoach.safety.reasons import StopReason

Stream = Callable[..., list[Event]]


def test_every_event_kind_round_trips(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    events = make_stream()
    assert {e.event for e in events} == {
        "connected",
        "segment",
        "cue",
        "telemetry",
        "stop",
        "fault",
        "summary",
    }
    with Journal.open(journal_path) as journal:
        session_id = record_session(journal, events)
    with Journal.open(journal_path) as journal:
        assert journal.events(session_id) == events


def test_a_finished_session_lists_its_outcome_and_totals(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    with Journal.open(journal_path) as journal:
        session_id = record_session(journal, make_stream())
        [record] = journal.sessions()
    assert record.id == session_id
    assert record.started_at == STARTED_AT
    assert (record.plan, record.device, record.address, record.simulated) == (
        "starter",
        "Sim",
        "SIM-1",
        True,
    )
    assert record.finished
    assert record.completed
    assert record.status == "completed"
    assert record.stop_reason == "plan_end"
    assert record.planned_backward_s == 20.0
    assert record.backward_s == pytest.approx(20.0)
    assert record.backward_distance_m == pytest.approx(20.0, abs=0.01)
    assert record.duration_s == pytest.approx(73.0)
    assert record.event_count == len(make_stream())


def test_an_interrupted_session_lists_correct_numbers_up_to_its_last_event(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    events = make_stream()
    # cut in the middle of the backward segment, as a crash would
    first_backward = next(
        i
        for i, e in enumerate(events)
        if isinstance(e, SegmentStarted) and e.kind == SegmentKind.BACKWARD_WALK
    )
    cut = first_backward + 15
    with Journal.open(journal_path) as journal:
        record_session(journal, events[:cut])  # the process dies here: no finish_session

    with Journal.open(journal_path) as journal:
        [record] = journal.sessions()
    expected = summarize(events[:cut])
    assert not record.finished
    assert record.status == "interrupted"
    assert not record.completed
    assert record.stop_reason is None
    assert record.duration_s == pytest.approx(expected.duration_s)
    assert record.distance_m == pytest.approx(expected.distance_m)
    assert record.backward_s == pytest.approx(expected.backward_s)
    assert 0 < record.backward_s < 20.0
    assert record.backward_distance_m == pytest.approx(expected.backward_distance_m)


def test_appending_after_reopening_continues_the_tally(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    events = make_stream()
    with Journal.open(journal_path) as journal:
        session_id = record_session(journal, events[:40], finish=False)
    with Journal.open(journal_path) as journal:
        for event in events[40:-1]:
            journal.append(session_id, event)
        summary = events[-1]
        assert isinstance(summary, Summary)
        journal.finish_session(session_id, summary)
        record = journal.session(session_id)
        assert journal.events(session_id) == events
    whole = summarize(events)
    assert record.backward_s == pytest.approx(whole.backward_s)
    assert record.distance_m == pytest.approx(whole.distance_m)


def test_finish_does_not_store_a_summary_twice(journal_path: Path) -> None:
    summary = Summary(t=5.0, completed=False, stop_reason=StopReason.KEY)
    with Journal.open(journal_path) as journal:
        appended = _begin(journal)
        journal.append(appended, summary)
        journal.finish_session(appended, summary)
        only_finished = _begin(journal)
        journal.finish_session(only_finished, summary)
        assert journal.events(appended) == [summary]
        assert journal.events(only_finished) == [summary]
        assert journal.session(only_finished).status == "stopped (key)"
        appended_only = _begin(journal)
        journal.append(appended_only, summary)  # the stream's summary alone ends the session
        assert journal.session(appended_only).status == "stopped (key)"


def test_sessions_are_newest_first_and_past_sessions_oldest_first(journal_path: Path) -> None:
    starts = [STARTED_AT + timedelta(days=d) for d in (3, 0, 7)]
    summary = Summary(t=5.0, completed=False, stop_reason=StopReason.KEY)
    with Journal.open(journal_path) as journal:
        for start in starts:
            journal.finish_session(_begin(journal, started_at=start), summary)
        assert [s.started_at for s in journal.sessions()] == sorted(starts, reverse=True)
        assert [s.started_at for s in journal.sessions(limit=2)] == sorted(starts)[:0:-1]
        assert [s.started_at for s in journal.past_sessions()] == sorted(starts)


def test_records_convert_field_for_field_to_progressions_past_session(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    progression = pytest.importorskip("treadcoach.coach.progression")
    # the fields a record has; the dose and the heart rate come from its events (body_input)
    from_events = {"walk_kmh", "walk_incline_pct", "hr_at_speed"}
    names = [f.name for f in dataclasses.fields(progression.PastSession)]
    names = [n for n in names if n not in from_events]
    with Journal.open(journal_path) as journal:
        record_session(journal, make_stream())
        stopped = _begin(journal, started_at=STARTED_AT + timedelta(days=1))
        journal.finish_session(stopped, Summary(t=9.0, completed=False, stop_reason=StopReason.KEY))
        records = journal.past_sessions()
    past = [progression.PastSession(**{n: getattr(r, n) for n in names}) for r in records]
    assert [(p.completed, p.stop_reason) for p in past] == [(True, "plan_end"), (False, "key")]
    assert [(p.rpe, p.pain) for p in past] == [(None, None), (None, None)]
    assert past[0].backward_s == pytest.approx(20.0)
    assert isinstance(past[0].started_at, datetime)


def test_the_default_path_follows_the_data_dir_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nested" / "dir"))
    with Journal.open() as journal:
        assert journal.path == tmp_path / "nested" / "dir" / "history.sqlite3"
        assert journal.sessions() == []
    assert journal.path.is_file()


def test_a_journal_is_in_wal_mode_with_the_current_schema(journal_path: Path) -> None:
    Journal.open(journal_path).close()
    db = sqlite3.connect(journal_path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        db.close()


# --- bad files and ids ------------------------------------------------------------------------


def test_a_corrupt_file_is_a_history_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(JournalUnreadable) as caught:
        Journal.open(path)
    assert isinstance(caught.value, HistoryError)
    assert str(path) in str(caught.value)
    assert "corrupt or not an SQLite database" in str(caught.value)


def test_a_journal_with_a_damaged_page_is_a_history_error(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    with Journal.open(journal_path) as journal:
        session_id = record_session(journal, make_stream(hz=10.0))
    data = bytearray(journal_path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 4 * page] = b"\xa5" * (2 * page)  # scribble over b-tree pages
    journal_path.write_bytes(bytes(data))
    with pytest.raises(JournalUnreadable) as caught:  # noqa: PT012 (open or read may notice)
        journal = Journal.open(journal_path)
        try:
            journal.sessions()
            journal.events(session_id)
        finally:
            journal.close()
    assert str(journal_path) in str(caught.value)


def test_another_programs_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    with pytest.raises(JournalUnreadable, match="not a treadcoach journal"):
        Journal.open(path)


def test_a_journal_from_a_newer_treadcoach_is_refused(journal_path: Path) -> None:
    Journal.open(journal_path).close()
    db = sqlite3.connect(journal_path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(JournalTooNew) as caught:
        Journal.open(journal_path)
    assert caught.value.found_version == SCHEMA_VERSION + 1
    assert caught.value.supported_version == SCHEMA_VERSION
    assert str(journal_path) in str(caught.value)


def test_opening_without_create_does_not_make_a_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite3"
    with pytest.raises(JournalUnreadable, match="no such file"):
        Journal.open(path, create=False)
    assert not path.exists()


def test_an_unknown_session_id_is_session_not_found(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        with pytest.raises(SessionNotFound):
            journal.events(42)
        with pytest.raises(SessionNotFound):
            journal.session(42)
        with pytest.raises(SessionNotFound):
            journal.append(42, Telemetry(t=1.0, speed_kmh=1.0, distance_m=1.0))
        assert journal.sessions() == []


def test_an_event_row_that_no_longer_parses_names_the_session(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        session_id = _begin(journal)
        journal.append(session_id, Stop(t=1.0, reason=StopReason.KEY))
    db = sqlite3.connect(journal_path)
    db.execute('UPDATE events SET body = \'{"event": "stop", "t": 1, "reason": "??"}\'')
    db.commit()
    db.close()
    with (
        Journal.open(journal_path) as journal,
        pytest.raises(JournalUnreadable, match=f"session {session_id}"),
    ):
        journal.events(session_id)


def test_progression_never_sees_a_session_the_journal_does_not_hold_whole(
    journal_path: Path, make_stream: Stream, record_session: JournalFiller
) -> None:
    """Issue 12 h: interrupted, or cut off by a failed write, its outcome is unknown."""
    events = make_stream()
    with Journal.open(journal_path) as journal:
        whole = record_session(journal, events)
        record_session(journal, events[: len(events) // 2], started_at=STARTED_AT + timedelta(1))
        assert [r.id for r in journal.past_sessions()] == [whole]
        assert len(journal.sessions()) == 2  # still listed, as interrupted


def _begin(journal: Journal, *, started_at: datetime = STARTED_AT) -> int:
    return journal.begin_session(
        plan="starter",
        device="Sim",
        address="SIM-1",
        simulated=True,
        planned_backward_s=60.0,
        planned_duration_s=600.0,
        started_at=started_at.astimezone(UTC),
    )


def test_closing_a_journal_stops_its_checkpoint_thread(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        session_id = _begin(journal)
        for i in range(250):  # past a checkpoint nudge
            journal.append(session_id, Telemetry(t=i / 10, speed_kmh=3.0, distance_m=i / 12))
        assert any(t.name.startswith("journal-checkpoint") for t in threading.enumerate())
    assert not any(t.name.startswith("journal-checkpoint") for t in threading.enumerate())
    with Journal.open(journal_path) as journal:
        assert journal.session(session_id).event_count == 250
