"""treadcoach.tui: the Textual app that renders a session and carries the stop key."""

from __future__ import annotations

from treadcoach.tui.app import TreadcoachApp
from treadcoach.tui.choices import Choice, SessionFactory, SessionRequest, SetupChoices
from treadcoach.tui.settings import AudioEngine, TuiSettings, Units

__all__ = [
    "AudioEngine",
    "Choice",
    "SessionFactory",
    "SessionRequest",
    "SetupChoices",
    "TreadcoachApp",
    "TuiSettings",
    "Units",
]
