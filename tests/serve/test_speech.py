"""Spoken cues on the computer while served, and MUTE from a view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from treadcoach.coach.events import Event, SegmentStarted
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.serve.speech import SpokenCues
from treadcoach.tui.cues import Utterance


class _Speaker:
    def __init__(self) -> None:
        self.said: list[Utterance] = []
        self.hushed = 0
        self.closed = False

    def say(self, utterance: Utterance) -> None:
        self.said.append(utterance)

    def hush(self) -> None:
        self.hushed += 1

    async def aclose(self) -> None:
        self.closed = True


class _Session:
    def __init__(self) -> None:
        self.state = SessionState()
        self.listeners: list[Callable[[Event], None]] = []

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)

    def request_stop(self, reason: StopReason, detail: str = "") -> None: ...
    def request_pause(self, source: StopReason) -> None: ...
    def request_resume(self, source: StopReason) -> None: ...


def _segment(index: int) -> SegmentStarted:
    return SegmentStarted(t=0, index=index, kind=SegmentKind.BACKWARD_WALK, target_kmh=2.5)


async def test_cues_are_spoken_until_a_view_mutes_them() -> None:
    session, speaker = _Session(), _Speaker()
    cues = SpokenCues(session, speaker)
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(cues.run())
        await asyncio.sleep(0)
        session.emit(_segment(0))
        assert len(speaker.said) == 1
        assert "backward" in speaker.said[0].text.lower()
        cues.set_muted(True)
        assert speaker.hushed == 1
        session.emit(_segment(1))
        assert len(speaker.said) == 1  # muted: nothing new
        cues.set_muted(False)
        session.emit(_segment(2))
        assert len(speaker.said) == 2
        task.cancel()
    assert speaker.closed
    assert session.listeners == []
