"""DESIGN invariant 7: whatever a user writes, loading gives Settings or one ConfigError."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadcoach.config import (
    AudioSettings,
    DeviceProfile,
    InputSettings,
    MqttSettings,
    Settings,
    UserLimits,
    load_settings,
)
from treadcoach.errors import ConfigError

Scalar = str | int | float | bool


def _keys(model: type) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]  # type: ignore[attr-defined]


scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.sampled_from(["once", "never", "kmh", "mph", "*", "FS-*", "mqtt://h", "space", "KEY_B"]),
)


def table_of(model: type) -> st.SearchStrategy[dict[str, Scalar]]:
    names = st.one_of(st.sampled_from(_keys(model)), st.from_regex(r"[a-z_]{1,10}", fullmatch=True))
    return st.dictionaries(names, scalars, max_size=5)


documents = st.fixed_dictionaries(
    {},
    optional={
        "default_device": scalars,
        "history_db": scalars,
        "limits": table_of(UserLimits),
        "inputs": table_of(InputSettings),
        "audio": table_of(AudioSettings),
        "mqtt": table_of(MqttSettings),
        "device": st.lists(table_of(DeviceProfile), max_size=3),
    },
)


def _toml(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "0.0"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def to_toml(document: dict[str, object]) -> str:
    lines = [
        f"{key} = {_toml(value)}"
        for key, value in document.items()
        if not isinstance(value, dict | list)
    ]  # type: ignore[arg-type]
    for key, value in document.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_toml(v)}" for k, v in value.items()]
        elif isinstance(value, list):
            for entry in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {_toml(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_any_file_loads_or_gives_one_config_error(
    write_user_file: Callable[[str], Path], document: dict[str, object]
) -> None:
    path = write_user_file(to_toml(document))
    try:
        loaded = load_settings(path)
    except ConfigError as error:
        message = str(error)
        # The shipped entries are valid, so a problem is always in the user's file.
        assert message.startswith(f"{path}: ")
        assert "\n" not in message
        if error.location.startswith("line "):
            line = int(error.location.removeprefix("line ").split(",")[0])
            assert 1 <= line <= path.read_text().count("\n") + 1
    else:
        assert isinstance(loaded, Settings)
        assert loaded.limits.backward_max_kmh <= loaded.limits.max_kmh
        assert loaded.limits.turnaround_s >= 5
        assert loaded.limits.stale_after_s <= 2.0
