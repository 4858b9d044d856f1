"""Surviving the terminal going away under the app (a closed window, a dropped ssh session).

When the terminal hangs up, the kernel sends SIGHUP, every write to it fails with EIO, and every
read returns end-of-file at once. Textual is not built for that: its output thread dies on the
first failed write, after which the bounded output queue fills and the next screen update blocks
the event loop for ever (the belt's stop path included); its input thread spins on the end of
file at a full core. :class:`HangupSafeDriver` is Textual's Linux driver with an output that never
raises: the first failed write tells the app (:class:`TerminalLost`), and :func:`detach_terminal`
points the process's output at ``/dev/null`` so nothing later (Textual, the CLI's last line,
Python's exit) can fail or block on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from textual.app import App
    from textual.driver import Driver

__all__ = ["HangupSafeOutput", "TerminalLost", "detach_terminal", "hangup_safe_driver"]

logger = logging.getLogger(__name__)


class TerminalLost(Message):
    """Writing to the terminal failed: it is gone (posted from Textual's output thread)."""


class HangupSafeOutput:
    """A text file for Textual's output thread that swallows the terminal's death.

    The first ``OSError`` calls ``on_lost`` once; later writes are dropped, so the thread (and
    the queue the event loop writes into) keeps draining.
    """

    def __init__(self, file: IO[str], on_lost: Callable[[], None]) -> None:
        self._file = file
        self._on_lost = on_lost
        self.lost = False

    def _failed(self, exc: OSError) -> None:
        if not self.lost:
            self.lost = True
            logger.info("the terminal went away (%s)", exc)
            self._on_lost()

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                return self._file.write(text)
            except OSError as exc:
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self._file.flush()
            except OSError as exc:
                self._failed(exc)

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def hangup_safe_driver(base: type[Driver]) -> type[Driver]:
    """``base`` (Textual's LinuxDriver) with a :class:`HangupSafeOutput`; other drivers as they
    are (the headless test driver writes nowhere, Windows has no SIGHUP)."""
    from textual.drivers.linux_driver import LinuxDriver

    if base is not LinuxDriver:
        return base

    class HangupSafeDriver(LinuxDriver):
        def __init__(self, app: App[Any], **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            terminal = self._file
            if terminal is None:  # no stderr at all: nothing to protect
                return

            def lost() -> None:
                app.post_message(TerminalLost())  # thread-safe: this runs on the output thread

            # (duck-typed: the output thread only writes, flushes and asks for the fileno)
            self._file = HangupSafeOutput(terminal, lost)  # type: ignore[assignment]

    return HangupSafeDriver


def detach_terminal() -> None:
    """Point stdout and stderr at /dev/null: the terminal they wrote to has hung up."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        for stream in (sys.__stdout__, sys.__stderr__):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)
