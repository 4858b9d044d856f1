"""What the TUI needs to know about the user to render and speak: units, keys, audio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from treadcoach.errors import ConfigError

__all__ = ["RESERVED_KEYS", "AudioEngine", "TuiSettings", "Units"]

Units = Literal["kmh", "mph"]
AudioEngine = Literal["auto", "espeak", "bell", "none"]


# Keys the app keeps for itself (ctrl+c is a second stop key).
RESERVED_KEYS = {"q": "quit", "ctrl+q": "quit", "ctrl+c": "stop", "n": "new session"}


@dataclass(frozen=True, slots=True)
class TuiSettings:
    """Rendering and input settings. Key names are Textual key names ("space", "p", "f5", "ctrl+x")."""

    units: Units = "kmh"
    stop_key: str = "space"  # contract: space by default; foot pedals can be set to send it
    pause_key: str = "p"
    mute_key: str = "m"
    # the dizzy stop (CONTRACTS.md); off when the stop, pause or mute key is set to it
    dizzy_key: str | None = "d"
    audio: AudioEngine = "auto"
    muted: bool = False
    # How long quitting (or a signal) waits at most for the session to finish stopping before
    # leaving anyway (leaving cancels the session, which stops the belt too). A last resort: the
    # controller bounds its own stop (standstill, or stop_unconfirmed; a lost link waits for the
    # reconnect that stops the belt first) well inside it.
    quit_wait_s: float = 60.0
    # how long the stopped belt stays on the session screen before the summary replaces it
    # (the run-down itself is shown live: the belt speed falling to standstill)
    summary_delay_s: float = 1.5
    # SIGHUP/SIGTERM/SIGINT stop the belt and leave (off only where another owner handles them)
    handle_signals: bool = True

    def __post_init__(self) -> None:
        # Named after the settings-file keys the CLI maps from, so a bad file reads clearly.
        if self.units not in ("kmh", "mph"):
            raise ConfigError("settings", "limits.units", f"must be kmh or mph, not {self.units!r}")
        if self.audio not in ("auto", "espeak", "bell", "none"):
            raise ConfigError(
                "settings",
                "audio.engine",
                f"must be auto, espeak, bell or none, not {self.audio!r}",
            )
        keys = {"stop_key": self.stop_key, "pause_key": self.pause_key, "mute_key": self.mute_key}
        if len(set(keys.values())) != len(keys):
            raise ConfigError(
                "settings", "inputs", f"the stop, pause and mute keys must differ: {keys}"
            )
        for name, key in keys.items():
            if key in RESERVED_KEYS:
                raise ConfigError(
                    "settings", f"inputs.{name}", f"{key!r} is taken ({RESERVED_KEYS[key]})"
                )

    @property
    def active_dizzy_key(self) -> str | None:
        """The dizzy key, unless one of the configured keys is the same key (that key keeps its
        meaning: a stop key set to ``d`` must stay the stop key)."""
        taken = {self.stop_key, self.pause_key, self.mute_key, *RESERVED_KEYS}
        key = self.dizzy_key
        return None if key is None or key.lower() in taken or key in taken else key
