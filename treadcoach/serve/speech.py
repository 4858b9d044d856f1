"""The session's spoken cues on the computer while it is served; MUTE on a view silences them.

The TUI's own planner and speakers (:mod:`treadcoach.tui.cues`, :mod:`treadcoach.tui.audio`),
fed the way the TUI feeds them: every event, and the state a few times a second (the last seconds
of a segment are counted from the state).
"""

from __future__ import annotations

import asyncio

from treadcoach.coach.events import Event
from treadcoach.serve.channel import ChannelSession
from treadcoach.tui.audio import Speaker
from treadcoach.tui.cues import CuePlanner, Utterance

__all__ = ["STATE_INTERVAL_S", "SpokenCues"]

STATE_INTERVAL_S = 0.25


class SpokenCues:
    def __init__(self, session: ChannelSession, speaker: Speaker) -> None:
        self._session = session
        self._speaker = speaker
        self._planner = CuePlanner()
        self.muted = False

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted:
            self._speaker.hush()

    def _say(self, utterances: list[Utterance]) -> None:
        if self.muted:
            return  # still planned: a number skipped while muted is not said late
        for utterance in utterances:
            self._speaker.say(utterance)

    def _on_event(self, event: Event) -> None:
        self._say(self._planner.on_event(event))

    async def run(self) -> None:
        """Speak until cancelled (owned by the serve command's TaskGroup)."""
        remove = self._session.add_listener(self._on_event)
        try:
            while True:
                self._say(self._planner.on_state(self._session.state))
                await asyncio.sleep(STATE_INTERVAL_S)
        finally:
            remove()
            await self._speaker.aclose()
