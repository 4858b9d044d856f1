"""Fixtures for the history tests: a journal path and a session recorder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from history_streams import STARTED_AT, JournalFiller, session_events

from treadcoach.coach.events import Event, Summary
from treadcoach.history import Journal


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def record_session() -> JournalFiller:
    """Write a session into a journal: append events, then finish it if the stream has a summary."""

    def record(
        journal: Journal,
        events: list[Event],
        *,
        started_at: datetime = STARTED_AT,
        plan: str = "starter",
        finish: bool = True,
    ) -> int:
        session_id = journal.begin_session(
            plan=plan,
            device="Sim",
            address="SIM-1",
            simulated=True,
            planned_backward_s=20.0,
            planned_duration_s=72.0,
            started_at=started_at,
        )
        for event in events:
            if isinstance(event, Summary) and finish:
                journal.finish_session(session_id, event)
            else:
                journal.append(session_id, event)
        return session_id

    return record


@pytest.fixture
def make_stream() -> Callable[..., list[Event]]:
    """``make_stream(hz=2.0, heart_rate=True)``: a completed session's events."""
    return session_events
