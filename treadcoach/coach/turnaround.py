"""Whether a turnaround may count down: the belt must be at turnaround speed, pure.

A turnaround slows the belt, holds it at turnaround speed and counts down (>= 5 s) into the new
direction. The walker turns round on the last count, onto a step whose cap is usually lower than
the belt was going: a countdown on a belt that is still (or again) too fast is a walker turning
on a belt above the next step's cap (issue 12 d; model finding 10).

:class:`TurnGate` answers, for each telemetry record and each moment the countdown would run:

=====================  =====================================  ==================================
belt                   not settled since the last (re)start   settled since the last (re)start
=====================  =====================================  ==================================
at or below ``fast``   GO (now settled)                       GO
above ``fast``         WAIT, or STOP once the settle time     STOP at once: it sped up after it
                       (on the step clock) has run out        had slowed
=====================  =====================================  ==================================

Why a belt that speeds up again is stopped at once rather than waited for: the controller has
already commanded turnaround speed, so the rise is the console's (or the machine's) doing and
nothing the controller sends would undo it; waiting would leave the walker, about to turn,
on a belt running at a speed nobody on our side chose, with the countdown frozen mid-warning.
After a hold (pause, or the console's 0xFF and the user's C) the gate starts again with a fresh
settle time: a paused belt ramps up from rest, and one the console left fast is ramped down by
the governor from wherever it is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from treadcoach.coach.progress import EPSILON_S

__all__ = ["Gate", "TurnGate", "TurnVerdict", "slowest_kmh"]


class Gate(enum.Enum):
    GO = "go"  # the belt is at turnaround speed: the countdown may run
    WAIT = "wait"  # still slowing, within the settle time
    STOP = "stop"  # too fast: stop the belt before the turn (``TurnVerdict.detail`` says why)


@dataclass(frozen=True, slots=True)
class TurnVerdict:
    gate: Gate
    detail: str = ""
    kind: str = ""  # STOP: the fault's kind
    wait_s: float = 0.0  # WAIT: step-clock seconds left of the settle time


def slowest_kmh(turnaround_kmh: float, belt_minimum_kmh: float | None) -> float:
    """A belt whose minimum is above the turnaround speed turns at its minimum: as slow as it
    goes (the link clamps the command to the same minimum)."""
    return max(turnaround_kmh, belt_minimum_kmh or 0.0)


class TurnGate:
    """One turnaround's settle rule; times are on the step clock (it stops while held)."""

    __slots__ = ("_deadline_s", "fast_kmh", "settle_max_s", "settled", "turnaround_kmh")

    def __init__(
        self, turnaround_kmh: float, fast_kmh: float, settle_max_s: float, now_s: float
    ) -> None:
        self.turnaround_kmh = turnaround_kmh
        self.fast_kmh = fast_kmh  # above this the belt is not at turnaround speed
        self.settle_max_s = settle_max_s
        self.settled = False
        self._deadline_s = now_s + settle_max_s

    def restart(self, now_s: float) -> None:
        """After a hold: the belt may be anywhere, and gets the whole settle time again."""
        self.settled = False
        self._deadline_s = now_s + self.settle_max_s

    def judge(self, speed_kmh: float, now_s: float) -> TurnVerdict:
        if speed_kmh <= self.fast_kmh:
            self.settled = True
            return TurnVerdict(Gate.GO)
        if self.settled:
            return TurnVerdict(
                Gate.STOP,
                kind="belt_sped_up",
                detail=f"the belt sped up to {speed_kmh:.1f} km/h during the turnaround (turnaround "
                f"speed {self.turnaround_kmh:g} km/h), not commanded by treadcoach: stopped "
                "before the turn",
            )
        left = self._deadline_s - now_s
        if left <= EPSILON_S:
            return TurnVerdict(
                Gate.STOP,
                kind="belt_did_not_slow",
                detail=f"the belt did not slow to the turnaround's {self.turnaround_kmh:g} km/h within "
                f"{self.settle_max_s:g} s (still {speed_kmh:.1f} km/h): stopped before the turn",
            )
        return TurnVerdict(Gate.WAIT, wait_s=left)
