"""The evdev pedal fed recorded input events through a FIFO standing in for /dev/input/eventN."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from input_doubles import RecordingTarget

from treadcoach.errors import InputDeviceError, InputDeviceUnavailable
from treadcoach.inputs.pedal import (
    DIZZY_HOLD_S,
    EVENT_FORMAT,
    EVENT_SIZE,
    KEY_CODES,
    PedalInput,
    _Node,
    _open_error,
    find_input_devices,
    key_code,
)
from treadcoach.safety.reasons import StopReason

pytestmark = pytest.mark.timeout(30)

# A USB foot switch that enumerates as a HID keyboard, pressed once, held briefly (auto-repeat),
# then a second tap, as `evtest` prints it (MSC_SCAN value is the HID usage, printed in hex:
# 0x70005 is keyboard page 'b'). The pedal sends KEY_B, as many cheap pedals do out of the box.
EVTEST_RECORDING = """
Event: time 1718280000.101174, type 4 (EV_MSC), code 4 (MSC_SCAN), value 70005
Event: time 1718280000.101174, type 1 (EV_KEY), code 48 (KEY_B), value 1
Event: time 1718280000.101174, -------------- SYN_REPORT ------------
Event: time 1718280000.601380, type 1 (EV_KEY), code 48 (KEY_B), value 2
Event: time 1718280000.601380, -------------- SYN_REPORT ------------
Event: time 1718280000.634402, type 1 (EV_KEY), code 48 (KEY_B), value 2
Event: time 1718280000.634402, -------------- SYN_REPORT ------------
Event: time 1718280000.662190, type 4 (EV_MSC), code 4 (MSC_SCAN), value 70005
Event: time 1718280000.662190, type 1 (EV_KEY), code 48 (KEY_B), value 0
Event: time 1718280000.662190, -------------- SYN_REPORT ------------
"""
_EVENT = re.compile(r"time (\d+)\.(\d+), type (\d+) \(\w+\), code (\d+) \(\w+\), value (\w+)")
_SYN = re.compile(r"time (\d+)\.(\d+), -+ SYN_REPORT")


def records(transcript: str) -> bytes:
    """evtest transcript -> the raw struct input_event bytes the kernel hands out."""
    out = b""
    for line in transcript.strip().splitlines():
        if match := _EVENT.search(line):
            sec, usec, type_, code, value = match.groups()
            base = 16 if type_ == "4" else 10  # evtest prints MSC_SCAN values in hex
            out += struct.pack(
                EVENT_FORMAT, int(sec), int(usec), int(type_), int(code), int(value, base)
            )
        elif match := _SYN.search(line):
            out += struct.pack(EVENT_FORMAT, int(match.group(1)), int(match.group(2)), 0, 0, 0)
    return out


def key_event(code: int, value: int, at_s: float = 1718280001.0) -> bytes:
    """One EV_KEY record and its SYN_REPORT, stamped ``at_s`` (the kernel's timeval)."""
    sec, usec = int(at_s), round((at_s - int(at_s)) * 1_000_000)
    return struct.pack(EVENT_FORMAT, sec, usec, 1, code, value) + struct.pack(
        EVENT_FORMAT, sec, usec, 0, 0, 0
    )


def held_for(code: int, hold_s: float, *, repeat: bool, start_s: float = 1718280100.0) -> bytes:
    """A press held ``hold_s`` then released; ``repeat``: with the kernel's auto-repeat records
    (250 ms delay, then every 33 ms) while it is held, as a keyboard-like pedal sends them."""
    out = key_event(code, 1, start_s)
    if repeat:
        at = 0.25
        while at < hold_s:
            out += key_event(code, 2, start_s + at)
            at += 0.033
    return out + key_event(code, 0, start_s + hold_s)


PRESS_B = records(EVTEST_RECORDING)


@pytest.fixture
def fake_input(tmp_path: Path) -> Iterator[tuple[Path, Path, int]]:
    """A fake /sys/class/input + /dev/input with event7 = FIFO; yields (sysfs, dev, writer fd)."""
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    for event, name in [
        ("event3", "AT Translated Set 2 keyboard"),
        ("event7", "PCsensor FootSwitch Keyboard"),
    ]:
        (sysfs / event / "device").mkdir(parents=True)
        (sysfs / event / "device" / "name").write_text(name + "\n")
    dev.mkdir()
    os.mkfifo(dev / "event7")
    # O_RDWR never blocks on a FIFO and keeps a writer alive until the test closes it.
    writer = os.open(dev / "event7", os.O_RDWR)
    yield sysfs, dev, writer
    with contextlib.suppress(OSError):
        os.close(writer)


@contextlib.asynccontextmanager
async def reading(pedal: PedalInput) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(pedal.run())
    await asyncio.sleep(0)  # let it open the FIFO and register its reader
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def pedal_on(fake: tuple[Path, Path, int], target: RecordingTarget, **options: Any) -> PedalInput:
    sysfs, dev, _ = fake
    return PedalInput(target, sysfs_root=sysfs, dev_root=dev, **options)


async def test_recorded_pedal_press_stops_once_despite_repeat_and_release(
    fake_input: tuple[Path, Path, int],
) -> None:
    target = RecordingTarget()
    pedal = pedal_on(fake_input, target, device=fake_input[1] / "event7", key="KEY_B")
    async with reading(pedal):
        os.write(fake_input[2], PRESS_B)
        os.write(fake_input[2], key_event(KEY_CODES["KEY_SPACE"], 1))  # another key: not ours
        os.write(fake_input[2], PRESS_B)  # second tap
        calls = await target.wait_calls(2)
    detail = f"pedal {fake_input[1] / 'event7'} KEY_B"
    assert calls == [("stop", StopReason.PEDAL, detail)] * 2


async def test_pedal_found_by_name_stops_on_any_key_by_default(
    fake_input: tuple[Path, Path, int],
) -> None:
    target = RecordingTarget()
    pedal = pedal_on(fake_input, target, device="footswitch")
    async with reading(pedal):
        os.write(fake_input[2], key_event(KEY_CODES["KEY_PAGEDOWN"], 1))
        calls = await target.wait_calls(1)
    assert pedal.paths == []  # closed once run() ended
    assert calls == [("stop", StopReason.PEDAL, f"pedal {fake_input[1] / 'event7'} KEY_PAGEDOWN")]


async def test_pedal_set_to_pause_pauses_on_its_key_only(
    fake_input: tuple[Path, Path, int],
) -> None:
    target = RecordingTarget()
    pedal = pedal_on(fake_input, target, device="event7", key="KEY_A", action="pause")
    async with reading(pedal):
        os.write(fake_input[2], PRESS_B)  # not the pedal's key
        os.write(fake_input[2], key_event(KEY_CODES["KEY_A"], 1) + key_event(KEY_CODES["KEY_A"], 0))
        calls = await target.wait_calls(1)
    assert calls == [("pause", StopReason.PEDAL)]


@pytest.mark.parametrize("repeat", [True, False], ids=["auto-repeat", "no-repeat"])
async def test_a_long_press_stops_on_press_down_then_upgrades_the_stop_to_dizzy(
    fake_input: tuple[Path, Path, int], repeat: bool
) -> None:
    target = RecordingTarget()
    pedal = pedal_on(fake_input, target, device="event7", key="KEY_B")
    async with reading(pedal):
        os.write(fake_input[2], key_event(48, 1, 1718280100.0))
        calls = await target.wait_calls(1)
        # the ordinary stop is out on the press-down, before the pedal is let go
        assert calls == [("stop", StopReason.PEDAL, f"pedal {fake_input[1] / 'event7'} KEY_B")]
        os.write(fake_input[2], held_for(48, 2.0, repeat=repeat)[2 * EVENT_SIZE :])
        calls = await target.wait_calls(2)
    assert len(calls) == 2  # once as dizzy, however many repeats followed
    assert calls[1][:2] == ("stop", StopReason.DIZZY)
    assert "held" in calls[1][2]


@pytest.mark.parametrize(
    ("hold_s", "dizzy"),
    [(0.1, False), (DIZZY_HOLD_S - 0.05, False), (DIZZY_HOLD_S, True), (5.0, True)],
)
@pytest.mark.parametrize("repeat", [True, False], ids=["auto-repeat", "no-repeat"])
def test_only_a_press_held_for_the_dizzy_hold_is_dizzy(
    hold_s: float, dizzy: bool, repeat: bool
) -> None:
    target = RecordingTarget()
    pedal = PedalInput(target, device="/dev/null", key="b")
    pedal.feed(_Node(Path("/dev/null"), -1), held_for(48, hold_s, repeat=repeat))
    reasons = [call[1] for call in target.calls]
    assert reasons == ([StopReason.PEDAL, StopReason.DIZZY] if dizzy else [StopReason.PEDAL])


def test_a_pause_pedal_held_long_stops_the_belt_as_dizzy() -> None:
    target = RecordingTarget()
    pedal = PedalInput(target, device="/dev/null", action="pause")
    pedal.feed(_Node(Path("/dev/null"), -1), held_for(48, 2.0, repeat=True))
    assert [call[:2] for call in target.calls] == [
        ("pause", StopReason.PEDAL),
        ("stop", StopReason.DIZZY),
    ]


def test_a_hold_is_timed_per_press_and_only_on_the_pedals_key() -> None:
    target = RecordingTarget()
    pedal = PedalInput(target, device="/dev/null", key="b")
    node = _Node(Path("/dev/null"), -1)
    # another key held long: not the pedal's; then two short taps 2 s apart: each its own hold
    pedal.feed(node, held_for(KEY_CODES["KEY_A"], 3.0, repeat=True))
    pedal.feed(node, held_for(48, 0.2, repeat=False, start_s=1718280200.0))
    pedal.feed(node, held_for(48, 0.2, repeat=False, start_s=1718280202.0))
    # a release whose press was never seen (the pedal was down before we opened it)
    pedal.feed(node, key_event(48, 0, 1718280300.0))
    # the clock stepped back during a hold: never dizzy
    pedal.feed(node, key_event(48, 1, 1718280400.0) + key_event(48, 0, 1718280000.0))
    assert [call[1] for call in target.calls] == [StopReason.PEDAL] * 3


async def test_records_split_across_reads_are_reassembled(
    fake_input: tuple[Path, Path, int],
) -> None:
    target = RecordingTarget()
    pedal = pedal_on(fake_input, target, device="event7", key=48)
    async with reading(pedal):
        half = EVENT_SIZE + EVENT_SIZE // 2  # mid-way through the EV_KEY press record
        os.write(fake_input[2], PRESS_B[:half])
        await asyncio.sleep(0.01)
        assert target.calls == []
        os.write(fake_input[2], PRESS_B[half:])
        calls = await target.wait_calls(1)
    assert calls[0][:2] == ("stop", StopReason.PEDAL)


async def test_vanished_pedal_is_reported_and_reading_ends(
    fake_input: tuple[Path, Path, int],
) -> None:
    target, lost = RecordingTarget(), []
    pedal = pedal_on(fake_input, target, device="event7", on_lost=lost.append)
    task = asyncio.create_task(pedal.run())
    await asyncio.sleep(0)
    os.close(fake_input[2])  # the only writer goes: the reader sees the device end
    async with asyncio.timeout(5):
        await task
    assert len(lost) == 1
    assert "event7" in lost[0]
    assert "gone" in lost[0]
    assert target.calls == []


def test_missing_device_names_the_path_and_the_fix(tmp_path: Path) -> None:
    pedal = PedalInput(RecordingTarget(), device=tmp_path / "event42")
    with pytest.raises(InputDeviceError) as caught:
        pedal.open()
    message = str(caught.value)
    assert str(tmp_path / "event42") in message
    assert "/dev/input/by-id" in message


def test_unreadable_device_tells_to_join_the_input_group(tmp_path: Path) -> None:
    # Tests may run as root, where chmod 000 does not stop a read: check the mapping itself.
    error = _open_error(tmp_path / "event5", PermissionError(13, "Permission denied"))
    assert isinstance(error, InputDeviceUnavailable)
    assert str(tmp_path / "event5") in str(error)
    assert "'input' group" in str(error)


def test_regular_file_is_refused_as_not_an_input_device(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputDeviceUnavailable, match="not an input device"):
        PedalInput(RecordingTarget(), device=tmp_path / "notes.txt").open()


def test_unknown_device_name_lists_the_devices_present(fake_input: tuple[Path, Path, int]) -> None:
    sysfs, dev, _ = fake_input
    with pytest.raises(InputDeviceUnavailable) as caught:
        find_input_devices("Logitech Presenter", sysfs_root=sysfs, dev_root=dev)
    assert "PCsensor FootSwitch Keyboard" in str(caught.value)


def test_exact_name_wins_over_partial_matches(tmp_path: Path) -> None:
    sysfs = tmp_path / "sys"
    for event, name in [
        ("event1", "Pedal"),
        ("event2", "Pedal Mouse"),
        ("event10", "Pedal Keyboard"),
    ]:
        (sysfs / event / "device").mkdir(parents=True)
        (sysfs / event / "device" / "name").write_text(name)
    assert find_input_devices("pedal", sysfs_root=sysfs, dev_root=Path("/d")) == [Path("/d/event1")]
    assert find_input_devices("pedal k", sysfs_root=sysfs, dev_root=Path("/d")) == [
        Path("/d/event10")
    ]
    assert find_input_devices("edal", sysfs_root=sysfs, dev_root=Path("/d")) == [
        Path("/d/event1"),
        Path("/d/event2"),
        Path("/d/event10"),
    ]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("b", 48),
        ("KEY_B", 48),
        ("key_pagedown", 109),
        ("PageUp", 104),
        ("f13", 183),
        ("KEY_F24", 194),
        ("BTN_LEFT", 0x110),
        (57, 57),
        ("28", 28),
    ],
)
def test_key_names_and_codes(key: str | int, code: int) -> None:
    assert key_code(key) == code


@pytest.mark.parametrize("key", ["KEY_NOPE", "", 0, 5000, "-3"])
def test_bad_keys_are_refused(key: str | int) -> None:
    with pytest.raises(ValueError, match="key"):
        key_code(key)


def test_key_table_matches_the_kernel_header() -> None:
    header = Path("/usr/include/linux/input-event-codes.h")
    if not header.exists():
        pytest.skip("linux-libc-dev is not installed here")
    defined = {
        name: int(value, 0)
        for name, value in re.findall(
            r"#define\s+((?:KEY|BTN)_\w+)\s+(0x[0-9a-fA-F]+|\d+)", header.read_text()
        )
    }
    assert {name: defined[name] for name in KEY_CODES} == KEY_CODES


def test_event_record_is_24_bytes_on_64_bit_linux() -> None:
    assert struct.calcsize("P") != 8 or EVENT_SIZE == 24


@given(st.binary(max_size=EVENT_SIZE * 8))
def test_any_bytes_from_the_device_either_trigger_or_are_ignored(data: bytes) -> None:
    target = RecordingTarget()
    pedal = PedalInput(target, device="/dev/null", key="b")
    pedal.feed(_Node(Path("/dev/null"), -1), data)
    for call in target.calls:
        assert call[:2] in {("stop", StopReason.PEDAL), ("stop", StopReason.DIZZY)}


def test_bad_pedal_settings_name_the_problem() -> None:
    with pytest.raises(InputDeviceUnavailable, match="unknown key"):
        PedalInput(RecordingTarget(), device="event1", key="KEY_NOPE")
    with pytest.raises(InputDeviceUnavailable, match="action"):
        PedalInput(RecordingTarget(), device="event1", action="jump")  # type: ignore[arg-type]


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_character_device_that_is_not_evdev_is_refused_when_opened(device: str) -> None:
    pedal = PedalInput(RecordingTarget(), device=device)
    with pytest.raises(InputDeviceUnavailable, match="not an input device") as caught:
        pedal.open()
    assert "/dev/input" in str(caught.value)  # the hint says where pedals live
    assert pedal.paths == []  # nothing left open


def test_a_session_with_dev_null_as_pedal_fails_in_one_line_before_the_belt_moves(
    tmp_path: Path,
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text('[inputs]\npedal_device = "/dev/null"\n')
    proc = subprocess.run(
        [
            sys.executable, "-m", "treadcoach", "run", "--sim", "--headless", "--json",
            "--plan", "backward-walk-starter", "--speedup", "inf", "--no-history",
            "--config", str(config),
        ],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "/dev/null" in proc.stderr
    assert "not an input device" in proc.stderr
    assert '"telemetry"' not in proc.stdout  # refused before the belt moved
