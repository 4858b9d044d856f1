"""A USB foot pedal or presenter clicker as a stop input, read straight from Linux evdev.

No python-evdev needed: the device node hands out fixed-size ``struct input_event`` records
(``struct timeval`` as two native longs, then u16 type, u16 code, s32 value: 24 bytes on 64-bit
Linux). We read them without grabbing the device (no EVIOCGRAB), so the pedal's key still reaches
other programs. A press (EV_KEY, value 1) of the chosen key (or of any key) calls
``request_stop(StopReason.PEDAL)``, or ``request_pause`` when the action is ``pause``, at once on
the press-down: the ordinary stop never waits to learn how long the pedal is held.

Holding the pedal down for :data:`DIZZY_HOLD_S` or longer is the "I feel dizzy" stop: it then calls
``request_stop(StopReason.DIZZY)`` as well, which upgrades the reason of the stop already under way
(the controller records it as ``dizzy``; a pause pedal held that long stops the belt). The hold is
measured on the kernel's own event timestamps, from the press to an auto-repeat (value 2, which a
keyboard-like pedal sends about every 33 ms while held) or to the release (value 0, for pedals that
do not repeat), so it needs no timer and holding on stops once as ordinary and once as dizzy.

The device is named by path (``/dev/input/by-id/usb-...-event-kbd`` is stable across reboots) or by
the name the kernel reports (``cat /proc/bus/input/devices``). A name may match several event nodes
(pedals often expose a keyboard and a mouse node): all are read. A FIFO is accepted as well as a
character device, so a recording can be replayed into it.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import re
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from treadcoach.errors import InputDeviceUnavailable
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.stop import StopTarget

__all__ = [
    "DIZZY_HOLD_S",
    "EVENT_FORMAT",
    "EVENT_SIZE",
    "EV_KEY",
    "EV_MSC",
    "EV_SYN",
    "KEY_CODES",
    "PedalInput",
    "find_input_devices",
    "key_code",
    "key_name",
    "list_input_devices",
]

log = logging.getLogger(__name__)

EVENT_FORMAT = "llHHi"  # struct input_event: timeval (2 longs), type, code, value
EVENT_SIZE = struct.calcsize(EVENT_FORMAT)
EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
RELEASE, PRESS, REPEAT = 0, 1, 2  # EV_KEY values

# A press held at least this long is the dizzy stop (CONTRACTS.md): long enough that a firm tap
# is never one, short enough to hold on to while the belt runs down.
DIZZY_HOLD_S = 1.5

SYSFS_INPUT = Path("/sys/class/input")
DEV_INPUT = Path("/dev/input")

# From linux/input-event-codes.h: the keys pedals and clickers send (a test checks the header).
KEY_CODES: dict[str, int] = {
    **{f"KEY_{c}": code for c, code in zip("1234567890", range(2, 12), strict=True)},
    **{f"KEY_{c}": code for c, code in zip("QWERTYUIOP", range(16, 26), strict=True)},
    **{f"KEY_{c}": code for c, code in zip("ASDFGHJKL", range(30, 39), strict=True)},
    **{f"KEY_{c}": code for c, code in zip("ZXCVBNM", range(44, 51), strict=True)},
    **{f"KEY_F{n}": 58 + n for n in range(1, 11)},
    "KEY_F11": 87,
    "KEY_F12": 88,
    **{f"KEY_F{n}": 170 + n for n in range(13, 25)},
    "KEY_ESC": 1,
    "KEY_BACKSPACE": 14,
    "KEY_TAB": 15,
    "KEY_ENTER": 28,
    "KEY_LEFTCTRL": 29,
    "KEY_LEFTSHIFT": 42,
    "KEY_COMMA": 51,
    "KEY_DOT": 52,
    "KEY_RIGHTSHIFT": 54,
    "KEY_LEFTALT": 56,
    "KEY_SPACE": 57,
    "KEY_RIGHTCTRL": 97,
    "KEY_RIGHTALT": 100,
    "KEY_HOME": 102,
    "KEY_UP": 103,
    "KEY_PAGEUP": 104,
    "KEY_LEFT": 105,
    "KEY_RIGHT": 106,
    "KEY_END": 107,
    "KEY_DOWN": 108,
    "KEY_PAGEDOWN": 109,
    "KEY_INSERT": 110,
    "KEY_DELETE": 111,
    "KEY_MUTE": 113,
    "KEY_VOLUMEDOWN": 114,
    "KEY_VOLUMEUP": 115,
    "KEY_PAUSE": 119,
    "KEY_NEXTSONG": 163,
    "KEY_PLAYPAUSE": 164,
    "KEY_PREVIOUSSONG": 165,
    "KEY_STOPCD": 166,
    **{f"BTN_{n}": 0x100 + n for n in range(10)},
    "BTN_LEFT": 0x110,
    "BTN_RIGHT": 0x111,
    "BTN_MIDDLE": 0x112,
}
_NAMES = {code: name for name, code in KEY_CODES.items()}


def key_code(key: str | int) -> int:
    """``"b"``, ``"KEY_B"``, ``"pagedown"``, ``"BTN_LEFT"``, ``48`` or ``"48"`` -> the evdev code."""
    if isinstance(key, int):
        code = key
    elif key.strip().isdigit():
        code = int(key.strip())
    else:
        name = key.strip().upper()
        if not name.startswith(("KEY_", "BTN_")):
            name = f"KEY_{name}"
        if name not in KEY_CODES:
            raise ValueError(
                f"unknown key {key!r}: use a name like KEY_B, KEY_PAGEDOWN, KEY_F13, BTN_LEFT or "
                "the numeric code (run 'evtest' to see what your pedal sends)"
            )
        code = KEY_CODES[name]
    if not 0 < code < 0x300:  # KEY_MAX is 0x2ff
        raise ValueError(f"key code {code} is outside the evdev key range 1..767")
    return code


def key_name(code: int) -> str:
    return _NAMES.get(code, f"key {code}")


def list_input_devices(sysfs_root: Path = SYSFS_INPUT) -> list[tuple[str, str]]:
    """``(eventN, name)`` for every input event node the kernel lists."""
    found = []
    for entry in sorted(sysfs_root.glob("event*"), key=lambda p: _event_number(p.name)):
        try:
            name = (entry / "device" / "name").read_text(errors="replace").strip()
        except OSError:
            continue
        found.append((entry.name, name))
    return found


def _event_number(name: str) -> int:
    match = re.fullmatch(r"event(\d+)", name)
    return int(match.group(1)) if match else -1


def find_input_devices(
    name: str, *, sysfs_root: Path = SYSFS_INPUT, dev_root: Path = DEV_INPUT
) -> list[Path]:
    """Event nodes whose device name is ``name`` (case-insensitive), else contains it."""
    devices = list_input_devices(sysfs_root)
    wanted = name.strip().casefold()
    exact = [event for event, dev_name in devices if dev_name.casefold() == wanted]
    partial = [event for event, dev_name in devices if wanted in dev_name.casefold()]
    matches = exact or partial
    if not matches:
        present = "; ".join(f"{event}: {dev_name}" for event, dev_name in devices) or "none"
        raise InputDeviceUnavailable(
            name,
            "no input device has that name",
            f"Plug it in, or pick one of these names ({present}).",
        )
    return [dev_root / event for event in matches]


def _open_error(path: Path, exc: OSError) -> InputDeviceUnavailable:
    if isinstance(exc, PermissionError):
        return InputDeviceUnavailable(
            str(path),
            "permission denied",
            "Add yourself to the 'input' group (sudo usermod -aG input $USER, then log out and in), "
            "or add a udev rule that gives your user read access to this device.",
        )
    if isinstance(exc, FileNotFoundError):
        return InputDeviceUnavailable(
            str(path),
            "no such device",
            "Check that it is plugged in; 'ls -l /dev/input/by-id/' lists stable paths, and "
            "'cat /proc/bus/input/devices' lists names.",
        )
    return InputDeviceUnavailable(
        str(path), f"cannot be opened ({exc.strerror or exc})", "Check the device path."
    )


# EVIOCGVERSION = _IOR('E', 0x01, int): every evdev node answers it; other devices fail ENOTTY.
_EVIOCGVERSION = 0x80044501


def _is_evdev(fd: int) -> bool:
    try:
        fcntl.ioctl(fd, _EVIOCGVERSION, bytearray(4))
    except OSError:
        return False
    return True


class _Node:
    """One open event node and its partial-record buffer."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.buffer = b""
        # key code -> when it went down (the event's timestamp, s), while it is held
        self.down_at: dict[int, float] = {}
        # keys whose current hold has already been reported as dizzy
        self.dizzy: set[int] = set()


class PedalInput:
    """Stop (or pause) on an evdev key press. ``open()`` early, then ``await run()``."""

    def __init__(
        self,
        target: StopTarget,
        *,
        device: str | Path,
        key: str | int | None = None,
        action: Literal["stop", "pause"] = "stop",
        on_lost: Callable[[str], None] | None = None,
        sysfs_root: Path = SYSFS_INPUT,
        dev_root: Path = DEV_INPUT,
    ) -> None:
        """``key=None`` acts on any key press: right for a one-key pedal (maps ``[inputs]``
        ``pedal_device``, ``pedal_key``, ``pedal_action``)."""
        self._target = target
        self.device = str(device)
        try:
            self._code = key_code(key) if key is not None else None
        except ValueError as exc:
            raise InputDeviceUnavailable(
                self.device, str(exc), "Fix the pedal key setting."
            ) from None
        if action not in ("stop", "pause"):
            raise InputDeviceUnavailable(
                self.device, f"unknown pedal action {action!r}", "Use 'stop' or 'pause'."
            )
        self.action = action
        self._on_lost = on_lost
        self._sysfs_root = sysfs_root
        self._dev_root = dev_root
        self._nodes: list[_Node] = []
        self._all_gone: asyncio.Future[None] | None = None

    @property
    def paths(self) -> list[Path]:
        return [node.path for node in self._nodes]

    def _resolve(self) -> list[Path]:
        if "/" in self.device:
            return [Path(self.device)]
        if re.fullmatch(r"event\d+", self.device):
            return [self._dev_root / self.device]
        return find_input_devices(self.device, sysfs_root=self._sysfs_root, dev_root=self._dev_root)

    def open(self) -> None:
        """Find and open the device node(s); raise InputDeviceUnavailable naming the fix."""
        if self._nodes:
            return
        opened: list[_Node] = []
        try:
            for path in self._resolve():
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                except OSError as exc:
                    raise _open_error(path, exc) from None
                opened.append(_Node(path, fd))
                mode = os.fstat(fd).st_mode
                # A FIFO stands in for a device in tests; a character device must answer the
                # evdev version ioctl, or reading it would fail later (/dev/null cannot even be
                # polled) with the belt running.
                if not (stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and _is_evdev(fd))):
                    raise InputDeviceUnavailable(
                        str(path),
                        "is not an input device",
                        "Point it at /dev/input/eventN or /dev/input/by-id/...-event-kbd.",
                    )
        except BaseException:
            for node in opened:
                os.close(node.fd)
            raise
        self._nodes = opened
        log.info("stop pedal: reading %s", ", ".join(str(n.path) for n in opened))

    def close(self) -> None:
        for node in self._nodes:
            os.close(node.fd)
        self._nodes = []

    async def run(self) -> None:
        """Read until cancelled, or until every node is gone (each loss is told to ``on_lost``)."""
        self.open()
        loop = asyncio.get_running_loop()
        self._all_gone = loop.create_future()
        try:
            for node in self._nodes:
                loop.add_reader(node.fd, self._readable, node)
            await self._all_gone
        finally:
            for node in self._nodes:
                loop.remove_reader(node.fd)
            self.close()

    def _readable(self, node: _Node) -> None:
        while True:
            try:
                chunk = os.read(node.fd, EVENT_SIZE * 64)
            except BlockingIOError:
                return
            except OSError as exc:
                # ENODEV: the pedal was unplugged.
                why = "unplugged" if exc.errno == errno.ENODEV else (exc.strerror or str(exc))
                self._lost(node, why)
                return
            if not chunk:
                self._lost(node, "end of input")
                return
            self.feed(node, chunk)

    def feed(self, node: _Node, chunk: bytes) -> None:
        data = node.buffer + chunk
        whole = len(data) - len(data) % EVENT_SIZE
        node.buffer = data[whole:]
        for sec, usec, type_, code, value in struct.iter_unpack(EVENT_FORMAT, data[:whole]):
            if type_ != EV_KEY or (self._code is not None and code != self._code):
                continue
            at = sec + usec / 1_000_000
            if value == PRESS:
                node.down_at[code] = at
                node.dizzy.discard(code)
                self._pressed(node, code)
            elif value in (REPEAT, RELEASE):
                self._held(node, code, at, released=value == RELEASE)

    def _held(self, node: _Node, code: int, at: float, *, released: bool) -> None:
        """An auto-repeat or the release of a key that is down: held long enough for dizzy?"""
        down = node.down_at.get(code)
        already = code in node.dizzy
        if released:
            node.down_at.pop(code, None)
            node.dizzy.discard(code)
        if down is None or already or at - down < DIZZY_HOLD_S:
            return  # (a clock stepped back gives a negative hold: not dizzy)
        if not released:
            node.dizzy.add(code)  # once per hold, however long the repeats go on
        try:
            self._target.request_stop(
                StopReason.DIZZY, f"pedal {node.path} {key_name(code)} held {at - down:.1f} s"
            )
        except Exception:
            log.exception("the stop target raised; it must not")

    def _pressed(self, node: _Node, code: int) -> None:
        try:
            if self.action == "pause":
                self._target.request_pause(StopReason.PEDAL)
            else:
                self._target.request_stop(StopReason.PEDAL, f"pedal {node.path} {key_name(code)}")
        except Exception:
            log.exception("the stop target raised; it must not")

    def _lost(self, node: _Node, why: str) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(node.fd)
        os.close(node.fd)
        self._nodes.remove(node)
        detail = f"stop pedal {node.path} is gone ({why})"
        log.warning("%s", detail)
        if self._on_lost is not None:
            try:
                self._on_lost(detail)
            except Exception:
                log.exception("on_lost callback failed")
        if not self._nodes and self._all_gone is not None and not self._all_gone.done():
            self._all_gone.set_result(None)
