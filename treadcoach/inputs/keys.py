"""The terminal stop key for ``treadcoach run --headless`` when stdin is a terminal.

The terminal is put in cbreak mode (no line buffering, no echo) so one key press arrives at once;
``ISIG`` stays on, so Ctrl-C still raises SIGINT and reaches the signal stop path, but Ctrl-Z and
Ctrl-\\ are switched off for the session (suspending or killing treadcoach would leave the belt
running unwatched). The previous mode is restored when ``run()`` ends, however it ends (cancel,
exception, terminal gone).
In the TUI, Textual owns the keyboard and binds the stop key itself; this module is not used there.

Beside the stop key, ``d`` is the dizzy stop (``request_stop(StopReason.DIZZY)``: the same stop,
recorded and spoken as "dizzy", and counted by the progression as a step back). When the stop or
pause key is set to ``d`` itself, that key keeps its meaning and there is no dizzy key (logged).

Keys are named like the TUI's bindings (``treadcoach.config`` lists them, and the keys that
cannot be stop or pause keys): ``space`` (the default stop key), ``pagedown``, ``f5``, ``ctrl+x``,
``full_stop``, or any single character (letters match either case, so caps lock doesn't disable
the stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import termios
from collections.abc import Callable
from typing import Any, Protocol

from treadcoach.coach.state import Phase
from treadcoach.config import NAMED_KEYS, key_sequences
from treadcoach.errors import InputDeviceUnavailable
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.stop import StopTarget

__all__ = [
    "DIZZY_KEY",
    "TERMINAL_KEYS",
    "KeyTarget",
    "TerminalKeys",
    "terminal_key_sequences",
]


class _Phased(Protocol):
    @property
    def phase(self) -> Phase: ...


class KeyTarget(StopTarget, Protocol):
    """What the keys drive: stop, and pause/resume on one key (as in the TUI). The session
    controller is one."""

    @property
    def state(self) -> _Phased: ...

    def request_resume(self, source: StopReason) -> None: ...


log = logging.getLogger(__name__)

# The key names and the terminal's bytes for them are in config (one list for the TUI too).
TERMINAL_KEYS = NAMED_KEYS

# The dizzy stop's key, as in the TUI (CONTRACTS.md).
DIZZY_KEY = "d"


def terminal_key_sequences(key: str) -> tuple[bytes, ...]:
    """The byte sequences a terminal sends for ``key``; ValueError for a key we can't name or a
    reserved one (:data:`treadcoach.config.RESERVED_KEYS`).

    Takes the TUI's (Textual's) key names, so one ``stop_key`` setting serves both:
    ``full_stop``, ``comma``, ``question_mark`` (Unicode names), ``ctrl+x``.
    """
    return key_sequences(key)


class TerminalKeys:
    """Read the stop and pause keys from a terminal file descriptor (stdin by default) until
    cancelled. The pause key pauses a running session and resumes a paused one -- however it was
    paused (a ``pedal_lost`` pause, say): headless, there is no other way to carry on."""

    def __init__(
        self,
        target: KeyTarget,
        *,
        stop_key: str = "space",
        pause_key: str | None = "p",
        dizzy_key: str | None = DIZZY_KEY,
        fd: int | None = None,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self._target = target
        try:
            self._stop = terminal_key_sequences(stop_key)
            self._pause = terminal_key_sequences(pause_key) if pause_key else ()
        except ValueError as exc:
            raise InputDeviceUnavailable("terminal", str(exc), "Pick another key.") from None
        if set(self._stop) & set(self._pause):
            raise InputDeviceUnavailable(
                "terminal",
                f"stop key {stop_key!r} and pause key {pause_key!r} are the same",
                "Pick two different keys.",
            )
        self._dizzy = terminal_key_sequences(dizzy_key) if dizzy_key else ()
        if set(self._dizzy) & set(self._stop + self._pause):
            log.warning(
                "the dizzy key %r is also the stop or pause key: it keeps that meaning, and "
                "there is no dizzy key this session",
                dizzy_key,
            )
            self._dizzy = ()
        self.dizzy_key = dizzy_key if self._dizzy else None
        self.stop_key = stop_key
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._on_lost = on_lost
        self._pending = b""
        self._longest = max(len(s) for s in self._keys)

    @property
    def _keys(self) -> tuple[bytes, ...]:
        return self._stop + self._dizzy + self._pause

    async def run(self) -> None:
        """Watch the keys until cancelled, or until the terminal goes away (then ``on_lost``)."""
        fd = self._fd
        if not os.isatty(fd):
            raise InputDeviceUnavailable(
                f"terminal (fd {fd})",
                "standard input is not a terminal, so there is no stop key",
                "Run in a terminal, or stop with a foot pedal or MQTT, or use the TUI.",
            )
        if _in_background(fd):
            # Reading would stop the whole process (SIGTTIN) with the belt running.
            raise InputDeviceUnavailable(
                f"terminal (fd {fd})",
                "treadcoach runs in the background of this terminal, so it cannot read keys",
                "Run it in the foreground to use the stop key.",
            )
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[str] = loop.create_future()
        saved = termios.tcgetattr(fd)
        try:
            _set_attributes(fd, _cbreak(fd, saved))
            loop.add_reader(fd, self._readable, gone)
            try:
                detail = await gone
            finally:
                loop.remove_reader(fd)
        finally:
            # The terminal may be gone already (EIO): then there is nothing left to restore.
            with contextlib.suppress(termios.error):
                _set_attributes(fd, saved)
        log.warning("%s", detail)
        if self._on_lost is not None:
            try:
                self._on_lost(detail)
            except Exception:
                log.exception("on_lost callback failed")

    def _readable(self, gone: asyncio.Future[str]) -> None:
        try:
            chunk = os.read(self._fd, 1024)  # readable, so this returns at once
        except OSError as exc:
            chunk, error = b"", str(exc)
        else:
            error = "end of input"
        if not chunk:
            asyncio.get_running_loop().remove_reader(self._fd)
            if not gone.done():
                gone.set_result(f"the terminal stop key is gone ({error})")
            return
        self.feed(chunk)

    def feed(self, chunk: bytes) -> None:
        """Act on bytes from the terminal (a stop anywhere in them wins over a pause/resume; a
        dizzy key among them makes it the dizzy stop)."""
        data = self._pending + chunk
        try:
            if any(seq in data for seq in self._dizzy):
                self._pending = b""
                self._target.request_stop(StopReason.DIZZY, "dizzy key")
                return
            if any(seq in data for seq in self._stop):
                self._pending = b""
                self._target.request_stop(StopReason.KEY, f"terminal key {self.stop_key}")
                return
            if any(seq in data for seq in self._pause):
                self._pending = b""
                if self._target.state.phase is Phase.PAUSED:
                    self._target.request_resume(StopReason.KEY)
                else:
                    self._target.request_pause(StopReason.KEY)
                return
        except Exception:
            log.exception("the stop target raised; it must not")
        self._pending = self._partial_tail(data)

    def _partial_tail(self, data: bytes) -> bytes:
        # Keep only a tail that could still grow into a key (an escape sequence split over reads).
        for size in range(min(len(data), self._longest - 1), 0, -1):
            tail = data[-size:]
            if any(seq.startswith(tail) for seq in self._keys):
                return tail
        return b""


def _in_background(fd: int) -> bool:
    try:
        return os.tcgetpgrp(fd) != os.getpgrp()
    except OSError:  # not our controlling terminal: no job control applies to it
        return False


def _cbreak(fd: int, saved: list[Any]) -> list[Any]:
    """Single keys, no echo; Ctrl-C still interrupts, but Ctrl-Z and Ctrl-\\ are switched off.

    Ctrl-Z would freeze treadcoach, watchdogs and all, with the belt still running; Ctrl-\\
    (SIGQUIT) would kill it without the stop path. Ctrl-C raises SIGINT, which stops the belt.
    """
    mode = [*saved[:6], list(saved[6])]
    mode[3] &= ~(termios.ICANON | termios.ECHO)  # lflags; ISIG stays on for Ctrl-C
    cc = mode[6]
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    disabled = os.fpathconf(fd, "PC_VDISABLE")
    for name in ("VSUSP", "VDSUSP", "VQUIT"):
        index = getattr(termios, name, None)
        if index is not None:
            cc[index] = bytes([disabled])
    return mode


def _set_attributes(fd: int, mode: list[Any]) -> None:
    # TCSANOW: never wait for a slow terminal's output. SIGTTOU blocked: if we were moved to the
    # background meanwhile, changing the mode must not stop the process with the belt running.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        termios.tcsetattr(fd, termios.TCSANOW, mode)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
