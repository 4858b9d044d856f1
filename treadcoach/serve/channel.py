"""The session's local channel: every served browser view attaches here, over a Unix socket.

textual-serve starts its app command once per browser connection, so the session that owns the
belt cannot live in a served app. It lives in the ``treadcoach serve`` process; each served app is
a *view* (:mod:`treadcoach.serve.view`) that connects to this channel, the way the MQTT bridge
attaches to a session through its public handle.

- Out: the session state (every ``STATE_INTERVAL_S``, and at once after any event that is not
  telemetry) and the events, one JSON line each (:mod:`treadcoach.serve.protocol`).
- In: commands. A stop is handed to ``request_stop`` the moment its line is read, before anything
  else (no hello or token needed: stopping makes things safer). Everything else needs the token
  (:data:`~treadcoach.serve.protocol.AUTHORISATION`).
- A view that goes away never stops or starts the belt (the walker may still be walking with the
  pedal or the keyboard as their stop); it is reported through ``on_view_lost``, which the serve
  command turns into a fault the computer shows and the journal keeps.
- A view too slow to read its state (its socket buffer over ``MAX_BUFFERED_BYTES``) is dropped and
  reported the same way: one stuck browser must not hold up the others or the session.

The socket lives in a directory only the user can enter and is itself ``0600``: only the user's own
processes (textual-serve's views) reach it. The token is checked here, not in the web layer, so a
view holds no authority of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from treadcoach.coach.events import Event, Telemetry
from treadcoach.coach.state import SessionState
from treadcoach.errors import ServeError
from treadcoach.safety.reasons import StopReason
from treadcoach.serve import protocol
from treadcoach.serve.protocol import Command, Hello, ViewCommand

__all__ = [
    "MAX_BUFFERED_BYTES",
    "STATE_INTERVAL_S",
    "STOP_REASON",
    "ChannelSession",
    "ViewChannel",
]

log = logging.getLogger(__name__)

STATE_INTERVAL_S = 0.25  # countdowns are whole seconds: 4 Hz keeps each number on its second
MAX_BUFFERED_BYTES = 256 * 1024  # ~200 state lines unread: that view is stuck
# A browser's stop button is a stop key on another screen (the controller treats KEY as local
# input: resume from a token holder is allowed, unlike MQTT's remote sources).
STOP_REASON = StopReason.KEY

ViewReport = Callable[[str], None]


class ChannelSession(Protocol):
    """What the channel needs of a session (``SessionHandle`` provides it)."""

    @property
    def state(self) -> SessionState: ...

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]: ...

    def request_stop(self, reason: StopReason, detail: str = "") -> None: ...

    def request_pause(self, source: StopReason) -> None: ...

    def request_resume(self, source: StopReason) -> None: ...


@dataclass(slots=True)
class _View:
    number: int
    writer: asyncio.StreamWriter
    authorised: bool = False


class ViewChannel:
    """Serve views on ``path`` until cancelled (``run()``, owned by the caller's TaskGroup)."""

    def __init__(
        self,
        session: ChannelSession,
        path: Path,
        *,
        token: str,
        on_view_lost: ViewReport | None = None,
        on_view_joined: ViewReport | None = None,
        on_mute: Callable[[bool], None] | None = None,
        state_interval_s: float = STATE_INTERVAL_S,
    ) -> None:
        self._session = session
        self.path = path
        self._token = token
        self._on_view_lost = on_view_lost
        self._on_view_joined = on_view_joined
        self._on_mute = on_mute
        self._interval_s = state_interval_s
        self._views: dict[int, _View] = {}
        self._numbers = itertools.count(1)
        self._wake = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self.muted = False
        #: set once the socket accepts connections
        self.ready = asyncio.Event()

    @property
    def view_count(self) -> int:
        return len(self._views)

    async def run(self) -> None:
        remove_listener = self._session.add_listener(self._on_event)
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                try:
                    server = await asyncio.start_unix_server(
                        self._accept, path=os.fspath(self.path), limit=protocol.MAX_LINE_BYTES
                    )
                    os.chmod(self.path, 0o600)
                except OSError as exc:
                    raise ServeError(
                        f"cannot open the views' socket {self.path}: {exc.strerror or exc}"
                    ) from exc
                try:
                    async with server:
                        self.ready.set()
                        await self._broadcast_forever()
                finally:
                    # Closing each view's socket ends its reader task (EOF), so the group can end.
                    for view in list(self._views.values()):
                        view.writer.close()
        finally:
            self._tasks = None
            remove_listener()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    # --- views ---------------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback, not a coroutine: the view's task then belongs to our TaskGroup, not to
        # a task asyncio would create and nobody would own.
        if self._tasks is None:
            writer.close()
            return
        view = _View(next(self._numbers), writer)
        self._views[view.number] = view
        self._tasks.create_task(self._serve_view(view, reader), name=f"view-{view.number}")

    async def _serve_view(self, view: _View, reader: asyncio.StreamReader) -> None:
        self._report(self._on_view_joined, f"view {view.number} connected")
        why = "disconnected"
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # over MAX_LINE_BYTES: asyncio dropped it; carry on
                    self._send(view, protocol.encode_result("", False, "line too long"))
                    continue
                if not line:
                    break
                self._handle(view, line)
        except ConnectionError as exc:
            why = f"connection lost ({exc})"
        finally:
            dropped = self._views.pop(view.number, None) is None
            view.writer.close()
            if not dropped:
                self._lost(view, why)

    def _lost(self, view: _View, why: str) -> None:
        still = len(self._views)
        self._report(
            self._on_view_lost,
            f"tablet view {view.number} {why}; the belt is left as it was "
            f"({still} view{'s' if still != 1 else ''} still connected)",
        )

    def _report(self, callback: ViewReport | None, detail: str) -> None:
        log.info("%s", detail)
        if callback is not None:
            callback(detail)

    def _handle(self, view: _View, line: bytes) -> None:
        message = protocol.decode_view_line(line)
        if isinstance(message, ViewCommand) and message.command in protocol.STOPS:
            # First, before any reply or bookkeeping: the one stop path.
            if message.command is Command.STOP_DIZZY:
                self._session.request_stop(
                    StopReason.DIZZY, f"dizzy button on tablet view {view.number}"
                )
            else:
                self._session.request_stop(STOP_REASON, f"stop button on tablet view {view.number}")
            self._send(view, protocol.encode_result(message.command.value, True))
            return
        if isinstance(message, Hello):
            view.authorised = protocol.tokens_match(message.token, self._token)
            self._send(view, protocol.encode_welcome(view.number, view.authorised))
            self._send(view, self._state_line())
            return
        if isinstance(message, ViewCommand):
            command = message.command
            if not protocol.authorise(command, view.authorised):
                log.warning("refused %s from view %d: no valid token", command, view.number)
                self._send(view, protocol.encode_result(command.value, False, "needs the token"))
                return
            self._dispatch(command)
            self._send(view, protocol.encode_result(command.value, True))
            return
        self._send(view, protocol.encode_result("", False, message.problem))

    def _dispatch(self, command: Command) -> None:
        if command is Command.PAUSE:
            self._session.request_pause(STOP_REASON)
        elif command is Command.RESUME:
            self._session.request_resume(STOP_REASON)
        else:  # mute / unmute: the computer's spoken cues
            self.muted = command is Command.MUTE
            if self._on_mute is not None:
                self._on_mute(self.muted)
            self._wake.set()

    # --- out -----------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        # Runs on the loop inside the controller: only queue bytes, never wait.
        if isinstance(event, Telemetry):
            return  # the state carries speed and distance; 10 Hz of these would be noise
        self._broadcast(protocol.encode_event(event))
        self._wake.set()

    async def _broadcast_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._views:
                self._broadcast(self._state_line())

    def _state_line(self) -> bytes:
        return protocol.encode_state(self._session.state, muted=self.muted, views=len(self._views))

    def _broadcast(self, data: bytes) -> None:
        for view in list(self._views.values()):
            self._send(view, data)

    def _send(self, view: _View, data: bytes) -> None:
        writer = view.writer
        if writer.is_closing():
            return
        if writer.transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            self._views.pop(view.number, None)
            writer.close()
            self._lost(view, "stopped reading (dropped)")
            return
        writer.write(data)
