"""A dizzy stop is a step back, whatever else the journal says (red team 3-7): also when the
process died before the summary. Never progress: such a session never counts as completed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from test_body_input import DAY0, record, walk_session

from treadcoach.coach.events import Event, Summary
from treadcoach.coach.progression import suggest_next
from treadcoach.history import Journal
from treadcoach.history.body_input import past_sessions
from treadcoach.safety.reasons import StopReason

TODAY = DAY0.date() + timedelta(days=3)


def _died_after(events: list[Event]) -> list[Event]:
    """The stream up to (not including) its summary: the process died there."""
    assert isinstance(events[-1], Summary)
    return events[:-1]


def test_an_interrupted_session_with_a_dizzy_stop_steps_back(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)  # completed 2:30
        died = record(
            journal,
            _died_after(walk_session(4.0, 130, stop=StopReason.DIZZY)),
            DAY0 + timedelta(days=2),
        )
        assert not journal.session(died).finished
        past = past_sessions(journal, TODAY)
    assert [p.stop_reason for p in past] == ["plan_end", "dizzy"]
    assert not past[-1].completed
    assert (past[-1].walk_kmh, past[-1].hr_at_speed) == (None, ())  # nothing that could raise
    suggestion = suggest_next(past, TODAY)
    assert suggestion.backward_s == 120  # 2:30 back 20 %


def test_an_interrupted_session_without_a_dizzy_stop_is_still_left_out(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        record(
            journal,
            _died_after(walk_session(4.0, 130, stop=StopReason.KEY)),
            DAY0 + timedelta(days=2),
        )
        past = past_sessions(journal, TODAY)
    assert len(past) == 1
    assert suggest_next(past, TODAY).backward_s == 180  # from the completed one, as before


def test_a_session_reported_not_saved_with_a_dizzy_stop_steps_back(journal_path: Path) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        hidden = record(
            journal, walk_session(4.0, 130, stop=StopReason.DIZZY), DAY0 + timedelta(days=2)
        )
        journal._db.execute("UPDATE sessions SET not_saved = 'disk full' WHERE id = ?", (hidden,))
        past = past_sessions(journal, TODAY)
    assert [(p.completed, p.stop_reason) for p in past] == [(True, "plan_end"), (False, "dizzy")]
    assert suggest_next(past, TODAY).backward_s == 120
