"""The channel's codec and authorisation table (pure)."""

from __future__ import annotations

import pytest

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import Phase, SegmentView, SessionState
from treadcoach.serve import protocol
from treadcoach.serve.protocol import (
    AUTHORISATION,
    STOPS,
    Access,
    BadLine,
    Command,
    Hello,
    StateUpdate,
    ViewCommand,
    authorise,
    decode_view_line,
)


@pytest.mark.parametrize(
    ("command", "authorised", "allowed"),
    [
        (Command.STOP, False, True),
        (Command.STOP, True, True),
        (Command.STOP_DIZZY, False, True),
        (Command.STOP_DIZZY, True, True),
        (Command.PAUSE, False, False),
        (Command.PAUSE, True, True),
        (Command.RESUME, False, False),
        (Command.RESUME, True, True),
        (Command.MUTE, False, False),
        (Command.MUTE, True, True),
        (Command.UNMUTE, False, False),
        (Command.UNMUTE, True, True),
    ],
)
def test_only_stop_is_allowed_without_the_token(
    command: Command, authorised: bool, allowed: bool
) -> None:
    assert authorise(command, authorised) is allowed


def test_every_command_has_a_row_and_only_the_stops_are_open_to_anyone() -> None:
    assert set(AUTHORISATION) == set(Command)
    assert {c for c, a in AUTHORISATION.items() if a is Access.ANYONE} == STOPS
    assert {Command.STOP, Command.STOP_DIZZY} == STOPS


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"command","command":"stop"}\n',
        b'{"command":"STOP"}',
        b'{"type":"command","command":" Stop ","extra":1}',
        b'{"type":"nonsense","command":"stop","token":42}',
        b'{"command":"stop","pad":"' + b"x" * (protocol.MAX_LINE_BYTES + 10) + b'"}',
    ],
)
def test_any_object_naming_stop_is_a_stop(line: bytes) -> None:
    assert decode_view_line(line) == ViewCommand(Command.STOP)


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"command","command":"stop_dizzy"}\n',
        b'{"command":"STOP_DIZZY"}',
        b'{"type":"command","command":" Stop_Dizzy ","extra":1}',
        b'{"command":"stop_dizzy","pad":"' + b"x" * (protocol.MAX_LINE_BYTES + 10) + b'"}',
    ],
)
def test_any_object_naming_stop_dizzy_is_the_dizzy_stop(line: bytes) -> None:
    assert decode_view_line(line) == ViewCommand(Command.STOP_DIZZY)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"stop\n", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"type":"command","command":"speed"}', "unknown command 'speed'"),
        (b'{"type":"command","command":"pause","kmh":3}', "command takes one string 'command'"),
        (b'{"type":"hello","token":5}', "hello takes one string 'token'"),
        (b'{"type":"bye"}', "unknown message type 'bye'"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: bytes, problem: str) -> None:
    assert decode_view_line(line) == BadLine(problem)


def test_hello_and_commands_round_trip() -> None:
    assert decode_view_line(protocol.encode_hello("abc")) == Hello("abc")
    for command in Command:
        assert decode_view_line(protocol.encode_command(command)) == ViewCommand(command)


def test_state_round_trips_into_the_same_session_state() -> None:
    state = SessionState(
        phase=Phase.RUNNING,
        plan_name="walk",
        segment=SegmentView(2, SegmentKind.BACKWARD_WALK, 3.0, 60.0, None, "slow"),
        remaining=12.5,
        speed_kmh=2.9,
        turnaround_countdown_s=3,
        faults=("view_lost",),
    )
    decoded = protocol.decode_server_line(protocol.encode_state(state, muted=True, views=2))
    assert decoded == StateUpdate(state, muted=True, views=2)


def test_tokens_match_only_the_configured_non_empty_token() -> None:
    assert protocol.tokens_match("t0k", "t0k")
    assert not protocol.tokens_match("t0K", "t0k")
    assert not protocol.tokens_match("", "")
    assert not protocol.tokens_match("", "t0k")
