"""The crash spool: replayed by the next open when a session died or its writes failed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from history_streams import session_events

from treadcoach.coach.events import Event
from treadcoach.history import Journal
from treadcoach.history.spool import SessionHeader, Spool, spool_dir

HEADER = SessionHeader(
    plan="starter",
    device="Sim",
    address="SIM-1",
    simulated=True,
    planned_backward_s=20.0,
    planned_duration_s=72.0,
    started_at=datetime(2025, 3, 1, 7, 30, tzinfo=UTC).isoformat(),
)


def _spool(journal: Path, events: list[Event], *, torn: bytes = b"") -> Spool:
    spool = Spool.create(journal)
    spool.write_header(HEADER)
    for event in events:
        spool.write_event(event)
    if torn:
        with spool.path.open("ab") as f:
            f.write(torn)
    return spool


def test_a_spool_with_no_row_yet_becomes_a_whole_session(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    Journal.open(journal).close()
    events = session_events()
    _spool(journal, events, torn=b'{"t": 99.0, "event": "tele').close(delete=False)
    with Journal.open(journal) as opened:
        [record] = opened.sessions()
        assert opened.events(record.id) == events  # the torn line was never shown
    assert record.finished
    assert record.plan == "starter"
    assert not list(spool_dir(journal).iterdir())


def test_a_spool_fills_in_what_the_database_lacks(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    events = session_events()
    spool = _spool(journal, events)
    with Journal.open(journal) as opened:  # the first half made it to the database
        session_id = opened.begin_session(
            plan=HEADER.plan,
            device=HEADER.device,
            address=HEADER.address,
            simulated=True,
            planned_backward_s=20.0,
            planned_duration_s=72.0,
            started_at=datetime.fromisoformat(HEADER.started_at),
            spool=spool.token,
        )
        for event in events[: len(events) // 2]:
            opened.append(session_id, event)
    spool.close(delete=False)
    with Journal.open(journal) as opened:
        [record] = opened.sessions()
        assert opened.events(record.id) == events
    assert record.finished


def test_a_live_sessions_spool_is_left_alone(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    spool = _spool(journal, session_events()[:10])  # still open and locked: a session runs
    try:
        with Journal.open(journal) as opened:
            assert opened.sessions() == []
        assert spool.path.exists()
    finally:
        spool.close(delete=True)


def test_a_spool_that_is_not_ours_stays_and_the_journal_still_opens(tmp_path: Path) -> None:
    journal = tmp_path / "history.sqlite3"
    folder = spool_dir(journal)
    folder.mkdir(parents=True)
    (folder / "odd.jsonl").write_text("not json\n")
    with Journal.open(journal) as opened:
        assert opened.sessions() == []
    assert (folder / "odd.jsonl").exists()
