"""A dizzy stop is a step back, whatever else the journal says (red team 3-7, 3-3): also when
the process died before the summary, and when the dizzy ``stop`` event came after another stop
(the summary keeps the first reason). Never progress: such a session never counts as completed.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from test_body_input import DAY0, record, walk_session

from treadcoach.coach.events import Event, Stop, Summary
from treadcoach.coach.progression import suggest_next
from treadcoach.history import Journal
from treadcoach.history.body_input import past_sessions
from treadcoach.safety.reasons import StopReason

TODAY = DAY0.date() + timedelta(days=3)


def _died_after(events: list[Event]) -> list[Event]:
    """The stream up to (not including) its summary: the process died there."""
    assert isinstance(events[-1], Summary)
    return events[:-1]


def _dizzy_during(first: StopReason) -> list[Event]:
    """A walk stopped for ``first``; dizzy pressed during that stop adds a ``stop`` event with
    reason dizzy (the controller's contract), and the summary keeps the first reason."""
    events = walk_session(4.0, 130, stop=first)
    *body, stop, summary = events
    assert isinstance(stop, Stop)
    assert isinstance(summary, Summary)
    dizzy = Stop(t=stop.t + 0.5, reason=StopReason.DIZZY, detail="dizzy key")
    return [*body, stop, dizzy, summary.model_copy(update={"t": stop.t + 1.0})]


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


def test_a_completed_session_reported_not_saved_with_a_later_dizzy_stop_never_grows(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        # completed, but dizzy during the plan's end stop, and its user was told NOT SAVED
        hidden = record(journal, _dizzy_during(StopReason.PLAN_END), DAY0 + timedelta(days=2))
        journal._db.execute("UPDATE sessions SET not_saved = 'disk full' WHERE id = ?", (hidden,))
        past = past_sessions(journal, TODAY)
    assert [(p.completed, p.stop_reason) for p in past] == [(True, "plan_end"), (False, "dizzy")]
    assert suggest_next(past, TODAY).backward_s == 120


def test_a_dizzy_stop_event_after_the_plans_end_makes_it_a_dizzy_session(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        second = record(journal, _dizzy_during(StopReason.PLAN_END), DAY0 + timedelta(days=2))
        stored = journal.session(second)
        past = past_sessions(journal, TODAY)
    # the journal keeps what the summary said; the progression reads the dizzy stop
    assert (stored.completed, stored.stop_reason) == (True, "plan_end")
    assert [(p.completed, p.stop_reason) for p in past][-1] == (False, "dizzy")
    suggestion = suggest_next(past, TODAY)
    assert suggestion.backward_s == 120
    assert "dizzy" in suggestion.reason.lower()


def test_a_dizzy_stop_during_a_fault_stop_steps_back_instead_of_repeating(
    journal_path: Path,
) -> None:
    with Journal.open(journal_path) as journal:
        record(journal, walk_session(4.0, 130), DAY0)
        record(journal, _dizzy_during(StopReason.DISCONNECT), DAY0 + timedelta(days=2))
        past = past_sessions(journal, TODAY)
    assert past[-1].stop_reason == "dizzy"
    assert suggest_next(past, TODAY).backward_s == 120  # not a repeat of 2:30


def test_the_journals_dizzy_spelling_is_the_stop_reasons() -> None:
    from treadcoach.history.journal import DIZZY_STOP
    from treadcoach.safety.reasons import StopReason

    assert StopReason.DIZZY.value == DIZZY_STOP
