"""Why a belt was stopped. The values appear in the event stream (`stop.reason`) and the journal."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["StopReason"]


class StopReason(StrEnum):
    KEY = "key"  # the stop key in the TUI or a headless terminal
    PEDAL = "pedal"  # an evdev foot pedal / clicker
    MQTT = "mqtt"  # the MQTT command topic or an MQTT button
    QUIT = "quit"  # the user quit the app mid-session
    PLAN_END = "plan_end"  # the plan finished: a normal stop
    ERROR = "error"  # an exception in any task of the session
    SIGINT = "sigint"
    SIGTERM = "sigterm"
    SIGHUP = "sighup"  # the terminal was closed
    SAFETY_KEY = "safety_key"  # the treadmill reported its safety key pulled (status 0x03)
    CONSOLE = "console"  # someone pressed stop on the treadmill console (status 0x02)
    STALE = "stale"  # no Treadmill Data for longer than the stale limit
    OVERSPEED = "overspeed"  # the belt ran faster than target + tolerance
    TARGET_IGNORED = "target_ignored"  # the belt did not follow the target within the deadline
    DISCONNECT = "disconnect"  # the link dropped (the belt is stopped first thing on reconnect)
    CONTROL_LOST = "control_lost"  # 0xFF: the console or another app took over; we stop commanding
    HR_CEILING = "hr_ceiling"  # heart rate above limits.hr_max_bpm + margin for too long
    # the walker feels dizzy or strained (its own key, a pedal long press, MQTT `stop dizzy`): a
    # user stop, spoken as such, and a step back for the progression (seed: "stop immediately")
    DIZZY = "dizzy"

    @property
    def is_normal(self) -> bool:
        """A stop the user asked for or the plan reached, as opposed to a fault."""
        return self in {StopReason.PLAN_END}
