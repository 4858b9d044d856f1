"""The link's scheduler, sans-I/O: the queue, coalescing, the stop epoch, and the retry tables.

``decide_command`` / ``decide_stop`` rows: what happened (``last``: None before a write, else the
result code or an Outcome), the attempt, the context -> the decision the shell must carry out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from treadcoach.ftms import (
    Permission,
    RequestControl,
    SetTargetInclination,
    SetTargetSpeed,
    StartResume,
)
from treadcoach.ftms.enums import ResultCode
from treadcoach.link.profile import GenericProfile
from treadcoach.link.scheduler import (
    CommandQueue,
    ControlFirst,
    Decision,
    Done,
    Fail,
    FailReason,
    KeepAlive,
    Outcome,
    PauseInstead,
    Result,
    Retry,
    Send,
    Skip,
    decide_command,
    decide_keepalive,
    decide_stop,
)
from treadcoach.link.timeouts import NOT_PERMITTED_BACKOFF_S

OK, NOT_PERMITTED, FAILED = ResultCode.SUCCESS, ResultCode.CONTROL_NOT_PERMITTED, ResultCode.FAILED
NOT_SUPPORTED, INVALID = ResultCode.NOT_SUPPORTED, ResultCode.INVALID_PARAMETER
ONCE = GenericProfile()
EVERY = GenericProfile(request_control="before_every_command")
NEVER = GenericProfile(request_control="never")
SPEED = SetTargetSpeed(3.2)


def test_queue_keeps_call_order_and_coalesces_targets_of_one_kind() -> None:
    queue: CommandQueue[str] = CommandQueue()
    queue.push(StartResume(), "start", None)
    speed = queue.push(SetTargetSpeed(3.0), "speed", 3.0)
    queue.push(SetTargetInclination(1.0), "incline", 1.0)
    assert queue.coalesce(SetTargetSpeed(4.0), 4.0) is speed
    assert speed.request == SetTargetSpeed(4.0)
    assert speed.value == 4.0
    assert [e.ticket for e in queue] == ["start", "speed", "incline"]
    popped = queue.pop()
    assert popped is not None
    assert popped.ticket == "start"
    assert queue.coalesce(SetTargetSpeed(5.0), 5.0) is speed  # still queued: still coalesced
    assert [e.ticket for e in queue.drop_all()] == ["speed", "incline"]
    assert queue.pop() is None
    assert queue.coalesce(SetTargetSpeed(5.0), 5.0) is None  # nothing queued: a new entry


def test_a_stop_epoch_supersedes_queued_and_already_popped_commands() -> None:
    queue: CommandQueue[str] = CommandQueue()
    in_flight = queue.push(SPEED, "in flight", 3.2)
    assert queue.pop() is in_flight
    queue.push(SetTargetInclination(1.0), "queued", 1.0)
    asked_before = queue.stop_epoch
    dropped = queue.bump_epoch()
    assert [e.ticket for e in dropped] == ["queued"]
    assert queue.superseded(in_flight)
    late = queue.push(StartResume(), "start asked before the stop", None, epoch=asked_before)
    assert queue.superseded(late)
    assert not queue.superseded(queue.push(SPEED, "after", 3.2))


@dataclass(frozen=True)
class Row:
    last: Result | None
    attempt: int
    decision: Decision
    request: object = SPEED
    superseded: bool = False
    permission: Permission = Permission.GRANTED
    belt_running: bool | None = False
    quirks: GenericProfile = field(default=ONCE)


COMMAND_ROWS: dict[str, Row] = {
    "first write": Row(None, 0, Send()),
    "accepted": Row(OK, 0, Done()),
    "refused outright": Row(FAILED, 0, Fail(FailReason.REJECTED, FAILED)),
    "no answer": Row(Outcome.TIMEOUT, 0, Fail(FailReason.LINK, Outcome.TIMEOUT)),
    "0x05 first time: wait, then again": Row(NOT_PERMITTED, 0, Retry(NOT_PERMITTED_BACKOFF_S[0])),
    "0x05 backs off": Row(NOT_PERMITTED, 1, Retry(NOT_PERMITTED_BACKOFF_S[1])),
    "0x05 too often": Row(
        NOT_PERMITTED,
        len(NOT_PERMITTED_BACKOFF_S),
        Fail(FailReason.REJECTED, NOT_PERMITTED),
    ),
    "the retry asks for control first": Row(None, 1, Send(ControlFirst.BEST_EFFORT)),
    "... unless the machine takes no Request Control": Row(
        None, 1, Send(ControlFirst.NO), quirks=NEVER
    ),
    "before_every_command": Row(None, 0, Send(ControlFirst.REQUIRED), quirks=EVERY),
    "superseded before the write": Row(None, 0, Fail(FailReason.SUPERSEDED), superseded=True),
    "superseded during the retry wait": Row(None, 2, Fail(FailReason.SUPERSEDED), superseded=True),
    "control lost: not written": Row(
        None, 0, Fail(FailReason.CONTROL_LOST), permission=Permission.LOST
    ),
    "control lost: no retry": Row(
        None, 1, Fail(FailReason.CONTROL_LOST), permission=Permission.LOST
    ),
    "0x05 after control lost": Row(
        NOT_PERMITTED, 0, Fail(FailReason.CONTROL_LOST, NOT_PERMITTED), permission=Permission.LOST
    ),
    "request control may be sent after 0xFF (the user's C)": Row(
        None, 0, Send(), request=RequestControl(), permission=Permission.LOST
    ),
    "request control is not retried on 0x05": Row(
        NOT_PERMITTED, 0, Fail(FailReason.REJECTED, NOT_PERMITTED), request=RequestControl()
    ),
    "start to a running belt is skipped": Row(
        None, 0, Skip("the belt is already running"), request=StartResume(), belt_running=True
    ),
    "start to a stopped belt": Row(None, 0, Send(), request=StartResume(), belt_running=False),
    "start_toggles: start to a belt not known stopped is refused": Row(
        None,
        0,
        Fail(FailReason.BELT_STATE_UNKNOWN),
        request=StartResume(),
        belt_running=False,
        quirks=GenericProfile(start_toggles=True),
    ),
}


@pytest.mark.parametrize("row", COMMAND_ROWS.values(), ids=COMMAND_ROWS.keys())
def test_command_decisions(row: Row) -> None:
    assert (
        decide_command(
            row.request,  # type: ignore[arg-type]
            row.last,
            row.attempt,
            superseded=row.superseded,
            permission=row.permission,
            belt_running=row.belt_running,
            quirks=row.quirks,
            belt_known_stopped=False,
        )
        == row.decision
    )


@dataclass(frozen=True)
class StopRow:
    last: Result | None
    attempt: int
    decision: Decision
    previous: Result | None = None
    attempts: int = 3
    gatt_up: bool = True
    permission: Permission = Permission.GRANTED
    take_control: bool = False
    others_pending: bool = False
    quirks: GenericProfile = field(default=ONCE)
    pause_instead: bool = False


STOP_ROWS: dict[str, StopRow] = {
    "first write": StopRow(None, 0, Send()),
    "link down": StopRow(None, 0, Fail(FailReason.LINK_DOWN), gatt_up=False),
    "accepted": StopRow(OK, 0, Done()),
    "no answer: again at once": StopRow(Outcome.TIMEOUT, 0, Retry(0.0)),
    "write failed: again at once": StopRow(Outcome.WRITE_FAILED, 1, Retry(0.0)),
    "no answer, out of attempts": StopRow(
        Outcome.TIMEOUT, 2, Fail(FailReason.LINK, Outcome.TIMEOUT)
    ),
    "0x04: again": StopRow(FAILED, 0, Retry(0.0)),
    "0x04 out of attempts": StopRow(FAILED, 2, Fail(FailReason.REJECTED, FAILED)),
    "0x05: again": StopRow(NOT_PERMITTED, 0, Retry(0.0)),
    "0x02: the machine takes Pause for Stop": StopRow(NOT_SUPPORTED, 0, PauseInstead()),
    "0x03: the machine takes Pause for Stop": StopRow(INVALID, 0, PauseInstead()),
    "0x02 on the last attempt: Pause still": StopRow(NOT_SUPPORTED, 2, PauseInstead()),
    "Pause in Stop's place refused 0x02 too: refused": StopRow(
        NOT_SUPPORTED, 0, Fail(FailReason.REJECTED, NOT_SUPPORTED), pause_instead=True
    ),
    "Pause in Stop's place accepted": StopRow(OK, 0, Done(), pause_instead=True),
    "Pause in Stop's place, 0x05: again": StopRow(NOT_PERMITTED, 0, Retry(0.0), pause_instead=True),
    "after 0x05: request control, then stop": StopRow(
        None, 1, Send(ControlFirst.BEST_EFFORT), previous=NOT_PERMITTED
    ),
    "after 0x05 with a command in flight: stop alone": StopRow(
        None, 1, Send(), previous=NOT_PERMITTED, others_pending=True
    ),
    "after 0x05 on a machine without request control": StopRow(
        None, 1, Send(), previous=NOT_PERMITTED, quirks=NEVER
    ),
    "after a timeout: no request control": StopRow(None, 1, Send(), previous=Outcome.TIMEOUT),
    # the link engineer's long run: after 0xFF the refusals came too late to be read
    "after a timeout after 0xFF, the user's stop: request control": StopRow(
        None,
        1,
        Send(ControlFirst.BEST_EFFORT),
        previous=Outcome.TIMEOUT,
        permission=Permission.LOST,
        take_control=True,
    ),
    "after a timeout after 0xFF, not the user's stop: no request control": StopRow(
        None, 1, Send(), previous=Outcome.TIMEOUT, permission=Permission.LOST
    ),
    "after a timeout after 0xFF on a machine without request control": StopRow(
        None,
        1,
        Send(),
        previous=Outcome.TIMEOUT,
        permission=Permission.LOST,
        take_control=True,
        quirks=NEVER,
    ),
    "after a write failure after 0xFF, the user's stop: stop alone": StopRow(
        None,
        1,
        Send(),
        previous=Outcome.WRITE_FAILED,
        permission=Permission.LOST,
        take_control=True,
    ),
    "0x05 after 0xFF, not the user's stop": StopRow(
        NOT_PERMITTED, 0, Fail(FailReason.CONTROL_LOST, NOT_PERMITTED), permission=Permission.LOST
    ),
    "0x05 to the user's stop, out of attempts: refused": StopRow(
        NOT_PERMITTED,
        2,
        Fail(FailReason.STOP_REFUSED, NOT_PERMITTED),
        permission=Permission.LOST,
        take_control=True,
    ),
    "0x05 out of attempts, not the user's stop": StopRow(
        NOT_PERMITTED, 2, Fail(FailReason.REJECTED, NOT_PERMITTED)
    ),
    "0x05 after 0xFF, the user's stop": StopRow(
        NOT_PERMITTED, 0, Retry(0.0), permission=Permission.LOST, take_control=True
    ),
    # found by the model test: 0xFF arrived between a 0x05 and the retry's Request Control
    "0xFF while retrying after 0x05, not the user's stop: no request control": StopRow(
        None,
        1,
        Fail(FailReason.CONTROL_LOST, NOT_PERMITTED),
        previous=NOT_PERMITTED,
        permission=Permission.LOST,
    ),
    "0xFF while retrying after 0x05, the user's stop: request control": StopRow(
        None,
        1,
        Send(ControlFirst.BEST_EFFORT),
        previous=NOT_PERMITTED,
        permission=Permission.LOST,
        take_control=True,
    ),
}


@pytest.mark.parametrize("row", STOP_ROWS.values(), ids=STOP_ROWS.keys())
def test_stop_decisions(row: StopRow) -> None:
    assert (
        decide_stop(
            row.last,
            row.attempt,
            attempts=row.attempts,
            previous=row.previous,
            gatt_up=row.gatt_up,
            permission=row.permission,
            take_control=row.take_control,
            others_pending=row.others_pending,
            quirks=row.quirks,
            pause_instead=row.pause_instead,
        )
        == row.decision
    )


# --- the keep-alive --------------------------------------------------------------------------

_NEVER = GenericProfile(request_control="never")


@pytest.mark.parametrize(
    ("ready", "permission", "busy", "quiet_s", "quirks", "expected"),
    [
        (True, Permission.GRANTED, False, 5.0, ONCE, KeepAlive.REQUEST_CONTROL),
        (True, Permission.GRANTED, False, 5.0, _NEVER, KeepAlive.READ),
        (True, Permission.NONE, False, 5.0, ONCE, KeepAlive.REQUEST_CONTROL),
        (False, Permission.GRANTED, False, 5.0, ONCE, KeepAlive.WAIT),  # down or reconnecting
        (True, Permission.LOST, False, 5.0, ONCE, KeepAlive.WAIT),  # never after 0xFF
        (True, Permission.LOST, False, 5.0, _NEVER, KeepAlive.WAIT),
        (True, Permission.GRANTED, True, 5.0, ONCE, KeepAlive.WAIT),  # commands keep it alive
        (True, Permission.GRANTED, False, 1.0, ONCE, KeepAlive.WAIT),  # wrote lately
    ],
)
def test_the_keepalive_speaks_only_on_a_quiet_ready_link_it_controls(
    ready: bool,
    permission: Permission,
    busy: bool,
    quiet_s: float,
    quirks: GenericProfile,
    expected: KeepAlive,
) -> None:
    decision = decide_keepalive(
        ready=ready, permission=permission, busy=busy, quiet_s=quiet_s, period_s=2.0, quirks=quirks
    )
    assert decision is expected
