"""``treadcoach probe``: learn an unknown treadmill's quirks, with nobody on the belt.

Layout: ``_record`` (what was measured: plain values), ``_analysis`` (the sans-I/O core:
record -> findings + a devices.toml entry, each with its evidence), ``_render`` (the commented
entry, a diff against the shipped one, the paste-able report), ``_gatt`` (the raw, read-only
GATT survey where the link has no API) and ``_driver`` (the asyncio steps over the public
TreadmillLink API, with one stop path: the link's ``stop()``).
"""

from __future__ import annotations

from treadcoach.probe._analysis import (
    FTMS_CHARACTERISTICS,
    Analysis,
    EntryKey,
    Finding,
    Revert,
    analyse,
    detect_revert,
)
from treadcoach.probe._record import (
    Command,
    ConsoleResult,
    Packet,
    ProbeRecord,
    Sample,
    Step,
    Survey,
)
from treadcoach.probe._render import diff_against, entry_keys, render_entry, render_report

__all__ = [
    "FTMS_CHARACTERISTICS",
    "Analysis",
    "Command",
    "ConsoleResult",
    "EntryKey",
    "Finding",
    "Packet",
    "ProbeRecord",
    "Revert",
    "Sample",
    "Step",
    "Survey",
    "analyse",
    "detect_revert",
    "diff_against",
    "entry_keys",
    "render_entry",
    "render_report",
]
