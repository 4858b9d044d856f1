"""Escape sequences are whole keys in headless mode (red team 3-6): the byte of the dizzy, stop
or pause key inside an arrow's or F-key's sequence is not that key -- and no stop is lost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from input_doubles import RecordingTarget

from treadcoach.inputs.keys import (
    MAX_SEQUENCE_PARAMS,
    TerminalKeys,
    Token,
    TokenKind,
    scan_keys,
)
from treadcoach.safety.reasons import StopReason

T, SEQ, ALT, ESCAPE = TokenKind.TEXT, TokenKind.SEQUENCE, TokenKind.ALT, TokenKind.ESCAPE

#: what xterm, VT100 and rxvt send for keys a walker may touch by accident
SEQUENCES = {
    "left": b"\x1b[D",
    "ctrl_left": b"\x1b[1;5D",
    "ss3_left": b"\x1bOD",
    "rxvt_ctrl_left": b"\x1bOd",
    "f1": b"\x1bOP",
    "ctrl_f1_old_xterm": b"\x1bO5P",
    "delete": b"\x1b[3~",
    "shift_tab": b"\x1b[Z",
    "f5": b"\x1b[15~",
    "ctrl_f5": b"\x1b[15;5~",
}


@pytest.mark.parametrize(
    ("data", "tokens", "rest"),
    [
        (b"abc", [(T, b"abc")], b""),
        (b"\x1b[D", [(SEQ, b"\x1b[D")], b""),
        (b"a\x1b[1;5Db", [(T, b"a"), (SEQ, b"\x1b[1;5D"), (T, b"b")], b""),
        (b"\x1bOP", [(SEQ, b"\x1bOP")], b""),
        (b"\x1bd", [(ALT, b"d")], b""),  # Alt+d (or Escape then d)
        (b"\x1b\xc3\xa9x", [(ALT, "é".encode()), (T, b"x")], b""),  # Alt + a UTF-8 character
        (b"\x1b\x1b[D", [(ESCAPE, b"\x1b"), (SEQ, b"\x1b[D")], b""),
        # cut off at the end of a read: the rest may come in the next one
        (b"x\x1b", [(T, b"x")], b"\x1b"),
        (b"\x1b[1;", [], b"\x1b[1;"),
        (b"\x1bO", [], b"\x1bO"),
        # a byte that cannot continue a sequence ends it, and is read as typed
        (b"\x1b[ ", [(ALT, b"["), (T, b" ")], b""),
        (b"\x1b[1 D", [(ALT, b"["), (T, b"1 D")], b""),
        (b"\x1bO\x1b[D", [(ALT, b"O"), (SEQ, b"\x1b[D")], b""),
    ],
)
def test_terminal_input_is_scanned_into_whole_keys(
    data: bytes, tokens: list[tuple[TokenKind, bytes]], rest: bytes
) -> None:
    assert scan_keys(data) == ([Token(kind, raw) for kind, raw in tokens], rest)


def test_a_runaway_parameter_run_is_not_a_sequence_and_what_follows_is_typed() -> None:
    data = b"\x1b[" + b"1" * (MAX_SEQUENCE_PARAMS + 4) + b" "
    tokens, rest = scan_keys(data)
    assert rest == b""
    assert tokens[0] == Token(ALT, b"[")
    assert tokens[-1].kind is T
    assert tokens[-1].data.endswith(b" ")


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_an_escape_sequence_is_no_key_of_ours(name: str) -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0)  # space stops, p pauses, d is dizzy
    keys.feed(SEQUENCES[name])
    assert target.calls == []


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_an_escape_sequence_split_over_reads_is_no_key_either(name: str) -> None:
    sequence = SEQUENCES[name]
    for cut in range(1, len(sequence)):
        target = RecordingTarget()
        keys = TerminalKeys(target, fd=0)
        keys.feed(sequence[:cut])
        keys.feed(sequence[cut:])
        assert target.calls == [], (name, cut)


def test_the_stop_key_in_a_read_full_of_escape_sequences_still_stops() -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0)
    keys.feed(b"\x1b[D\x1b[1;5D \x1bOP\x1b[C")
    assert target.calls == [("stop", StopReason.KEY, "terminal key space")]


def test_a_stop_after_a_sequence_cut_off_mid_read_still_stops_and_the_cut_is_not_typed() -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0)
    keys.feed(b" \x1b[")  # the stop, then an arrow cut off by the read
    keys.feed(b"D")  # the arrow's end: not the dizzy key
    assert target.calls == [("stop", StopReason.KEY, "terminal key space")]


def test_a_space_after_a_truncated_sequence_is_the_stop_key() -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0)
    keys.feed(b"\x1b[1;")  # a sequence the terminal never finished
    keys.feed(b" ")
    assert target.calls == [("stop", StopReason.KEY, "terminal key space")]


@pytest.mark.parametrize(
    ("data", "call"),
    [
        (b"\x1b ", ("stop", StopReason.KEY, "terminal key space")),  # Alt+space, or Esc space
        (b"\x1bd", ("stop", StopReason.DIZZY, "dizzy key")),
    ],
)
def test_esc_then_a_stop_key_in_one_read_stops(data: bytes, call: tuple[object, ...]) -> None:
    # Escape then the key typed fast looks exactly like Alt+key: in doubt, stop
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0)
    keys.feed(data)
    assert target.calls == [call]


def test_an_alt_chord_of_the_pause_key_is_ignored() -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0)
    keys.feed(b"\x1bp")
    assert target.calls == []


@pytest.mark.parametrize(
    ("stop_key", "data"),
    [
        ("pagedown", b"\x1b[6~"),
        ("pagedown", b"\x1b[6;5~"),  # Ctrl+PageDown: a modifier held is still the stop key
        ("f1", b"\x1bOP"),
        ("f5", b"\x1b[15;2~"),
        ("up", b"\x1b[1;2A"),
        ("up", b"\x1bOA"),
    ],
)
def test_a_stop_key_that_is_an_escape_sequence_stops(stop_key: str, data: bytes) -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0, stop_key=stop_key, pause_key=None)
    keys.feed(data)
    assert target.calls == [("stop", StopReason.KEY, f"terminal key {stop_key}")]


def test_escape_as_the_stop_key_stops_at_once_but_an_arrow_is_not_escape() -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0, stop_key="escape", pause_key=None)
    keys.feed(b"\x1b[D")
    assert target.calls == []
    keys.feed(b"\x1b")  # alone at the end of a read: the Escape key, not waited on
    assert target.calls == [("stop", StopReason.KEY, "terminal key escape")]


# --- property: a stop-key byte outside an escape sequence always stops ------------------------

_typed = st.binary(min_size=1, max_size=6).filter(lambda b: b"\x1b" not in b)
_params = st.text(alphabet="0123456789;", max_size=5).map(str.encode)
_final = st.integers(0x40, 0x7E).map(lambda b: bytes([b]))
_sequence = st.builds(lambda intro, params, final: b"\x1b" + intro + params + final,
                      st.sampled_from([b"[", b"O"]), _params, _final)  # fmt: skip
_segments = st.lists(
    st.one_of(st.tuples(st.just("typed"), _typed), st.tuples(st.just("seq"), _sequence)),
    max_size=12,
)


@given(_segments, st.lists(st.integers(1, 8), max_size=30))
def test_a_stop_or_dizzy_byte_outside_an_escape_sequence_always_stops(
    segments: list[tuple[str, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(raw for _, raw in segments)
    reads, at = [], 0
    for size in cuts:
        reads.append(stream[at : at + size])
        at += size
    reads.append(stream[at:])
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0, pause_key=None)
    for chunk in reads:
        if chunk:
            keys.feed(chunk)
    typed = b"".join(raw for kind, raw in segments if kind == "typed")
    stops = [c for c in target.calls if c[0] == "stop"]
    assert bool(stops) == any(k in typed for k in (b" ", b"d", b"D")), (segments, target.calls)
    dizzy = any(c[1] is StopReason.DIZZY for c in stops)
    assert dizzy == any(k in typed for k in (b"d", b"D")), (segments, target.calls)
