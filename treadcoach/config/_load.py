"""Read the shipped devices.toml, lay the user's copy over it, validate, explain any problem.

Merge rule: the shipped file is the base. In the user's file, top-level keys (``default_device``,
``history_db``) replace the shipped ones; tables (``[limits]``, ``[inputs]``, ``[audio]``,
``[mqtt]``) are merged key by key, the user's keys winning; arrays (``mqtt.buttons``) are replaced
whole; ``[[device]]`` entries are put BEFORE the shipped ones, so a user entry wins the name match
and can correct a shipped model.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from treadcoach.config._lines import line_of
from treadcoach.config._messages import describe_error, render_location
from treadcoach.config._paths import CONFIG_ENV, shipped_devices, user_devices_path
from treadcoach.config._settings import Settings
from treadcoach.errors import ConfigError

__all__ = ["load_settings", "parse_toml"]

log = logging.getLogger(__name__)

_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
# Keys whose relative paths mean "next to the file that says so".
_PATH_KEYS: tuple[tuple[str, ...], ...] = (("history_db",), ("mqtt", "ca_file"))


@dataclass(frozen=True, slots=True)
class _Document:
    shown: str  # the path as messages show it
    text: str
    data: dict[str, Any]


def parse_toml(shown: str, raw: bytes) -> dict[str, Any]:
    """TOML bytes -> dict, or ConfigError naming the line and column of a syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.end].hex(" ")
        raise ConfigError(
            shown, f"line {line}", f"the file is not UTF-8 text (bytes {bad})"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        problem = message[: position.start()] if position else message
        if position and position.group(1):
            where = f"line {position.group(1)}, column {position.group(2)}"
        else:
            where = "end of file" if position else ""
        problem = problem[:1].lower() + problem[1:]
        raise ConfigError(shown, where, f"not valid TOML: {problem}") from None


def _read(path: Path) -> _Document:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file: {exc.strerror or exc}") from None
    data = parse_toml(str(path), raw)
    _resolve_paths(data, path.parent)
    return _Document(str(path), raw.decode("utf-8"), data)


def _read_shipped() -> _Document:
    resource = shipped_devices()
    raw = resource.read_bytes()
    return _Document(str(resource), raw.decode("utf-8"), parse_toml(str(resource), raw))


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for keys in _PATH_KEYS:
        table: Any = data
        for key in keys[:-1]:
            table = table.get(key) if isinstance(table, dict) else None
        if isinstance(table, dict) and isinstance(table.get(keys[-1]), str):
            path = Path(table[keys[-1]]).expanduser()
            table[keys[-1]] = str(path if path.is_absolute() else base / path)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if key == "device" and isinstance(value, list) and isinstance(old, list):
            merged[key] = [*value, *old]
        elif isinstance(value, dict) and isinstance(old, dict):
            merged[key] = _merge(old, value)
        else:
            merged[key] = value
    return merged


def _has_path(data: Any, loc: tuple[str | int, ...]) -> bool:
    for part in loc:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return False
        elif not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _explain(exc: ValidationError, shipped: _Document, user: _Document | None) -> ConfigError:
    """The first problem, blamed on the file (and line) that holds it."""
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    problem = describe_error(Settings, error)
    document, local = shipped, loc
    if user is not None and loc and loc[0] in user.data:
        user_devices = user.data.get("device")
        if loc[0] == "device" and isinstance(user_devices, list) and len(loc) > 1:
            index = loc[1]
            if isinstance(index, int) and index >= len(user_devices):
                local = ("device", index - len(user_devices), *loc[2:])
            else:
                document = user
        else:
            document = user
        from_shipped = loc[0] != "device" and _has_path(shipped.data, loc)
        if document is user and from_shipped and not _has_path(user.data, local):
            problem += f" (that value comes from {shipped.shown}; set it in this file)"
    where = render_location(local)
    line = line_of(document.text, local)
    if line is not None:
        where = f"line {line}, {where}" if where else f"line {line}"
    return ConfigError(document.shown, where, problem)


def load_settings(path: Path | None = None) -> Settings:
    """The shipped devices.toml with the user's copy laid over it, validated.

    ``path`` (else ``$TREADCOACH_CONFIG``, else the platform config dir) names the user's copy.
    A missing copy in the platform config dir is normal; a missing explicit path is an error.
    Every problem raises ConfigError naming the file, the line or key, and what is wrong.
    """
    explicit = path is not None or bool(os.environ.get(CONFIG_ENV))
    user_path = path if path is not None else user_devices_path()
    shipped = _read_shipped()
    user: _Document | None = None
    if user_path.exists() or explicit:
        if not user_path.exists():
            origin = "" if path is not None else f" (from ${CONFIG_ENV})"
            raise ConfigError(str(user_path), "", f"no such file{origin}")
        user = _read(user_path)
    merged = _merge(shipped.data, user.data) if user is not None else shipped.data
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _explain(exc, shipped, user) from None
    log.debug("settings from %s%s", shipped.shown, f" and {user.shown}" if user else "")
    return settings
