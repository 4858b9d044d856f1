"""Find the line a key path sits on in a TOML text, for error messages.

tomllib reports lines only for syntax errors; for a value pydantic rejects we look the key up
ourselves. A line-oriented scan covers what people write in devices.toml (tables, arrays of tables,
``key = value`` and dotted keys); anything cleverer just yields no line number, never a wrong one
for the common cases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["line_of"]

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?")
_KEY = re.compile(
    r"\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _split_dotted(keys: str) -> tuple[str, ...]:
    parts = re.findall(r"\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_-]+)", keys)
    return tuple(next(group for group in part if group) if any(part) else "" for part in parts)


def _key_lines(text: str) -> dict[KeyPath, int]:
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    counters: dict[tuple[str, ...], int] = {}
    open_multiline: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if open_multiline is not None:
            if open_multiline in line:
                open_multiline = None
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.fullmatch(line)
        if header:
            keys = _split_dotted(header.group(2))
            if header.group(1) == "[[":
                index = counters.get(keys, -1) + 1
                counters[keys] = index
                lines.setdefault(keys, lineno)
                table = (*keys, index)
            else:
                table = keys
            lines.setdefault(table, lineno)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_split_dotted(key.group(1))), lineno)
            rest = line[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    open_multiline = quote
    return lines


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The line of ``path`` (e.g. ``("device", 2, "max_kmh")``, 0-based indexes), or of the
    nearest enclosing table that can be found; None when nothing can."""
    lines = _key_lines(text)
    key = tuple(path)
    for end in range(len(key), 0, -1):
        if key[:end] in lines:
            return lines[key[:end]]
    return None
