"""The pydantic base every settings model shares.

Frozen so a loaded configuration cannot drift mid-session; ``extra="forbid"`` so a typo in
devices.toml is an error rather than a silently ignored key; ``strict`` so ``max_kmh = "12"`` or
``enabled = 1`` is refused instead of quietly coerced (TOML has real numbers and booleans).
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigModel", "quoted"]


def quoted(text: str) -> str:
    """A string as TOML writes it, for messages: "p", not 'p'."""
    return json.dumps(text, ensure_ascii=False)


class ConfigModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_by_name=True)
