"""Turning an Analysis into text: the commented ``[[device]]`` entry, a diff, the report.

Pure string work. The entry is TOML the config loader accepts as is (the tests load it with
``treadcoach.config.load_settings``); each key is preceded by a comment with the measurement that
set it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping

from treadcoach.probe._analysis import Analysis, EntryKey

__all__ = ["diff_against", "entry_keys", "render_entry", "render_report", "toml_value"]

#: DeviceProfile fields the probe cannot measure: kept from the shipped entry when one matched
_CARRIED = ("start_toggles", "reported_speed_in_mph", "source")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string (JSON escapes are TOML escapes)


def entry_keys(
    analysis: Analysis, *, shipped: Mapping[str, object] | None = None, when: str = ""
) -> list[EntryKey]:
    """The entry's keys in order: identity first, then the measured ones.

    ``shipped`` (the explicitly set fields of the matching shipped entry) supplies what the probe
    cannot measure, marked as such; the probe's own measurements win everywhere else.
    """
    model = " ".join(v for k, v in analysis.device.items() if k in ("manufacturer", "model") and v)
    keys = [
        EntryKey("name", f"{model or analysis.name} (probed)", "the Device Information strings"),
        EntryKey(
            "match", analysis.name, "its advertised name; a glob like 'PREFIX-*' covers the model"
        ),
    ]
    measured = {k.key for k in analysis.entry}
    keys += [k for k in analysis.entry if k.key not in ("notes", "source")]
    if shipped:
        for name in _CARRIED:
            if name in shipped and name not in measured and name != "source":
                keys.append(
                    EntryKey(name, shipped[name], "not probed: kept from the shipped entry")  # type: ignore[arg-type]
                )
    notes = next((k for k in analysis.entry if k.key == "notes"), None)
    if notes is not None:
        keys.append(notes)
    keys.append(
        EntryKey(
            "source",
            f"treadcoach probe{' ' + when if when else ''}",
            "paste the report with it when asking for the entry to be shipped",
        )
    )
    return keys


def render_entry(keys: list[EntryKey], *, header: str = "") -> str:
    lines = []
    if header:
        lines += [f"# {line}" for line in header.splitlines()]
    lines.append("[[device]]")
    for k in keys:
        lines.append(f"# {k.evidence}")
        lines.append(f"{k.key} = {toml_value(k.value)}")
    return "\n".join(lines) + "\n"


def diff_against(keys: list[EntryKey], shipped: Mapping[str, object], label: str) -> str:
    """A unified diff of ``key = value`` lines: the shipped entry -> the probed one."""
    skip = {"name", "match", "source", "notes"}
    ours = {k.key: toml_value(k.value) for k in keys if k.key not in skip}
    theirs = {k: toml_value(v) for k, v in shipped.items() if k not in skip}
    names = sorted(set(ours) | set(theirs))
    before = [f"{n} = {theirs[n]}" for n in names if n in theirs]
    after = [f"{n} = {ours[n]}" for n in names if n in ours]
    return "".join(
        line + ("" if line.endswith("\n") else "\n")
        for line in difflib.unified_diff(
            before, after, f"shipped: {label}", "probed", lineterm="", n=len(names)
        )
    )


def render_report(analysis: Analysis) -> str:
    """The short report a user can paste into a bug report."""
    device = (
        ", ".join(f"{k} {v}" for k, v in analysis.device.items() if v) or "no Device Information"
    )
    lines = [
        f"treadcoach probe report: {analysis.name} ({analysis.address})",
        f"  device: {device}",
    ]
    width = max(len(f.topic) for f in analysis.findings)
    for f in analysis.findings:
        lines.append(f"  {f.topic:<{width}}  {f.text}")
        lines.append(f"  {'':<{width}}    ({f.evidence})")
    return "\n".join(lines) + "\n"
