"""Speakers: say an :class:`~treadcoach.tui.cues.Utterance` without ever blocking the UI.

``make_speaker("auto", ring)`` picks espeak-ng when it is installed and the terminal bell
otherwise. Only one utterance sounds at a time: a countdown number or a stop cuts off whatever is
being said. Every new utterance cuts off the one being spoken (newer news matters more); ones
arriving within a moment of each other, before either is spoken, are joined into one sentence (the
controller announces a segment and its form cue together), except countdown numbers and stops,
which replace what was waiting and are spoken at once so each number lands on its second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from typing import Protocol

from treadcoach.tui.cues import Utterance
from treadcoach.tui.settings import AudioEngine

__all__ = ["BellSpeaker", "EspeakSpeaker", "SilentSpeaker", "Speaker", "make_speaker"]

logger = logging.getLogger(__name__)


class Speaker(Protocol):
    def say(self, utterance: Utterance) -> None:
        """Start saying ``utterance``; returns at once."""
        ...

    def hush(self) -> None:
        """Stop saying anything now (mute)."""
        ...

    async def aclose(self) -> None:
        """Stop speaking and release the speaker's task and process."""
        ...


class SilentSpeaker:
    def say(self, utterance: Utterance) -> None:
        pass

    def hush(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class BellSpeaker:
    """One terminal bell per utterance (``App.bell``): a chime you can hear facing away."""

    def __init__(self, ring: Callable[[], None]) -> None:
        self._ring = ring

    def say(self, utterance: Utterance) -> None:
        self._ring()

    def hush(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class EspeakSpeaker:
    """Speaks through an ``espeak-ng`` subprocess, one at a time, from a task it owns."""

    def __init__(
        self, executable: str, *, words_per_minute: int = 165, join_window_s: float = 0.15
    ) -> None:
        self._executable = executable
        self._wpm = words_per_minute
        self._join_window_s = join_window_s
        self._next: str | None = None
        self._urgent = False
        self._wanted: asyncio.Event | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    def say(self, utterance: Utterance) -> None:
        if self._task is None:
            self._wanted = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._speak_forever(), name="espeak-ng speaker"
            )
        assert self._wanted is not None
        if self._next is not None and not utterance.interrupts:
            self._next = f"{self._next} {utterance.text}"
        else:
            self._next = utterance.text
        self._urgent = utterance.interrupts
        self._kill()
        self._wanted.set()

    def hush(self) -> None:
        self._next = None
        self._kill()

    async def aclose(self) -> None:
        self.hush()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    async def _speak_forever(self) -> None:
        assert self._wanted is not None
        while True:
            await self._wanted.wait()
            if not self._urgent:
                # let a segment announcement and its form cue arrive and be joined
                await asyncio.sleep(self._join_window_s)
            self._wanted.clear()
            self._urgent = False
            text, self._next = self._next, None
            if not text:
                continue
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    self._executable,
                    "-s",
                    str(self._wpm),
                    "--",
                    text,
                    stdin=asyncio.subprocess.DEVNULL,
                    # never let espeak write into the terminal the TUI is drawing on
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            except OSError as exc:
                logger.warning("cannot run %s, cues stay silent: %s", self._executable, exc)
                return
            if self._wanted.is_set():
                self._kill()  # a newer utterance arrived while this one was starting
            try:
                await self._proc.wait()
            finally:
                self._kill()  # cancelled while speaking: do not leave it talking
                self._proc = None


def make_speaker(engine: AudioEngine, ring: Callable[[], None]) -> Speaker:
    """The speaker for ``engine``; "auto" is espeak-ng when installed, else the bell."""
    if engine == "none":
        return SilentSpeaker()
    if engine in ("auto", "espeak"):
        executable = shutil.which("espeak-ng")
        if executable is not None:
            return EspeakSpeaker(executable)
        if engine == "espeak":
            logger.warning("espeak-ng is not installed: falling back to the terminal bell")
    return BellSpeaker(ring)
