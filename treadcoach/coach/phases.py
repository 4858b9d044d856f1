"""The session's phase machine: where a session is, what moves it on, and what it may be asked.

Pure (h11's shape): two tables and a class that looks things up in them. The asyncio shell
(``coach.controller``) fires a :class:`Trigger` when something happened (the link connected, a
Pause was acknowledged, the console took control, a stop was requested...) and asks
:meth:`PhaseMachine.allows` before acting on a user's :class:`Request`. A trigger the table does
not list for the current phase is a bug in the shell and raises :class:`SessionPhaseError`.

The renderers' :class:`~treadcoach.coach.state.Phase` is coarser (a contract with the TUI and
MQTT): :func:`public_phase` maps onto it.
"""

from __future__ import annotations

from enum import StrEnum

from treadcoach.coach.state import Phase
from treadcoach.errors import SessionPhaseError

__all__ = [
    "ALLOWED",
    "TRANSITIONS",
    "PhaseMachine",
    "Request",
    "SessionPhase",
    "Trigger",
    "public_phase",
]


class SessionPhase(StrEnum):
    CONNECTING = "connecting"  # the link is being set up; nothing commanded yet
    READY = "ready"  # connected, the plan not started
    RUNNING = "running"  # walking the plan, the governor commanding the belt
    PAUSING = "pausing"  # Pause sent, not acknowledged: the plan holds, resume is not allowed yet
    PAUSED = "paused"  # the belt paused by us; the plan clock stands still
    HELD = "held_no_control"  # 0xFF: the console has control; we command nothing, the plan holds
    STOPPING = "stopping"  # a stop was requested: Stop is on its way, the session is ending
    STOPPED = "stopped"  # over, by a stop input or a fault
    FINISHED = "finished"  # over: the plan completed


class Trigger(StrEnum):
    CONNECTED = "connected"
    STEP = "step"  # a step was entered (the first one starts the plan)
    PAUSE = "pause"  # Pause handed to the link
    PAUSE_DONE = "pause_done"  # the machine acknowledged Pause
    PAUSE_FAILED = "pause_failed"  # the machine refused Pause (the shell then stops)
    RESUME = "resume"
    CONTROL_LOST = "control_lost"  # the link reported 0xFF
    CONTROL_BACK = "control_back"  # the user's Request Control succeeded
    STOP = "stop"  # a stop was requested (any reason)
    STOPPED = "stopped"  # the stop path is done (not the plan's end)
    FINISHED = "finished"  # the stop path is done after the plan's end


class Request(StrEnum):
    """What an input (key, pedal, MQTT, TUI) may ask of a session."""

    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    SPEED = "speed"
    CONTROL_BACK = "control_back"


P, T = SessionPhase, Trigger
_LIVE = (P.CONNECTING, P.READY, P.RUNNING, P.PAUSING, P.PAUSED, P.HELD)

#: (phase, trigger) -> next phase. Anything not listed is a bug in the shell.
TRANSITIONS: dict[tuple[SessionPhase, Trigger], SessionPhase] = {
    (P.CONNECTING, T.CONNECTED): P.READY,
    (P.READY, T.STEP): P.RUNNING,
    (P.RUNNING, T.STEP): P.RUNNING,
    # a step boundary passed while the plan holds keeps it holding (e.g. Pause in flight)
    (P.PAUSING, T.STEP): P.PAUSING,
    (P.PAUSED, T.STEP): P.PAUSED,
    (P.HELD, T.STEP): P.HELD,
    (P.RUNNING, T.PAUSE): P.PAUSING,
    (P.PAUSING, T.PAUSE_DONE): P.PAUSED,
    (P.PAUSING, T.PAUSE_FAILED): P.RUNNING,
    (P.PAUSED, T.RESUME): P.RUNNING,
    (P.READY, T.CONTROL_LOST): P.HELD,
    (P.RUNNING, T.CONTROL_LOST): P.HELD,
    (P.PAUSING, T.CONTROL_LOST): P.HELD,
    (P.PAUSED, T.CONTROL_LOST): P.HELD,
    (P.HELD, T.CONTROL_BACK): P.RUNNING,
    **{(phase, T.STOP): P.STOPPING for phase in _LIVE},
    (P.STOPPING, T.STOP): P.STOPPING,  # a second stop input adds to the first
    (P.STOPPING, T.STOPPED): P.STOPPED,
    (P.STOPPING, T.FINISHED): P.FINISHED,
}

_R = Request
#: phase -> the requests an input may make in it. Anything else is ignored (and logged).
ALLOWED: dict[SessionPhase, frozenset[Request]] = {
    P.CONNECTING: frozenset({_R.STOP}),
    P.READY: frozenset({_R.STOP}),
    P.RUNNING: frozenset({_R.STOP, _R.PAUSE, _R.SPEED}),
    # the plan holds: a speed asked for now applies once it carries on
    P.PAUSING: frozenset({_R.STOP, _R.SPEED}),
    P.PAUSED: frozenset({_R.STOP, _R.RESUME, _R.SPEED}),
    # after 0xFF only the user's C carries on (never resume: it would fight the console)
    P.HELD: frozenset({_R.STOP, _R.SPEED, _R.CONTROL_BACK}),
    # a user stop after a parting one (0xFF, link down) may still need to be sent
    P.STOPPING: frozenset({_R.STOP}),
    P.STOPPED: frozenset(),
    P.FINISHED: frozenset(),
}

#: phases in which the plan clock stands still and the governor commands nothing
HOLDING = frozenset({P.PAUSING, P.PAUSED, P.HELD})


class PhaseMachine:
    """The current phase, moved only through :data:`TRANSITIONS`."""

    __slots__ = ("phase",)

    def __init__(self, phase: SessionPhase = SessionPhase.CONNECTING) -> None:
        self.phase = phase

    def allows(self, request: Request) -> bool:
        return request in ALLOWED[self.phase]

    def can(self, trigger: Trigger) -> bool:
        return (self.phase, trigger) in TRANSITIONS

    def fire(self, trigger: Trigger) -> SessionPhase:
        try:
            self.phase = TRANSITIONS[self.phase, trigger]
        except KeyError:
            raise SessionPhaseError(self.phase.value, trigger.value) from None
        return self.phase

    @property
    def holding(self) -> bool:
        """The plan clock stands still and the belt is not commanded."""
        return self.phase in HOLDING

    @property
    def stopping(self) -> bool:
        return self.phase in (P.STOPPING, P.STOPPED, P.FINISHED)


def public_phase(phase: SessionPhase, *, plan_end: bool = False) -> Phase:
    """The renderers' phase: pausing and held show as paused, stopping as its outcome."""
    match phase:
        case SessionPhase.CONNECTING:
            return Phase.CONNECTING
        case SessionPhase.READY:
            return Phase.READY
        case SessionPhase.RUNNING | SessionPhase.PAUSING:
            return Phase.RUNNING
        case SessionPhase.PAUSED | SessionPhase.HELD:
            return Phase.PAUSED
        case SessionPhase.STOPPING:
            return Phase.FINISHED if plan_end else Phase.STOPPED
        case SessionPhase.STOPPED:
            return Phase.STOPPED
        case SessionPhase.FINISHED:
            return Phase.FINISHED
