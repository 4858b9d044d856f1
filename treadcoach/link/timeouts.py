"""Every time the link waits for, in one place: named constants and the few pure rules over them.

Pure (no asyncio): the shell in ``session.py`` reads these; the scheduler's retry decisions
(``scheduler.py``) return delays taken from here. A timeout that only holds at zero latency is a
bug (DESIGN invariant 9), so the values are chosen for a real BLE link at a 50 ms connection
interval, where one round trip costs ~100 ms and a reconnect with discovery ~5 s.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "COMMAND_TIMEOUT_S",
    "CONNECTOR_BACKOFF_MAX_S",
    "CONNECT_ATTEMPTS",
    "DISCONNECT_TIMEOUT_S",
    "EXIT_STOP_ATTEMPTS",
    "EXIT_STOP_TIMEOUT_S",
    "EXIT_WAIT_CEILING_S",
    "EXIT_WAIT_FLOOR_S",
    "EXIT_WAIT_RECONNECTS",
    "FIND_TIMEOUT_S",
    "FRESH_TELEMETRY_S",
    "MAX_RECONNECT_S",
    "NOT_PERMITTED_BACKOFF_S",
    "RECONNECT_BACKOFF_FIRST_S",
    "RECONNECT_BACKOFF_MAX_S",
    "RECONNECT_FIND_MAX_S",
    "RECONNECT_FIND_MIN_S",
    "RECONNECT_STOP_ATTEMPTS",
    "RECONNECT_STOP_BACKOFF_S",
    "START_STATE_WAIT_S",
    "STOP_ATTEMPTS",
    "STOP_ATTEMPT_TIMEOUT_S",
    "STOP_RETRY_BACKOFF_S",
    "USER_STOP_BACKOFF_S",
    "exit_wait_left_s",
    "exit_wait_s",
    "reconnect_backoff_s",
]

#: one control-point round trip (write + indication) for an ordinary command.
COMMAND_TIMEOUT_S: Final = 2.0
#: one Stop round trip: short, because a lost Stop is retried rather than waited for.
STOP_ATTEMPT_TIMEOUT_S: Final = 1.0
#: Stop writes per ``stop()`` call (the controller calls ``stop()`` once; this is the only
#: retry layer, DESIGN invariant 2).
#: 12 x the 1 s attempt timeout stays under the controller's 15 s wait for the answer.
STOP_ATTEMPTS: Final = 12
#: waits before each retry of the parting Stop on exit: at once (its attempts bound them).
STOP_RETRY_BACKOFF_S: Final = (0.0,)
#: ... and of a user's Stop: at once, then every 0.25 s (attempt start to attempt start), so
#: a machine that refuses a few writes (0x04) still gets a Stop within about 2 s -- nine
#: refusals in one instant and then silence left the belt running (red team, issue 12)
USER_STOP_BACKOFF_S: Final = (0.0, 0.25)
#: the Stop after a reconnect (issue 12 e): retried at once, then backing off, never more than
#: 1 s apart (attempt start to attempt start: the answer's air time counts in it), until it lands, standstill is reported, or ``RECONNECT_STOP_ATTEMPTS`` writes
#: failed -- then the user is told (``StopUnconfirmedEvent``).
RECONNECT_STOP_BACKOFF_S: Final = (0.0, 0.25, 0.5, 1.0)
RECONNECT_STOP_ATTEMPTS: Final = 8
#: ... and if it has not landed this long after the reconnect, the user is told at once (it
#: goes on trying): one retry round of the backoff above.
RECONNECT_STOP_WARN_S: Final = 2.0
#: how long ``start()`` on a ``start_toggles`` machine waits to see the belt stand still (two
#: records at 1 Hz, with margin) before refusing to send Start.
START_STATE_WAIT_S: Final = 3.0
#: waits between "control not permitted" (0x05) retries of an ordinary command; each retry
#: re-requests control first. Kingsmith pads answer 0x05 for ~2.5 s after Start.
NOT_PERMITTED_BACKOFF_S: Final = (0.5, 1.0, 2.0)

#: finding the treadmill by scanning, on the first connect.
FIND_TIMEOUT_S: Final = 10.0
#: a connect refused outright is tried this often by bleak-retry-connector per attempt.
CONNECT_ATTEMPTS: Final = 3
#: the longest pause bleak-retry-connector makes between those tries (its
#: ``BLEAK_OUT_OF_SLOTS_BACKOFF_TIME``: a device missing or out of connection slots): a connect
#: that fails once and then succeeds costs two connects plus this.
CONNECTOR_BACKOFF_MAX_S: Final = 4.0
#: giving up reconnecting after a drop.
MAX_RECONNECT_S: Final = 60.0
#: the scan window of one reconnect attempt, within what is left of ``MAX_RECONNECT_S``.
RECONNECT_FIND_MIN_S: Final = 1.0
RECONNECT_FIND_MAX_S: Final = 5.0
#: backoff between reconnect attempts: doubles from the first up to the maximum.
RECONNECT_BACKOFF_FIRST_S: Final = 0.5
RECONNECT_BACKOFF_MAX_S: Final = 8.0
#: a disconnect that hangs is abandoned after this.
DISCONNECT_TIMEOUT_S: Final = 2.0

#: the parting Stop when leaving the ``async with`` block on a live link.
EXIT_STOP_TIMEOUT_S: Final = 2.5
#: Stop writes of the parting Stop, within ``EXIT_STOP_TIMEOUT_S``.
EXIT_STOP_ATTEMPTS: Final = 2

#: leaving while the link is down waits for this many measured (re)connects (one that fails,
#: one that succeeds, and the Stop after it), plus the pauses between them
#: (``CONNECTOR_BACKOFF_MAX_S`` inside a connect, ``RECONNECT_BACKOFF_FIRST_S`` between ours)
#: and one Stop round trip (``STOP_ATTEMPT_TIMEOUT_S``) ...
EXIT_WAIT_RECONNECTS: Final = 3.0
#: ... but never less than this (nothing measured yet, or a suspiciously fast simulator) ...
EXIT_WAIT_FLOOR_S: Final = 5.0
#: ... nor more than this, even for a connect attempt under way: past it,
#: ``belt_stopped_on_exit`` is False and the user is told.
EXIT_WAIT_CEILING_S: Final = 30.0

#: how fresh telemetry must be for "the belt stands still" to be believed.
FRESH_TELEMETRY_S: Final = 2.0


def exit_wait_s(measured_connect_s: float | None) -> float:
    """How long leaving waits for a reconnect that will stop the belt.

    ``measured_connect_s`` is the slowest connect + setup this link has measured (None before
    any). Over a real BLE stack a reconnect with discovery takes ~5 s at a 50 ms connection
    interval: a fixed 2.5 s let the belt run on (issue 12 f). The pauses count too: a
    connect that fails, bleak-retry-connector's backoff, our own and a good connect took ~9 s
    where 3 connects of 2.5 s gave 7.5 s, and the reconnect was cancelled mid-connect.
    """
    if measured_connect_s is None:
        return EXIT_WAIT_FLOOR_S
    pauses = CONNECTOR_BACKOFF_MAX_S + RECONNECT_BACKOFF_FIRST_S + STOP_ATTEMPT_TIMEOUT_S
    wait = EXIT_WAIT_RECONNECTS * measured_connect_s + pauses
    return min(EXIT_WAIT_CEILING_S, max(EXIT_WAIT_FLOOR_S, wait))


#: a wait left shorter than this is over: a float residue (1e-15 s) would be a timeout that
#: never lets the loop's clock move, and the wait would spin
_TIME_EPSILON_S: Final = 1e-6


def exit_wait_left_s(
    waited_s: float, measured_connect_s: float | None, *, attempt_under_way: bool
) -> float:
    """How much longer leaving waits, ``waited_s`` into the wait (0: stop waiting).

    Within ``exit_wait_s`` it waits; past it, a connect attempt under way is still waited
    for, up to ``EXIT_WAIT_CEILING_S``: cancelling a connect that may be about to stop the
    belt would leave it running on a guess about how long connects take."""
    left = exit_wait_s(measured_connect_s) - waited_s
    if left > _TIME_EPSILON_S:
        return left
    ceiling_left = EXIT_WAIT_CEILING_S - waited_s
    if attempt_under_way and ceiling_left > _TIME_EPSILON_S:
        return ceiling_left
    return 0.0


def reconnect_backoff_s(attempt: int) -> float:
    """The wait after failed reconnect attempt ``attempt`` (1 = the first)."""
    doubling: float = 2.0 ** max(0, attempt - 1)
    return min(RECONNECT_BACKOFF_FIRST_S * doubling, RECONNECT_BACKOFF_MAX_S)
