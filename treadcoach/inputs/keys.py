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

What a terminal sends is parsed into whole keys first (:func:`scan_keys`), so a byte inside an
escape sequence is never read as a key of its own: the Left arrow (ESC [ D, or rxvt's Ctrl-Left
ESC O d) is not the dizzy key, F1 (ESC O P) not the pause key. Escape sequences and Alt chords
are ignored, with one exception that keeps every stop: ESC followed by the stop or dizzy key is
that key (Escape then the key, typed in one read, looks exactly like Alt+key -- in doubt, stop).
A byte that cannot continue a sequence ends it there and is read as typed, so a space (the
default stop key) is never swallowed by a broken or truncated sequence.

Keys are named like the TUI's bindings (``treadcoach.config`` lists them, and the keys that
cannot be stop or pause keys): ``space`` (the default stop key), ``pagedown``, ``f5``, ``ctrl+x``,
``full_stop``, or any single character (letters match either case, so caps lock doesn't disable
the stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import sys
import termios
from collections.abc import Callable
from dataclasses import dataclass
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
    "Token",
    "TokenKind",
    "scan_keys",
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


ESC = 0x1B
#: the longest parameter run an escape sequence may have before it is taken as garbage (real
#: keys send at most "1;5" or "15;5"; a pasted or corrupt run must not swallow what follows)
MAX_SEQUENCE_PARAMS = 16


class TokenKind(enum.Enum):
    TEXT = "text"  # typed bytes, no ESC among them (keys are looked for inside)
    SEQUENCE = "sequence"  # a whole CSI (ESC [ ...) or SS3 (ESC O ...) key: arrows, F-keys
    ALT = "alt"  # ESC and one character: Alt+key, or Escape then the key in one read
    ESCAPE = "escape"  # ESC on its own (followed by another ESC)


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    data: bytes  # for ALT, the character after the ESC; else the bytes as sent


def _utf8_length(lead: int) -> int:
    """How many bytes the UTF-8 character starting with ``lead`` takes (1 for anything else)."""
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 1


def scan_keys(data: bytes) -> tuple[list[Token], bytes]:
    """Split terminal input into whole keys; returns (tokens, an unfinished tail).

    The tail is an escape sequence cut off at the end of ``data`` (ESC, ESC [, ESC [ 1 ;): the
    terminal may send the rest in the next read. The grammar is what keyboards send, stricter
    than ECMA-48 on purpose: ESC [ or ESC O, parameter bytes 0x30-0x3F, one final byte
    0x40-0x7E. No intermediate bytes (0x20-0x2F): a space after ESC [ is the space key, not part
    of a sequence. A byte that cannot continue the sequence ends it: ESC and the introducer
    are an Alt chord and everything after is read again as typed. Pure; no state.
    """
    tokens: list[Token] = []
    i, n = 0, len(data)
    text_start = 0

    def flush_text(end: int) -> None:
        if end > text_start:
            tokens.append(Token(TokenKind.TEXT, data[text_start:end]))

    while i < n:
        if data[i] != ESC:
            i += 1
            continue
        flush_text(i)
        if i + 1 >= n:
            return tokens, data[i:]  # ESC alone at the end: the rest may come next read
        intro = data[i + 1]
        if intro == ESC:
            tokens.append(Token(TokenKind.ESCAPE, data[i : i + 1]))
            i += 1
        elif intro in (ord("["), ord("O")):
            j = i + 2
            while j < n and 0x30 <= data[j] <= 0x3F and j - (i + 2) < MAX_SEQUENCE_PARAMS:
                j += 1
            if j >= n:
                return tokens, data[i:]  # cut off mid-sequence
            if 0x40 <= data[j] <= 0x7E and j - (i + 2) < MAX_SEQUENCE_PARAMS:
                tokens.append(Token(TokenKind.SEQUENCE, data[i : j + 1]))
                i = j + 1
            else:
                # not a key's sequence: Alt+[ (or Alt+O); what follows is read as typed
                tokens.append(Token(TokenKind.ALT, data[i + 1 : i + 2]))
                i += 2
        else:
            size = _utf8_length(intro)
            if i + 1 + size > n:
                return tokens, data[i:]
            tokens.append(Token(TokenKind.ALT, data[i + 1 : i + 1 + size]))
            i += 1 + size
        text_start = i
    flush_text(n)
    return tokens, b""


def _unmodified(sequence: bytes) -> bytes:
    """A CSI/SS3 key without its modifier parameter: Ctrl+PageDown (ESC [ 6 ; 5 ~) is PageDown,
    Shift+Up (ESC [ 1 ; 2 A) is Up, so a stop key pressed with a modifier held still stops."""
    body, final = sequence[2:-1], sequence[-1:]
    if b";" not in body:
        return sequence
    number = body.split(b";", 1)[0]
    if final == b"~":
        return sequence[:2] + number + final
    return sequence[:2] + (b"" if number == b"1" else number) + final


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
        dizzy key among them makes it the dizzy stop). Only whole keys count: see
        :func:`scan_keys` and the module docstring."""
        tokens, rest = scan_keys(self._pending + chunk)
        if rest == b"\x1b" and b"\x1b" in self._keys:
            # A lone ESC at the end of a read is the Escape key far more often than a sequence
            # split over reads; when Escape is one of our keys, act now rather than wait
            # for a read that may never come (in doubt, stop).
            tokens, rest = [*tokens, Token(TokenKind.ESCAPE, rest)], b""
        pressed = self._pressed(tokens)
        # An unfinished sequence waits for its end whatever was pressed: were it dropped, its
        # last byte (the D of ESC [ D) would be read as typed next time.
        self._pending = rest or self._partial_tail(tokens)
        try:
            if self._dizzy and self._dizzy[0] in pressed:
                self._target.request_stop(StopReason.DIZZY, "dizzy key")
            elif self._stop[0] in pressed:
                self._target.request_stop(StopReason.KEY, f"terminal key {self.stop_key}")
            elif self._pause and self._pause[0] in pressed:
                if self._target.state.phase is Phase.PAUSED:
                    self._target.request_resume(StopReason.KEY)
                else:
                    self._target.request_pause(StopReason.KEY)
            else:
                return
        except Exception:
            log.exception("the stop target raised; it must not")
        self._pending = rest  # a key acted: a typed tail is not carried into the next read

    def _pressed(self, tokens: list[Token]) -> set[bytes]:
        """Which of our keys (named by their first sequence) the tokens contain."""
        keys = [(self._stop, True), (self._dizzy, True), (self._pause, False)]
        pressed: set[bytes] = set()
        for token in tokens:
            for sequences, stops in keys:
                if sequences and self._matches(token, sequences, stops=stops):
                    pressed.add(sequences[0])
        return pressed

    @staticmethod
    def _matches(token: Token, sequences: tuple[bytes, ...], *, stops: bool) -> bool:
        if token.kind is TokenKind.TEXT:
            return any(seq in token.data for seq in sequences if not seq.startswith(b"\x1b"))
        if token.kind is TokenKind.SEQUENCE:
            return token.data in sequences or _unmodified(token.data) in sequences
        if token.kind is TokenKind.ESCAPE:
            return b"\x1b" in sequences
        # ALT: ESC then a character. For a stop (the stop or dizzy key), either reading stops:
        # Escape then the key, typed in one read, or the key with Alt held. Others: ignored.
        return stops and (token.data in sequences or b"\x1b" in sequences)

    def _partial_tail(self, tokens: list[Token]) -> bytes:
        # A typed tail that could still grow into one of our plain keys (a multi-byte
        # character split over reads); escape sequences are the scanner's own tail.
        if not tokens or tokens[-1].kind is not TokenKind.TEXT:
            return b""
        data = tokens[-1].data
        plain = [seq for seq in self._keys if not seq.startswith(b"\x1b")]
        for size in range(min(len(data), self._longest - 1), 0, -1):
            tail = data[-size:]
            if any(seq.startswith(tail) and seq != tail for seq in plain):
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
