"""Which events and states deserve an utterance, and what it says.

The user walking backward faces away from the screen, so the things that change what their feet
must do are spoken (or chimed): a new segment, a turnaround and its countdown, the last three
seconds of a timed segment, and a stop. This module only decides the words; a :mod:`speaker
<treadcoach.tui.audio>` says them. It is pure and remembers what it already said, so a number
announced by the controller's countdown cue is not repeated when the state ticks past it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from treadcoach.coach.events import Cue, Event, Fault, SegmentStarted, Stop
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import Phase, SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.present import stop_words

__all__ = ["CuePlanner", "Utterance", "UtteranceKind"]

UtteranceKind = Literal["segment", "turnaround", "countdown", "form", "info", "stop"]

# Faults after a stop that mean the belt may still be running: the stop cue that follows is said.
_BELT_MAY_RUN = frozenset({"stop_refused", "stop_failed", "belt_may_be_running"})

# Seconds counted down aloud at the end of every timed segment.
LAST_SECONDS = 3

_SPOKEN_KIND: dict[SegmentKind, str] = {
    SegmentKind.WARMUP: "Warm-up",
    SegmentKind.FORWARD_WALK: "Forward walk",
    SegmentKind.FORWARD_RUN: "Forward run",
    SegmentKind.BACKWARD_WALK: "Backward walk",
    SegmentKind.RETRO_RUN: "Retro run",
    SegmentKind.RECOVERY: "Recovery",
    SegmentKind.TURNAROUND: "Turnaround",
    SegmentKind.COOLDOWN: "Cool-down",
}


@dataclass(frozen=True, slots=True)
class Utterance:
    text: str
    kind: UtteranceKind

    @property
    def interrupts(self) -> bool:
        """Countdown numbers and stops cut off whatever is being said; others may be joined."""
        return self.kind in ("countdown", "stop")


def _spoken_duration(seconds: float) -> str:
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    if minutes == 0:
        return f"{secs} seconds"
    unit = "minute" if minutes == 1 else "minutes"
    return f"{minutes} {unit}" + (f" {secs}" if secs else "")


def _segment_words(event: SegmentStarted) -> str:
    if event.kind is SegmentKind.TURNAROUND:
        return "Slowing down. Get ready to turn around."
    words = _SPOKEN_KIND[event.kind]
    if event.distance_m is not None:
        return f"{words}, {event.distance_m:.0f} metres."
    if event.duration_s is not None:
        return f"{words}, {_spoken_duration(event.duration_s)}."
    return f"{words}."


# What a dizzy walker must hear (seed: "stop immediately if dizzy"): not only why, but what to do.
_DIZZY_WORDS = "Belt stopping. Dizzy: hold the rails and step off to the side when it stops."


def _stop_words(reason: StopReason | None) -> str:
    if reason is StopReason.DIZZY:
        return _DIZZY_WORDS
    if reason is StopReason.PLAN_END:
        return "Plan complete. Well done."
    return f"Belt stopping. {stop_words(reason).capitalize()}."


class CuePlanner:
    """Feed it every session event and every new state; it returns what to say, once."""

    def __init__(self) -> None:
        self._segment_index: int | None = None
        self._counted: set[tuple[int | None, int]] = set()
        self._stopped = False
        self._alarm = False  # the belt may still be running after the stop
        self._said_dizzy = False

    def on_event(self, event: Event) -> list[Utterance]:
        if self._stopped:
            # After the stop only a warning that it did not work is said ("use the treadmill's
            # stop button"): it follows a fault that says the belt may still be running.
            if isinstance(event, Fault) and event.kind in _BELT_MAY_RUN:
                self._alarm = True
            elif isinstance(event, Cue) and event.kind == "stop" and self._alarm:
                self._alarm = False
                return [Utterance(event.text, "stop")]
            elif (
                isinstance(event, Stop)
                and event.reason is StopReason.DIZZY
                and not self._said_dizzy
            ):
                # A stop already under way upgraded to dizzy (the pedal held down): say so.
                self._said_dizzy = True
                return [Utterance(_DIZZY_WORDS, "stop")]
            return []
        if isinstance(event, SegmentStarted):
            self._segment_index = event.index
            kind: UtteranceKind = (
                "turnaround" if event.kind is SegmentKind.TURNAROUND else "segment"
            )
            return [Utterance(_segment_words(event), kind)]
        if isinstance(event, Stop):
            self._stopped = True
            self._said_dizzy = event.reason is StopReason.DIZZY
            return [Utterance(_stop_words(event.reason), "stop")]
        if isinstance(event, Cue):
            return self._on_cue(event)
        return []

    def _on_cue(self, cue: Cue) -> list[Utterance]:
        if cue.kind == "stop":
            # The Stop event was (or will be) announced; a stop cue alone still must be heard.
            self._stopped = True
            return [Utterance(cue.text, "stop")]
        if cue.kind == "countdown" and cue.countdown_s is not None:
            if not self._count(self._segment_index, cue.countdown_s):
                return []
            # Only the number, also the first one: "Turn around: backward walk in 5" takes
            # ~1.6 s to say, so the 4 would cut it off before its 5 was heard. The words were
            # said when the turnaround began ("Get ready to turn around") and are on screen.
            return [Utterance(str(cue.countdown_s), "countdown")]
        if not cue.text:
            return []
        return [Utterance(cue.text, cue.kind)]

    def on_state(self, state: SessionState) -> list[Utterance]:
        if self._stopped:
            return []
        if state.phase in (Phase.STOPPED, Phase.FINISHED):
            # The Stop event normally says this first; this covers a session that ended without one.
            self._stopped = True
            reason = state.stop_reason
            if reason is None and state.phase is Phase.FINISHED:
                reason = StopReason.PLAN_END
            return [Utterance(_stop_words(reason), "stop")]
        segment = state.segment
        if (
            state.phase is not Phase.RUNNING
            or segment is None
            or state.remaining is None
            or state.remaining_unit != "s"
            or state.remaining <= 0
        ):
            return []
        if segment.kind is SegmentKind.TURNAROUND or state.turnaround_countdown_s is not None:
            # A direction change is counted by the controller (its cues carry the numbers);
            # while the belt is still slowing there is no count, whatever the segment time says.
            whole = state.turnaround_countdown_s
            if whole is None:
                return []
        else:
            whole = math.ceil(state.remaining - 1e-9)
        if whole <= 0 or whole > LAST_SECONDS or not self._count(segment.index, whole):
            return []
        return [Utterance(str(whole), "countdown")]

    def _count(self, index: int | None, number: int) -> bool:
        """Record that ``number`` was said in segment ``index``; False if it already was."""
        key = (index, number)
        if key in self._counted:
            return False
        self._counted.add(key)
        return True
