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

__all__ = [
    "WORDS_PER_MINUTE",
    "BellSpeaker",
    "EspeakSpeaker",
    "SilentSpeaker",
    "Speaker",
    "espeak_command",
    "make_speaker",
]

logger = logging.getLogger(__name__)

# Fast enough that a countdown number ends well inside its second.
WORDS_PER_MINUTE = 165


def espeak_command(
    executable: str, text: str, *, words_per_minute: int = WORDS_PER_MINUTE, wav: str | None = None
) -> list[str]:
    """The espeak-ng command line that says ``text`` (into the file ``wav`` instead, for tests
    that measure what the user would hear)."""
    out = ["-w", wav] if wav is not None else []
    return [executable, "-s", str(words_per_minute), *out, "--", text]


class Speaker(Protocol):
    @property
    def description(self) -> str:
        """Which voice the cues use, as said at session start: "cues: espeak-ng"."""
        ...

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
    description = "cues: off (audio disabled in the settings)"

    def say(self, utterance: Utterance) -> None:
        pass

    def hush(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class BellSpeaker:
    """One terminal bell per utterance (``App.bell``): a chime you can hear facing away."""

    def __init__(self, ring: Callable[[], None], *, why: str = "") -> None:
        self._ring = ring
        self.description = f"cues: bell only — {why}" if why else "cues: bell"

    def say(self, utterance: Utterance) -> None:
        self._ring()

    def hush(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class EspeakSpeaker:
    """Speaks through an ``espeak-ng`` subprocess, one at a time, from a task it owns.

    If espeak-ng cannot speak (not runnable, or it reports an error such as no audio device, which
    it does on stderr while still exiting 0), this and every later utterance go to ``fallback``
    (the terminal bell), so a broken sound setup never leaves the user without cues.
    """

    def __init__(
        self,
        executable: str,
        *,
        fallback: Speaker | None = None,
        words_per_minute: int = WORDS_PER_MINUTE,
        join_window_s: float = 0.15,
        on_fallback: Callable[[str], None] | None = None,
    ) -> None:
        self._executable = executable
        self._fallback = fallback
        self._on_fallback = on_fallback  # told the new description when it gives up
        self._failed = False
        self._killed = False
        self._wpm = words_per_minute
        self._join_window_s = join_window_s
        self._next: str | None = None
        self._why_not = ""
        self._urgent = False
        self._wanted: asyncio.Event | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def description(self) -> str:
        if self._failed:
            return f"cues: bell only — espeak-ng cannot speak ({self._why_not})"
        return "cues: espeak-ng"

    def say(self, utterance: Utterance) -> None:
        if self._failed:
            if self._fallback is not None:
                self._fallback.say(utterance)
            return
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
        proc = self._proc
        self.hush()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if proc is not None:
            # Reap it and drain its stderr, so its transport is closed now and not left to the
            # garbage collector after the loop has closed.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await proc.communicate()

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            self._killed = True
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def _give_up(self, why: str, text: str) -> None:
        logger.warning("espeak-ng cannot speak (%s): cues fall back to the terminal bell", why)
        self._failed = True
        self._why_not = why
        if self._on_fallback is not None:
            self._on_fallback(self.description)
        if self._fallback is not None:
            self._fallback.say(Utterance(text, "info"))

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
                self._killed = False
                self._proc = await asyncio.create_subprocess_exec(
                    *espeak_command(self._executable, text, words_per_minute=self._wpm),
                    stdin=asyncio.subprocess.DEVNULL,
                    # never let espeak write into the terminal the TUI is drawing on
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError as exc:
                self._give_up(str(exc), text)
                return
            if self._wanted.is_set():
                self._kill()  # a newer utterance arrived while this one was starting
            try:
                _, err = await self._proc.communicate()
            finally:
                self._kill()  # cancelled while speaking: do not leave it talking
                proc, self._proc = self._proc, None
            if self._killed:
                continue
            if proc.returncode != 0 or b"error" in err.lower():
                reason = err.decode(errors="replace").strip().splitlines()[-1:] or [
                    f"exit status {proc.returncode}"
                ]
                self._give_up(reason[0], text)
                return


def make_speaker(
    engine: AudioEngine,
    ring: Callable[[], None],
    on_fallback: Callable[[str], None] | None = None,
) -> Speaker:
    """The speaker for ``engine``; "auto" is espeak-ng when installed, else the bell.
    ``on_fallback(description)`` hears of espeak-ng giving up mid-session (no audio device)."""
    if engine == "none":
        return SilentSpeaker()
    if engine in ("auto", "espeak"):
        executable = shutil.which("espeak-ng")
        if executable is not None:
            return EspeakSpeaker(executable, fallback=BellSpeaker(ring), on_fallback=on_fallback)
        if engine == "espeak":
            logger.warning("espeak-ng is not installed: falling back to the terminal bell")
        return BellSpeaker(ring, why="install espeak-ng")
    return BellSpeaker(ring)
