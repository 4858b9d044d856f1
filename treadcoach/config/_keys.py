"""Key names for ``[inputs] stop_key`` / ``pause_key``: the one list both the TUI and headless use.

One setting serves both modes, so a key name is accepted only when both can act on it: the TUI
(Textual key names) and ``--headless`` in a terminal (byte sequences, ``treadcoach.inputs.keys``).
:data:`RESERVED_KEYS` are the keys that can be neither stop nor pause key, in either mode: the
terminal keeps some for itself and the TUI binds others. The TUI reads the same table.

Names, as Textual spells them: ``space``, ``enter``, ``tab``, ``escape``, ``backspace``,
``pageup``/``pagedown`` (presenter clickers), the arrows, ``home``, ``end``, ``insert``,
``delete``, ``f1``..``f12``, ``ctrl+<letter>``, a single character (``s``, ``.``), or a
character's Unicode name (``full_stop``, ``comma``, ``slash``). :func:`canonical_key` turns any
accepted spelling ("esc", ".") into Textual's own name ("escape", "full_stop").
"""

from __future__ import annotations

import contextlib
import re
import unicodedata

__all__ = ["NAMED_KEYS", "RESERVED_KEYS", "canonical_key", "key_sequences"]

# What a terminal sends for each named key (xterm and its descendants; both cursor-key modes).
NAMED_KEYS: dict[str, tuple[bytes, ...]] = {
    "space": (b" ",),
    "enter": (b"\r", b"\n"),
    "tab": (b"\t",),
    "escape": (b"\x1b",),
    "backspace": (b"\x7f", b"\x08"),
    "up": (b"\x1b[A", b"\x1bOA"),
    "down": (b"\x1b[B", b"\x1bOB"),
    "right": (b"\x1b[C", b"\x1bOC"),
    "left": (b"\x1b[D", b"\x1bOD"),
    "home": (b"\x1b[H", b"\x1bOH", b"\x1b[1~"),
    "end": (b"\x1b[F", b"\x1bOF", b"\x1b[4~"),
    "insert": (b"\x1b[2~",),
    "delete": (b"\x1b[3~",),
    "pageup": (b"\x1b[5~",),
    "pagedown": (b"\x1b[6~",),
    "f1": (b"\x1bOP",),
    "f2": (b"\x1bOQ",),
    "f3": (b"\x1bOR",),
    "f4": (b"\x1bOS",),
    "f5": (b"\x1b[15~",),
    "f6": (b"\x1b[17~",),
    "f7": (b"\x1b[18~",),
    "f8": (b"\x1b[19~",),
    "f9": (b"\x1b[20~",),
    "f10": (b"\x1b[21~",),
    "f11": (b"\x1b[23~",),
    "f12": (b"\x1b[24~",),
}
_ALIASES = {"return": "enter", "esc": "escape", "page_down": "pagedown", "page_up": "pageup"}
# Textual shortens some Unicode names (textual.keys.KEY_NAME_REPLACEMENTS); map them back.
_TEXTUAL_SHORT_NAMES = {
    "slash": "solidus",
    "backslash": "reverse solidus",
    "at": "commercial at",
    "minus": "hyphen-minus",
    "plus": "plus sign",
    "underscore": "low line",
}

# Keys that can be neither the stop nor the pause key (canonical names; letters either case,
# since headless mode matches both). Why, in words for the error message.
RESERVED_KEYS: dict[str, str] = {
    "ctrl+c": "already stops the belt (in a terminal it interrupts the program)",
    "ctrl+z": "suspends a terminal program",
    "ctrl+s": "freezes a terminal's output",
    "ctrl+q": "quits the TUI (in a terminal it resumes output)",
    "q": "quits the TUI",
    "n": "starts a new session in the TUI",
    "c": "takes control back in the TUI after the console took it",
    "m": "mutes the spoken cues in the TUI",
}


def canonical_key(key: str) -> str:
    """Textual's name for ``key`` ("esc" -> "escape", "." -> "full_stop", "F5" -> "f5").

    ValueError, one line naming the key, for a name neither mode knows or a reserved key.
    """
    name = _canonical(key)
    reserved = RESERVED_KEYS.get(name.lower() if len(name) == 1 else name)
    if reserved is not None:
        raise ValueError(f"{key!r} cannot be used: it {reserved}")
    return name


def key_sequences(key: str) -> tuple[bytes, ...]:
    """The byte sequences a terminal sends for ``key`` (ValueError as :func:`canonical_key`)."""
    name = canonical_key(key)
    if name in NAMED_KEYS:
        return NAMED_KEYS[name]
    ctrl = re.fullmatch(r"ctrl\+([a-z])", name)
    if ctrl:
        return (bytes([ord(ctrl.group(1)) - ord("a") + 1]),)
    character = name if len(name) == 1 else _character(name)
    assert character is not None  # _canonical accepted it
    # letters match either case, so caps lock doesn't disable the stop
    return tuple(sorted({v.encode() for v in (character, character.lower(), character.upper())}))


def _canonical(key: str) -> str:
    if len(key) == 1:
        if not key.isprintable():
            raise ValueError(f"key {key!r} is a control character: use its name")
        if key == " ":
            return "space"
        return key if key.isalnum() else _textual_name(key)
    name = key.strip().lower()
    name = _ALIASES.get(name, name)
    if name in NAMED_KEYS or re.fullmatch(r"ctrl\+[a-z]", name):
        return name
    character = _character(name)
    if character is not None:
        return _canonical(character)
    raise ValueError(
        f"unknown key {key!r}: use a single character, ctrl+<letter>, a character name such as "
        "full_stop, or one of " + ", ".join(NAMED_KEYS)
    )


def _character(name: str) -> str | None:
    """The character a (Textual or Unicode) character name stands for, if it is one."""
    with contextlib.suppress(KeyError):
        character = unicodedata.lookup(_TEXTUAL_SHORT_NAMES.get(name, name.replace("_", " ")))
        if len(character) == 1 and character.isprintable() and not character.isspace():
            return character
    return None


def _textual_name(character: str) -> str:
    """Textual's key name for a punctuation character (textual.keys._character_to_key)."""
    try:
        name = unicodedata.name(character).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return character
    short = {v.replace("-", "_").replace(" ", "_"): k for k, v in _TEXTUAL_SHORT_NAMES.items()}
    return short.get(name, name)
