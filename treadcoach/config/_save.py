"""Write ``default_device`` into the user's devices.toml and leave everything else as it was.

Only the stdlib TOML reader is available, so the file is edited as text: the one top-level
``default_device = ...`` line is replaced (or added near the top), and the result is parsed again
and compared with the original before it replaces the file, atomically. Comments and layout
survive; a file we cannot edit safely is left untouched with a ConfigError.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from treadcoach.config._load import parse_toml
from treadcoach.config._paths import user_devices_path
from treadcoach.errors import ConfigError

__all__ = ["save_default_device"]

_KEY_LINE = re.compile(r"""\s*(default_device|"default_device"|'default_device')\s*=(.*)""")
_HEADER = re.compile(r"\s*\[")

_NEW_FILE = """\
# treadcoach: your settings. They are laid over the devices.toml shipped with treadcoach:
# keys here win, [[device]] entries here are tried before the shipped ones.
"""


def _toml_string(value: str) -> str:
    out = ['"']
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _with_default(text: str, line: str) -> str:
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    first_table = next((i for i, ln in enumerate(lines) if _HEADER.match(ln)), len(lines))
    for i in range(first_table):
        if _KEY_LINE.fullmatch(lines[i].rstrip("\r\n")):
            lines[i] = line + newline
            return "".join(lines)
    # Add it after the comment block that opens the file, before any other key or table.
    at = 0
    while at < first_table and lines[at].lstrip().startswith("#"):
        at += 1
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    lines.insert(at, line + newline)
    return "".join(lines)


def _without_default(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "default_device"}


def save_default_device(device: str, path: Path | None = None) -> Path:
    """Set ``default_device`` (a treadmill's name or address) in the user's devices.toml.

    ``path`` defaults to the user's file (``$TREADCOACH_CONFIG`` or the platform config dir); it
    is created, with its folder, when missing. Returns the path written.
    """
    if not device.strip():
        raise ConfigError("default_device", "", "the device name or address is empty")
    target = path if path is not None else user_devices_path()
    shown = str(target)
    try:
        original = target.read_bytes() if target.exists() else _NEW_FILE.encode()
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot read the file: {exc.strerror or exc}") from None
    before = parse_toml(shown, original)
    updated = _with_default(original.decode("utf-8"), f"default_device = {_toml_string(device)}")
    try:
        after: dict[str, Any] | None = parse_toml(shown, updated.encode("utf-8"))
    except ConfigError:
        after = None
    if (
        after is None
        or after.get("default_device") != device
        or _without_default(after) != _without_default(before)
    ):
        raise ConfigError(
            shown,
            "default_device",
            "cannot update this key safely (is it written over several lines?); "
            f"set default_device = {_toml_string(device)} by hand",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".devices-", suffix=".toml", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(updated.encode("utf-8"))
            if target.exists():
                os.chmod(temp, target.stat().st_mode & 0o7777)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(shown, "", f"cannot write the file: {exc.strerror or exc}") from None
    return target
