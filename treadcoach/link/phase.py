"""The link's lifecycle as one state machine with a transition table (sans-I/O, h11's shape).

It replaces five booleans (GATT up, ready, closing, closed, control lost) and a "reconnect task
running" check that could disagree with each other. Control permission is not a phase: its
owner is ``treadcoach.ftms.ControlPoint``.

    NEW --enter--> CONNECTING --gatt_up--> SETTING_UP --ready--> READY
    READY --dropped--> RECONNECTING --gatt_up--> RESTORING --ready--> READY
    RECONNECTING --attempt / failed--> RECONNECTING   (an attempt under way, or over)
    RECONNECTING --gave_up--> DOWN          (reconnect off, or out of time)
    any but CLOSED --close--> CLOSING --closed--> CLOSED

SETTING_UP and RESTORING are "GATT up, handshake running": the control point may be written
(Request Control, the Stop after a reconnect) but user commands are refused until READY.
The machine also measures each connect + setup (``gatt_up`` ... ``ready``), which sizes how long
leaving may wait for a reconnect (``timeouts.exit_wait_s``).
"""

from __future__ import annotations

from enum import Enum

from treadcoach.errors import LinkPhaseError

__all__ = ["TRANSITIONS", "LinkPhase", "LinkPhaseMachine", "PhaseTrigger"]


class LinkPhase(Enum):
    NEW = "new"
    CONNECTING = "connecting"  # first connect: scanning, connecting, discovering
    SETTING_UP = "setting_up"  # first connect: GATT up, Request Control
    READY = "ready"  # commands accepted
    RECONNECTING = "reconnecting"  # the link dropped; attempts with backoff
    RESTORING = "restoring"  # GATT up again: Stop (or Request Control) before READY
    DOWN = "down"  # dropped for good (reconnect off, or gave up)
    CLOSING = "closing"  # leaving: the parting Stop, then disconnect
    CLOSED = "closed"


class PhaseTrigger(Enum):
    ENTER = "enter"
    ATTEMPT = "connect attempt starts"
    FAILED = "connect attempt failed"
    GATT_UP = "connected, discovered and subscribed"
    READY = "handshake done"
    DROPPED = "the link dropped"
    GAVE_UP = "no more reconnects"
    CLOSE = "close"
    CLOSED = "closed"


P, T = LinkPhase, PhaseTrigger

#: Every allowed (phase, trigger) pair; anything else is a bug in the shell (LinkPhaseError).
TRANSITIONS: dict[tuple[LinkPhase, PhaseTrigger], LinkPhase] = {
    (P.NEW, T.ENTER): P.CONNECTING,
    (P.CONNECTING, T.ATTEMPT): P.CONNECTING,
    (P.CONNECTING, T.GATT_UP): P.SETTING_UP,
    (P.SETTING_UP, T.READY): P.READY,
    (P.SETTING_UP, T.DROPPED): P.RECONNECTING,
    (P.READY, T.DROPPED): P.RECONNECTING,
    (P.RECONNECTING, T.ATTEMPT): P.RECONNECTING,
    (P.RECONNECTING, T.FAILED): P.RECONNECTING,  # backoff, then the next attempt
    (P.RECONNECTING, T.GATT_UP): P.RESTORING,
    (P.RECONNECTING, T.DROPPED): P.RECONNECTING,  # a late callback of the lost connection
    (P.RECONNECTING, T.GAVE_UP): P.DOWN,
    (P.RESTORING, T.READY): P.READY,
    (P.RESTORING, T.DROPPED): P.RECONNECTING,
    (P.DOWN, T.DROPPED): P.DOWN,
    **{
        (phase, T.CLOSE): P.CLOSING
        for phase in (
            P.NEW,
            P.CONNECTING,
            P.SETTING_UP,
            P.READY,
            P.RECONNECTING,
            P.RESTORING,
            P.DOWN,
            P.CLOSING,
        )
    },
    (P.CONNECTING, T.DROPPED): P.CONNECTING,  # the first connect fails on its own
    # Closing: late news from work being torn down (a reconnect attempt, a drop) changes nothing.
    **{
        (phase, trigger): phase
        for phase in (P.CLOSING, P.CLOSED)
        for trigger in (T.ATTEMPT, T.FAILED, T.GATT_UP, T.READY, T.DROPPED, T.GAVE_UP)
    },
    (P.CLOSING, T.CLOSED): P.CLOSED,
    (P.CLOSED, T.CLOSE): P.CLOSED,
}

#: GATT is up and the control point may be written (user commands only in READY).
GATT_PHASES = frozenset({P.SETTING_UP, P.READY, P.RESTORING})
#: a reconnect is under way (the shell's reconnect task runs).
RECONNECT_PHASES = frozenset({P.RECONNECTING, P.RESTORING})


class LinkPhaseMachine:
    """The phase, the moves between phases, and the measured connect time."""

    __slots__ = ("_attempt_at", "_phase", "connect_s", "ever_ready", "gatt_at_close")

    def __init__(self) -> None:
        self._phase = LinkPhase.NEW
        self._attempt_at: float | None = None
        #: the slowest connect attempt + setup measured so far (s), None before the first
        self.connect_s: float | None = None
        #: READY was reached once: a later READY is a reconnect
        self.ever_ready = False
        #: GATT was up when CLOSE came (the parting Stop can be written)
        self.gatt_at_close = False

    @property
    def phase(self) -> LinkPhase:
        return self._phase

    @property
    def ready(self) -> bool:
        return self._phase is LinkPhase.READY

    @property
    def gatt_up(self) -> bool:
        """The control point may be written: GATT phases, and CLOSING if GATT was up."""
        return self._phase in GATT_PHASES or (
            self._phase is LinkPhase.CLOSING and self.gatt_at_close
        )

    @property
    def attempt_under_way(self) -> bool:
        """A connect attempt (scan, connect, discovery, and the handshake after it) has
        started and neither reached READY nor failed: leaving must not cancel it lightly."""
        return self._attempt_at is not None

    @property
    def reconnecting(self) -> bool:
        return self._phase in RECONNECT_PHASES

    @property
    def closing_or_closed(self) -> bool:
        return self._phase in (LinkPhase.CLOSING, LinkPhase.CLOSED)

    def fire(self, trigger: PhaseTrigger, now: float) -> LinkPhase:
        """Move on ``trigger`` (at loop time ``now``); returns the new phase."""
        new = TRANSITIONS.get((self._phase, trigger))
        if new is None:
            raise LinkPhaseError(self._phase.value, trigger.value)
        if trigger is PhaseTrigger.ATTEMPT:
            self._attempt_at = now
        elif trigger is PhaseTrigger.READY:
            if self._attempt_at is not None:
                took = now - self._attempt_at
                self.connect_s = took if self.connect_s is None else max(self.connect_s, took)
            self._attempt_at = None
            self.ever_ready = True
        elif trigger in (PhaseTrigger.FAILED, PhaseTrigger.GAVE_UP, PhaseTrigger.CLOSED):
            self._attempt_at = None
        elif trigger is PhaseTrigger.CLOSE and self._phase is not LinkPhase.CLOSING:
            self.gatt_at_close = self._phase in GATT_PHASES
        elif trigger is PhaseTrigger.DROPPED and self._phase is LinkPhase.CLOSING:
            self.gatt_at_close = False
        self._phase = new
        return new

    def __repr__(self) -> str:
        return f"<LinkPhaseMachine {self._phase.value} connect_s={self.connect_s}>"
