"""The channel's wire format and who may ask for what: pure, no I/O (h11's shape).

One JSON object per line (UTF-8, ``\\n``-terminated) each way over the session's Unix socket.

View -> session::

    {"type": "hello", "token": "..."}           once, first (the token may be "")
    {"type": "command", "command": "stop"}      stop | stop_dizzy | pause | resume | mute | unmute

Session -> view::

    {"type": "welcome", "view": 3, "authorised": false}
    {"type": "state", "state": {...SessionState...}, "muted": false, "views": 2}
    {"type": "event", "event": {...an Event as the JSON event stream has it...}}
    {"type": "result", "command": "pause", "ok": false, "detail": "..."}

A stop is the one command that must never be lost to formatting: any line that names ``stop`` (or
``stop_dizzy``, the dizzy stop: the same stop, recorded as dizzy) as its command -- before or
without a hello, with extra keys, in any case -- is that stop (:func:`decode_view_line`). Everything else is strict; a bad line gets a ``result`` and is dropped,
the connection stays up.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from pydantic import TypeAdapter

from treadcoach.coach.events import Event
from treadcoach.coach.state import SessionState

__all__ = [
    "AUTHORISATION",
    "MAX_LINE_BYTES",
    "STOPS",
    "Access",
    "BadLine",
    "Command",
    "EventUpdate",
    "Hello",
    "Result",
    "ServerMessage",
    "StateUpdate",
    "ViewCommand",
    "ViewMessage",
    "Welcome",
    "authorise",
    "decode_server_line",
    "decode_view_line",
    "encode_command",
    "encode_event",
    "encode_hello",
    "encode_result",
    "encode_state",
    "encode_welcome",
    "tokens_match",
]

# A view's lines are a few dozen bytes; a line longer than this is garbage (or an attack on
# memory) and is dropped. State lines from the session are longer but well under it.
MAX_LINE_BYTES = 16 * 1024

_STATE = TypeAdapter(SessionState)
_EVENT: TypeAdapter[Event] = TypeAdapter(Event)


class Command(StrEnum):
    STOP = "stop"
    STOP_DIZZY = "stop_dizzy"  # the walker feels dizzy: the same stop, recorded as dizzy
    PAUSE = "pause"
    RESUME = "resume"
    MUTE = "mute"
    UNMUTE = "unmute"


class Access(Enum):
    ANYONE = "anyone"  # makes things safer: never refused
    TOKEN = "token"  # changes what the belt or the computer does: the token holder only


# The commands that stop the belt: never refused, never lost to formatting.
STOPS = frozenset({Command.STOP, Command.STOP_DIZZY})

# The one owner of "who may do what" (a table, so a test can read every row).
AUTHORISATION: dict[Command, Access] = {
    Command.STOP: Access.ANYONE,
    Command.STOP_DIZZY: Access.ANYONE,
    Command.PAUSE: Access.TOKEN,
    Command.RESUME: Access.TOKEN,
    Command.MUTE: Access.TOKEN,
    Command.UNMUTE: Access.TOKEN,
}


def authorise(command: Command, authorised: bool) -> bool:
    """Whether a view that did (``authorised``) or did not give the token may send ``command``."""
    return AUTHORISATION[command] is Access.ANYONE or authorised


def tokens_match(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty token never matches (no token configured = locked)."""
    return bool(given) and bool(expected) and secrets.compare_digest(given, expected)


# --- view -> session -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    token: str


@dataclass(frozen=True, slots=True)
class ViewCommand:
    command: Command


@dataclass(frozen=True, slots=True)
class BadLine:
    problem: str


ViewMessage = Hello | ViewCommand | BadLine


def decode_view_line(line: bytes) -> ViewMessage:
    """One line from a view. Never raises: garbage is a :class:`BadLine` saying what is wrong."""
    stop = _named_stop(line)
    if stop is not None:
        return ViewCommand(stop)
    if len(line) > MAX_LINE_BYTES:
        return BadLine(f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return BadLine("not JSON")
    if not isinstance(message, dict):
        return BadLine("not a JSON object")
    kind = message.get("type")
    if kind == "hello":
        token = message.get("token", "")
        if not isinstance(token, str) or set(message) - {"type", "token"}:
            return BadLine("hello takes one string 'token'")
        return Hello(token)
    if kind == "command":
        name = message.get("command")
        if set(message) != {"type", "command"} or not isinstance(name, str):
            return BadLine("command takes one string 'command'")
        try:
            return ViewCommand(Command(name.strip().lower()))
        except ValueError:
            return BadLine(f"unknown command {name!r}")
    return BadLine(f"unknown message type {kind!r}")


def _named_stop(line: bytes) -> Command | None:
    """The stop a JSON object names as its ``command`` (any case, any other keys), however long."""
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    name = message.get("command")
    if not isinstance(name, str):
        return None
    name = name.strip().lower()
    return next((stop for stop in STOPS if stop.value == name), None)


def encode_hello(token: str) -> bytes:
    return _line({"type": "hello", "token": token})


def encode_command(command: Command) -> bytes:
    return _line({"type": "command", "command": command.value})


# --- session -> view -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    view: int
    authorised: bool


@dataclass(frozen=True, slots=True)
class StateUpdate:
    state: SessionState
    muted: bool
    views: int


@dataclass(frozen=True, slots=True)
class EventUpdate:
    event: Event


@dataclass(frozen=True, slots=True)
class Result:
    command: str
    ok: bool
    detail: str


ServerMessage = Welcome | StateUpdate | EventUpdate | Result


def encode_welcome(view: int, authorised: bool) -> bytes:
    return _line({"type": "welcome", "view": view, "authorised": authorised})


def encode_state(state: SessionState, *, muted: bool, views: int) -> bytes:
    payload = {"type": "state", "state": _STATE.dump_python(state, mode="json")}
    payload["muted"] = muted
    payload["views"] = views
    return _line(payload)


def encode_event(event: Event) -> bytes:
    return _line({"type": "event", "event": event.model_dump(mode="json")})


def encode_result(command: str, ok: bool, detail: str = "") -> bytes:
    return _line({"type": "result", "command": command, "ok": ok, "detail": detail})


def decode_server_line(line: bytes) -> ServerMessage:
    """One line from the session; raises ``ValueError`` on anything else (a bug on our side)."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    kind = message.get("type")
    if kind == "welcome":
        return Welcome(view=int(message["view"]), authorised=bool(message["authorised"]))
    if kind == "state":
        return StateUpdate(
            state=_STATE.validate_python(message["state"]),
            muted=bool(message["muted"]),
            views=int(message["views"]),
        )
    if kind == "event":
        return EventUpdate(_EVENT.validate_python(message["event"]))
    if kind == "result":
        return Result(str(message["command"]), bool(message["ok"]), str(message["detail"]))
    raise ValueError(f"unknown message type {kind!r}")


def _line(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode() + b"\n"
