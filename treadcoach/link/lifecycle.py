"""The decisions of the link's procedures, sans-I/O: after a drop, between reconnect attempts,
after a reconnect, and on the way out (h11's shape: the shells ``reconnect.py`` and
``lifetime.py`` wait and write; what to do is decided here, from what they pass in).

Every rule is a pure function of the facts it is given (the phase, control permission, the
belt belief's verdicts, loop times); their tables are in ``tests/link/test_lifecycle.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from treadcoach.ftms.enums import ResultCode
from treadcoach.link.phase import LinkPhase
from treadcoach.link.profile import RequestControlMode
from treadcoach.link.timeouts import (
    RECONNECT_FIND_MAX_S,
    RECONNECT_FIND_MIN_S,
    reconnect_backoff_s,
)

__all__ = [
    "AfterAttempt",
    "Backoff",
    "GiveUp",
    "Refusal",
    "after_failed_attempt",
    "control_after_reconnect",
    "control_refused_at_start",
    "exit_stop_needed",
    "reconnect_find_s",
    "refuse_command",
    "retries_after_drop",
    "stop_took",
]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait ``delay_s`` (or less, when leaving hurries it), then try again."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """No attempt fits before the reconnect deadline: the link is down for good."""


AfterAttempt: TypeAlias = Backoff | GiveUp


def retries_after_drop(*, reconnect: bool, supervised: bool, phase: LinkPhase) -> bool:
    """A drop is reconnected when reconnecting is on, the link's task group runs, and the
    drop left it RECONNECTING -- a drop during the first connect is that connect's own
    failure, and a drop while closing is nobody's business."""
    return reconnect and supervised and phase is LinkPhase.RECONNECTING


def reconnect_find_s(now: float, deadline: float) -> float:
    """How long one reconnect attempt may scan: what is left of the deadline, within bounds."""
    return max(RECONNECT_FIND_MIN_S, min(RECONNECT_FIND_MAX_S, deadline - now))


def after_failed_attempt(attempt: int, now: float, deadline: float) -> AfterAttempt:
    """Attempt ``attempt`` (1 = the first) failed at ``now``: back off, or give up when the
    backoff would end past ``deadline``."""
    delay = reconnect_backoff_s(attempt)
    return GiveUp() if now + delay > deadline else Backoff(delay)


def stop_took(belt_running: bool | None, *, as_pause: bool = False) -> bool:
    """A Stop the machine acknowledged stopped the belt -- unless the belief still says it
    runs (a machine seen ignoring Stop: its acknowledgement is no confirmation), or it was a
    Pause written in Stop's place (``as_pause``): that is confirmed by standstill alone."""
    return not as_pause and belt_running is not True


def control_after_reconnect(
    *, mode: RequestControlMode, control_lost: bool, stop_asked: bool, has_control: bool
) -> bool:
    """Request Control after a reconnect's Stop, for the commands that follow: not on a
    machine that needs none, never after 0xFF (only the user takes control back, invariant
    3), not when the session is ending (no command will follow), not when held already."""
    return mode != "never" and not control_lost and not stop_asked and not has_control


def exit_stop_needed(*, gatt_up: bool, standing_still: bool, control_lost: bool) -> bool:
    """The parting Stop when leaving the block: only over a live control point, not to a belt
    seen standing still, and never after 0xFF -- the belt then belongs to whoever took over
    at the console, and a parting Stop would fight them (invariant 3)."""
    return gatt_up and not standing_still and not control_lost


class Refusal(Enum):
    """Why a user command is not taken now (the shell raises the matching typed error)."""

    CLOSED = "the link is closed"
    DOWN = "the link is down"
    RECONNECTING = "the link is down; reconnecting"
    CONTROL_LOST = "control was taken at the console or by another app"


def refuse_command(
    *, phase: LinkPhase, reconnecting: bool, control_lost: bool, needs_control: bool = True
) -> Refusal | None:
    """Whether a user command may be queued now: only on a READY link, and -- unless it is
    the Request Control that takes control back (``needs_control`` False) -- not after 0xFF
    (invariant 3). Stop is never refused here: ``stop()`` has its own path for every phase."""
    if phase in (LinkPhase.CLOSING, LinkPhase.CLOSED):
        return Refusal.CLOSED
    if phase is not LinkPhase.READY:
        return Refusal.RECONNECTING if reconnecting else Refusal.DOWN
    if needs_control and control_lost:
        return Refusal.CONTROL_LOST
    return None


#: what each failure result of Request Control means for the user, at session start
_REQUEST_CONTROL_REFUSED: dict[int, str] = {
    ResultCode.CONTROL_NOT_PERMITTED: (
        "another app or device may have control of it; close it (or switch the treadmill off "
        "and on) and try again"
    ),
    ResultCode.FAILED: (
        "it could not grant control just now (the machine's own failure, e.g. a program "
        "running from its console); stop the belt at the console, wait a moment and try again"
    ),
    ResultCode.INVALID_PARAMETER: (
        "it found the request malformed, a firmware quirk; if it persists, set "
        'request_control = "never" for it in devices.toml'
    ),
}


def control_refused_at_start(result: int) -> str | None:
    """Request Control at session start answered ``result``: None when the session may go on
    (granted; or 0x02, the machine has no Request Control and its commands will say whether
    they need one), else what that result means, worded by its code -- 0x04 is the machine's
    own failure, not another app holding control (that is 0x05)."""
    if result in (ResultCode.SUCCESS, ResultCode.NOT_SUPPORTED):
        return None
    return _REQUEST_CONTROL_REFUSED.get(result, "an answer FTMS does not define")
