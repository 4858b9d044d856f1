"""The headless terminal stop key, driven through a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import termios
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from input_doubles import RecordingTarget

from treadcoach.config import RESERVED_KEYS
from treadcoach.errors import InputDeviceUnavailable
from treadcoach.inputs.keys import TerminalKeys, terminal_key_sequences
from treadcoach.safety.reasons import StopReason

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """(master, slave): the test types on master, TerminalKeys reads the slave like stdin."""
    master, slave = pty.openpty()
    yield master, slave
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.asynccontextmanager
async def watching(keys: TerminalKeys) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(keys.run())
    await asyncio.sleep(0)  # its first step sets cbreak mode and registers the reader
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def lflags(fd: int) -> int:
    return int(termios.tcgetattr(fd)[3])


async def test_space_stops_the_belt(terminal: tuple[int, int]) -> None:
    master, slave = terminal
    target = RecordingTarget()
    async with watching(TerminalKeys(target, fd=slave)):
        os.write(master, b" ")
        calls = await target.wait_calls(1)
    assert calls == [("stop", StopReason.KEY, "terminal key space")]


async def test_pause_key_pauses_and_other_keys_do_nothing(terminal: tuple[int, int]) -> None:
    master, slave = terminal
    target = RecordingTarget()
    async with watching(TerminalKeys(target, fd=slave, pause_key="p")):
        os.write(master, b"xyz")
        os.write(master, b"P")  # caps lock on: still the pause key
        calls = await target.wait_calls(1)
        os.write(master, b" ")
        calls = await target.wait_calls(2)
    assert calls == [("pause", StopReason.KEY), ("stop", StopReason.KEY, "terminal key space")]


async def test_the_pause_key_resumes_a_paused_session(terminal: tuple[int, int]) -> None:
    # docs: "the same keys work" headless; after a pedal_lost pause this is the only way on.
    master, slave = terminal
    target = RecordingTarget()
    async with watching(TerminalKeys(target, fd=slave, pause_key="p")):
        os.write(master, b"p")
        await target.wait_calls(1)
        os.write(master, b"p")
        await target.wait_calls(2)
        os.write(master, b"p")
        calls = await target.wait_calls(3)
    assert calls == [
        ("pause", StopReason.KEY),
        ("resume", StopReason.KEY),
        ("pause", StopReason.KEY),
    ]


async def test_a_pause_from_elsewhere_is_resumed_by_the_pause_key(
    terminal: tuple[int, int],
) -> None:
    master, slave = terminal
    target = RecordingTarget()
    target.request_pause(StopReason.PEDAL)  # e.g. the pedal was unplugged: pedal_lost pause
    async with watching(TerminalKeys(target, fd=slave, pause_key="p")):
        os.write(master, b"p")
        calls = await target.wait_calls(2)
    assert calls == [("pause", StopReason.PEDAL), ("resume", StopReason.KEY)]


async def test_clicker_pagedown_split_over_two_reads_still_stops(terminal: tuple[int, int]) -> None:
    master, slave = terminal
    target = RecordingTarget()
    async with watching(TerminalKeys(target, fd=slave, stop_key="pagedown", pause_key=None)):
        os.write(master, b"\x1b[6")
        await asyncio.sleep(0.02)
        assert target.calls == []
        os.write(master, b"~")
        calls = await target.wait_calls(1)
    assert calls == [("stop", StopReason.KEY, "terminal key pagedown")]


async def test_cbreak_while_watching_and_terminal_restored_after(terminal: tuple[int, int]) -> None:
    _master, slave = terminal
    before = termios.tcgetattr(slave)
    assert lflags(slave) & termios.ICANON
    async with watching(TerminalKeys(RecordingTarget(), fd=slave)):
        during = lflags(slave)
        assert not during & termios.ICANON
        assert not during & termios.ECHO
        assert during & termios.ISIG  # Ctrl-C still reaches the SIGINT stop path
        cc = termios.tcgetattr(slave)[6]
        off = bytes([os.fpathconf(slave, "PC_VDISABLE")])
        assert cc[termios.VSUSP] == off  # Ctrl-Z must not freeze us with the belt running
        assert cc[termios.VQUIT] == off
        assert cc[termios.VINTR] == b"\x03"
    assert termios.tcgetattr(slave) == before


async def test_terminal_going_away_is_reported(terminal: tuple[int, int]) -> None:
    master, slave = terminal
    lost: list[str] = []
    task = asyncio.create_task(TerminalKeys(RecordingTarget(), fd=slave, on_lost=lost.append).run())
    await asyncio.sleep(0)
    os.close(master)  # the terminal window closes: reads on the slave fail with EIO
    async with asyncio.timeout(5):
        await task
    assert len(lost) == 1
    assert "gone" in lost[0]


async def test_not_a_terminal_is_refused_with_a_clear_message() -> None:
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(InputDeviceUnavailable, match="not a terminal"):
            await TerminalKeys(RecordingTarget(), fd=read_end).run()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_same_stop_and_pause_key_is_refused() -> None:
    with pytest.raises(InputDeviceUnavailable, match="same"):
        TerminalKeys(RecordingTarget(), stop_key="s", pause_key="S", fd=0)


@pytest.mark.parametrize(
    ("key", "sequences"),
    [
        ("space", (b" ",)),
        ("s", (b"S", b"s")),
        ("full_stop", (b".",)),
        ("comma", (b",",)),
        ("ctrl+x", (b"\x18",)),
        ("PageDown", (b"\x1b[6~",)),
        ("esc", (b"\x1b",)),
    ],
)
def test_terminal_key_names_match_the_tui(key: str, sequences: tuple[bytes, ...]) -> None:
    assert terminal_key_sequences(key) == sequences


@pytest.mark.parametrize("key", ["shift+tab", "\x03", "f13", "", "bogus_key_name"])
def test_unknown_terminal_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        terminal_key_sequences(key)


@pytest.mark.parametrize("key", [*sorted(RESERVED_KEYS), "Q", "ctrl+Z"])
def test_headless_refuses_the_same_reserved_keys_as_the_config(key: str) -> None:
    # one list (treadcoach.config.RESERVED_KEYS) for config, TUI and headless
    with pytest.raises(ValueError, match="cannot be used"):
        terminal_key_sequences(key)
    with pytest.raises(InputDeviceUnavailable, match="cannot be used"):
        TerminalKeys(RecordingTarget(), stop_key=key, pause_key=None, fd=0)


@given(st.lists(st.binary(min_size=1, max_size=8), max_size=20))
def test_stop_fires_exactly_when_a_space_was_typed(chunks: list[bytes]) -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0, pause_key=None, dizzy_key=None)
    for chunk in chunks:
        keys.feed(chunk)
    assert bool(target.calls) == any(b" " in chunk for chunk in chunks)


@given(st.lists(st.binary(min_size=1, max_size=8).filter(lambda b: b"\x1b" not in b), max_size=20))
def test_a_typed_d_is_the_dizzy_stop_and_a_space_the_ordinary_one(chunks: list[bytes]) -> None:
    # typed bytes only (no escape sequences: tests/inputs/test_keys_escape.py has those)
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0, pause_key=None)
    for chunk in chunks:
        keys.feed(chunk)
    expected = []
    for chunk in chunks:
        if b"d" in chunk or b"D" in chunk:
            expected.append(("stop", StopReason.DIZZY, "dizzy key"))
        elif b" " in chunk:
            expected.append(("stop", StopReason.KEY, "terminal key space"))
    assert target.calls == expected


async def test_d_is_the_dizzy_stop_in_a_terminal(terminal: tuple[int, int]) -> None:
    master, slave = terminal
    target = RecordingTarget()
    async with watching(TerminalKeys(target, fd=slave)):
        os.write(master, b" ")  # the ordinary stop first, then "I feel dizzy": upgrades it
        await target.wait_calls(1)
        os.write(master, b"D")  # caps lock on: still the dizzy key
        calls = await target.wait_calls(2)
    assert calls == [
        ("stop", StopReason.KEY, "terminal key space"),
        ("stop", StopReason.DIZZY, "dizzy key"),
    ]


@pytest.mark.parametrize(("stop_key", "pause_key"), [("d", "p"), ("space", "d")])
def test_a_stop_or_pause_key_set_to_d_keeps_its_meaning(stop_key: str, pause_key: str) -> None:
    target = RecordingTarget()
    keys = TerminalKeys(target, fd=0, stop_key=stop_key, pause_key=pause_key)
    assert keys.dizzy_key is None
    keys.feed(b"d")
    assert target.calls[0][:2] in {("stop", StopReason.KEY), ("pause", StopReason.KEY)}
