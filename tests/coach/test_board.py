"""The session's board (treadcoach.coach.board): who hears an event first, and the snapshot."""

from __future__ import annotations

from treadcoach.coach.board import Board
from treadcoach.coach.events import Cue, Event
from treadcoach.coach.state import Phase


def test_a_recorder_hears_every_event_before_any_listener_and_a_broken_one_breaks_nothing() -> None:
    board = Board()
    heard: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("renderer bug")

    board.add(lambda e: heard.append("listener"))
    board.add(broken)
    remove = board.add(lambda e: heard.append("recorder"), first=True)
    board.emit(Cue(t=0.0, text="hello"))
    assert heard == ["recorder", "listener"]
    remove()
    board.emit(Cue(t=0.0, text="again"))
    assert heard == ["recorder", "listener", "listener"]


def test_the_snapshot_is_rebuilt_only_after_a_change() -> None:
    board = Board(plan_name="p")
    first = board.snapshot(lambda: Phase.RUNNING)
    assert board.snapshot(lambda: Phase.STOPPED) is first  # nothing changed
    board.update(speed_kmh=3.0)
    second = board.snapshot(lambda: Phase.RUNNING)
    assert (second.plan_name, second.speed_kmh, second.phase) == ("p", 3.0, Phase.RUNNING)
    board.fault("stale", "no data")
    assert board.snapshot(lambda: Phase.RUNNING).faults == ("stale",)
