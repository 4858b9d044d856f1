"""Turn one pydantic error into a sentence a person editing devices.toml understands."""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

__all__ = ["describe_error", "render_location"]


def render_location(loc: Sequence[str | int]) -> str:
    """``("device", 2, "max_kmh")`` -> ``device[3].max_kmh``: entries count from 1, as a person
    counts the ``[[device]]`` tables in the file."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else part
    return text


def toml_value(value: object) -> str:
    """A value as it would be written in TOML, shortened for a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:57] + '..."'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    return str(value)


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _model_fields_at(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The key names allowed in the table at ``loc`` (for "did you mean")."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next(
            (info for name, info in model.model_fields.items() if part in (name, info.alias)),
            None,
        )
        if field is None:
            return []
        model = _unwrap(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [info.alias or name for name, info in model.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> X, ``tuple[X, ...]`` -> X: find the model a table or array holds."""
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
        elif origin in (tuple, list):
            annotation = get_args(annotation)[0]
        else:
            return annotation


def _unknown_key(root: type[BaseModel], loc: Sequence[str | int]) -> str:
    key = str(loc[-1])
    known = _model_fields_at(root, loc[:-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f'unknown key (did you mean "{close[0]}"?)'
    if known:
        return "unknown key (known keys: " + ", ".join(sorted(known)) + ")"
    return "unknown key"


def _expected_choices(ctx: dict[str, Any]) -> str:
    # pydantic writes "'once', 'never' or 'x'"; TOML strings use double quotes.
    return re.sub(r"'([^']*)'", r'"\1"', str(ctx.get("expected", "")))


_TYPE_NAMES = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string in quotes",
    "path_type": "a file path in quotes",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
}


def describe_error(root: type[BaseModel], error: ErrorDetails) -> str:
    """The problem part of a ConfigError for one pydantic error on a ``root`` model."""
    kind = error["type"]
    loc = error["loc"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = toml_value(error.get("input"))
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}, got {got}"
    if kind in ("tuple_type", "list_type"):
        if loc and loc[-1] == "device":
            return "must be an array of tables: write [[device]], not [device]"
        if loc and loc[-1] == "buttons":
            return "must be an array of tables: write [[mqtt.buttons]], not [mqtt.buttons]"
        return f"must be an array, got {got}"
    if kind == "literal_error":
        return f"must be one of {_expected_choices(ctx)}, got {got}"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx['gt'])}, got {got}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}, got {got}"
    if kind == "less_than":
        return f"must be less than {_number(ctx['lt'])}, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx['le'])}, got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    return f"{error['msg']}, got {got}"
