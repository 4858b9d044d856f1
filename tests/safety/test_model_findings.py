"""What the model-based stop-path test found on the core of 2026-12-01, as fixed reproductions.

Each test replays the minimal example hypothesis shrank to (``test_model_stop_path.py``) through
the same harness (``model_harness.ModelSession``: a real Session, link and simulator on virtual
time) and checks the rule it broke, plus what the issue asks of the wire where that is sharper.
A fixed finding's test passes; an open one is marked ``xfail(strict=True)`` (it fails on today's
code, and CI says so the day it passes), and the tag its violations are filed under is in
``model_harness.OPEN_FINDINGS``: the only violations the model test excuses by default. When a
fix lands, its mark and its tag come out together.

The finding numbers are the ones in the model-test reports to the lead (13 and 14: round 3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from model_harness import ModelSession

from sim.faults import FaultKind
from sim.treadmill import ControlPointWrite
from treadcoach.ftms.enums import OpCode, ResultCode
from treadcoach.link.runner import STOP_REFUSAL_TOLD_WITHIN_S

STOP = b"\x08\x01"


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)


def replay(steps: Callable[[ModelSession], object], **options: object) -> ModelSession:
    """Connect, do ``steps``, quit and run until every stop deadline passed; the rules are
    judged all the way (nothing excused, whatever the environment says)."""
    model = ModelSession(excused=frozenset(), **options)  # type: ignore[arg-type]
    try:
        model.start()
        steps(model)
        model.finish()
    finally:
        model.close()
    return model


def assert_kept(model: ModelSession, *rules: str) -> None:
    for rule in rules:
        found = model.rules.first(rule)
        assert found is None, found


def writes(model: ModelSession) -> list[ControlPointWrite]:
    return list(model.treadmill.writes)


# --- 1 --------------------------------------------------------------------------------------------


def test_stop_is_the_first_write_after_a_reconnect() -> None:
    model = replay(lambda m: (m.advance(10), m.inject(FaultKind.DISCONNECT), m.advance(5)))
    on_reconnect = [w for w in writes(model) if w.connection == 2]
    assert on_reconnect, "the link never wrote anything after reconnecting"
    assert on_reconnect[0].data == STOP, f"first write after reconnecting: {on_reconnect[0]}"
    assert_kept(model, "after_stop", "standstill")


# --- 2 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(lambda m: m.inject(FaultKind.NACK, count=3), id="0x04-three-times"),
        pytest.param(
            lambda m: (m.inject(FaultKind.NACK, count=2), m.inject(FaultKind.NOT_PERMITTED)),
            id="0x04-0x04-0x05",
        ),
        pytest.param(lambda m: m.inject(FaultKind.DROP_INDICATION, count=3), id="no-answer"),
    ],
)
def test_a_refused_stop_is_reported_not_a_crash(refusal: Callable[[ModelSession], object]) -> None:
    model = replay(lambda m: (m.advance(10), refusal(m), m.stop(), m.advance(20)))
    assert_kept(model, "crash", "standstill")


# --- 3 --------------------------------------------------------------------------------------------


def test_a_user_stop_after_the_console_took_control_still_stops_the_belt() -> None:
    def steps(m: ModelSession) -> None:
        m.advance(10)
        m.inject(FaultKind.CONTROL_LOST)
        m.advance(1)
        m.stop()
        m.advance(10)

    model = replay(steps, hold_on_control_lost=True)
    after_stop = writes(model)
    acknowledged = [w for w in after_stop if w.data == STOP and w.result == ResultCode.SUCCESS]
    assert acknowledged, "no Stop was acknowledged after the user's stop"
    assert_kept(model, "crash", "standstill")


# --- 4 --------------------------------------------------------------------------------------------


def test_a_refused_stop_after_a_reconnect_is_retried_until_acknowledged() -> None:
    def steps(m: ModelSession) -> None:
        m.inject(FaultKind.DISCONNECT)
        m.inject(FaultKind.NACK, count=3)
        m.advance(30)

    model = replay(steps)
    reconnected = [w for w in writes(model) if w.connection == 2]
    assert reconnected
    start = reconnected[0].at_s
    acked = [
        w
        for w in reconnected
        if w.data == STOP and w.result == ResultCode.SUCCESS and w.at_s <= start + 5.0
    ]
    assert acked, "no Stop acknowledged within 5 s of reconnecting: " + ", ".join(
        f"{w.at_s:.2f} {w.data.hex()}->{w.result}" for w in reconnected
    )
    assert_kept(model, "standstill")


# --- 5 --------------------------------------------------------------------------------------------


def test_a_request_control_in_flight_at_0xff_does_not_regain_control() -> None:
    # MYRUN asks for control before every command (devices.toml): the Pause's Request Control
    # is on the wire when the console takes over
    def steps(m: ModelSession) -> None:
        m.pause()
        m.inject(FaultKind.CONTROL_LOST)
        m.advance(5)

    model = replay(steps, profile="lifetime_odometer")
    assert_kept(model, "rc_after_ff")


# --- 6 --------------------------------------------------------------------------------------------


def test_a_queued_speed_command_is_never_written_after_a_stop_request() -> None:
    def steps(m: ModelSession) -> None:
        m.speed(0.0)  # in flight
        m.speed(1.0)  # queued behind it
        m.turn()
        m.quit()
        m.advance(3)

    model = replay(steps)
    assert_kept(model, "after_stop")


# --- 7 --------------------------------------------------------------------------------------------


def test_a_command_waiting_on_its_request_control_is_dropped_by_a_stop() -> None:
    def steps(m: ModelSession) -> None:
        m.advance(2.0)
        m.speed(0.0)
        m.speed_then_stop(0.0)
        m.advance(3)

    model = replay(steps, profile="lifetime_odometer")
    assert_kept(model, "after_stop")


# --- 8 --------------------------------------------------------------------------------------------


def test_every_stop_request_writes_stop_even_while_one_is_confirming() -> None:
    def steps(m: ModelSession) -> None:
        m.stop()
        m.inject(FaultKind.CONSOLE_START)
        m.quit()
        m.advance(20)

    model = replay(steps)
    assert_kept(model, "standstill")


# --- 9 --------------------------------------------------------------------------------------------


def test_resume_after_a_console_start_sends_no_start_to_the_running_belt() -> None:
    def steps(m: ModelSession) -> None:
        m.pause()
        m.inject(FaultKind.CONSOLE_START)
        m.turn()
        m.resume()
        m.turn()
        m.advance(2)

    model = replay(steps)
    starts = [w for w in writes(model) if w.opcode == OpCode.START_RESUME]
    assert all(w.state_before.value != "running" for w in starts), starts
    assert_kept(model, "start_running")


# --- 10 -------------------------------------------------------------------------------------------


def test_no_turnaround_countdown_with_the_belt_above_turnaround_speed() -> None:
    def steps(m: ModelSession) -> None:
        m.advance(65.0)  # the turnaround began at 60 s; the belt settled at 1 km/h by 64 s
        m.inject(FaultKind.CONSOLE_SPEED, kmh=2.0)
        m.advance(6)

    model = replay(steps)
    assert_kept(model, "step_above_cap")


# --- 11 -------------------------------------------------------------------------------------------


def test_an_mph_target_never_exceeds_the_cap_in_km_h() -> None:
    model = replay(lambda m: m.advance(100), profile="mph_target", backward_max_kmh=4.0)
    assert_kept(model, "cap")


# --- 12 -------------------------------------------------------------------------------------------


def test_a_command_retrying_across_a_reconnect_is_dropped_by_the_stop() -> None:
    # a Kingsmith-like pad answers speed 0x05 for 2.5 s after Start: the link backs off
    model = replay(
        lambda m: (m.inject(FaultKind.DISCONNECT), m.advance(3)), profile="speed_needs_running"
    )
    after = [w for w in writes(model) if w.connection == 2]
    speeds = [w for w in after if w.opcode == OpCode.SET_TARGET_SPEED]
    assert not speeds, f"Set Target Speed written after the reconnect's Stop: {speeds}"
    assert_kept(model, "after_stop")


# --- 13 -------------------------------------------------------------------------------------------


def test_a_user_stop_while_the_session_closes_stops_a_belt_the_console_started() -> None:
    def steps(m: ModelSession) -> None:
        # a console that counts down before the belt moves: 3 s in, the belt creeps at 0.4 km/h
        # and the last telemetry said 0.2, so the stop path reads standstill at once
        m.advance(3.25 - m.treadmill.elapsed_s)
        m.quit()  # Stop accepted; the controller is STOPPED; the session closes
        m.inject(FaultKind.CONSOLE_STOP)
        m.inject(FaultKind.LATE_INDICATION, count=1, delay_s=0.5)
        m.turn()  # the closing link writes its exit Stop; its answer comes 0.5 s late
        m.inject(FaultKind.SLOW_BELT)
        m.inject(FaultKind.CONSOLE_START)  # someone at the console starts the belt
        # replay()'s finish() quits now, as a user leaving: a stop request after the start

    model = replay(steps, profile="start_delay")
    trace = model.rules.trace
    started = next(i for i, e in enumerate(trace) if e.name == "console_start")
    stops_after = [e for e in trace[started:] if e.what == "write" and e.data.data == STOP]
    # Since the link keeps a console start reported after our Stop was written (finding 9's
    # late-answer fix) the summary says the belt may be running; but the user asked again with
    # the link still up, and that must write Stop, in whatever phase the controller is.
    assert stops_after, "the user's stop after the console start wrote no Stop"
    assert_kept(model, "standstill")


# --- 14 -------------------------------------------------------------------------------------------


def _told_after_presses(presses: int) -> float | None:
    """Seconds from the first stop press to the user being told the Stop was refused, on a
    treadmill that refuses every Stop and Request Control (0x05) and answers 2.5 s late."""

    def steps(m: ModelSession) -> None:
        m.advance(10)
        m.inject(FaultKind.NOT_PERMITTED, count=60)
        m.inject(FaultKind.LATE_INDICATION, count=60, delay_s=2.5)
        for _ in range(presses):
            m.stop()
        m.advance(40)

    model = replay(steps)
    trace = model.rules.trace
    pressed = next(e.at for e in trace if e.what == "user" and e.name == "stop")
    told = [
        e.at
        for e in trace
        if e.what == "event"
        and e.name == "fault"
        and e.data.kind in ("stop_refused", "stop_failed")
    ]
    return told[0] - pressed if told else None


def test_pressing_stop_again_while_stop_is_refused_does_not_delay_telling_the_user() -> None:
    once = _told_after_presses(1)
    assert once is not None, "one press: the refusal is never said"
    twice = _told_after_presses(2)
    assert twice is not None, f"two presses: never told (one press: told after {once:.2f} s)"
    assert twice <= once, f"told {once:.2f} s after one press, {twice:.2f} s after two"
    # and told at the first refusal after Request Control, not once all 12 attempts failed
    assert once <= STOP_REFUSAL_TOLD_WITHIN_S, f"one press: told after {once:.2f} s"


# --- 15 -------------------------------------------------------------------------------------------


# Judged a race on the wire, not a link bug: the console's Start and the resume's Start cross.
# The resume's Start is written in the instant the console starts the belt, and the console's
# Machine Status "started" (0x04) reaches the link only after that write: the link's last word
# from the machine was our Pause accepted, so no client could have known. The rule now judges
# by what the link had heard when it wrote (``StopPathRules._console_start_unheard``).


def test_a_resume_in_the_instant_of_a_console_start_is_a_start_written_before_its_report() -> None:
    def steps(m: ModelSession) -> None:
        m.pause()
        m.inject(FaultKind.SLOW_BELT)
        m.inject(FaultKind.SLOW_BELT)
        m.resume()
        m.inject(FaultKind.CONSOLE_START)
        m.advance(2)

    model = replay(steps)
    assert_kept(model, "start_running")
    # the order of events that makes it a race: the Start went out to a belt the console had
    # just started, and the console's report of that start reached the link after the write
    trace = model.rules.trace
    console = next(i for i, e in enumerate(trace) if e.name == "console_start")
    start = next(
        i
        for i, e in enumerate(trace)
        if i > console and e.what == "write" and e.data.opcode == OpCode.START_RESUME
    )
    assert trace[start].data.state_before.value == "running"
    reported = next(
        i
        for i, e in enumerate(trace)
        if i > console and e.name == "machine_status" and e.data[:1] == b"\x04"
    )
    assert reported > start, "\n".join(str(e) for e in trace[console : start + 3])
    heard = [e for e in trace[console:start] if e.what == "link" or e.name == "telemetry"]
    assert heard == [], heard


# --- 16 -------------------------------------------------------------------------------------------


# Judged a model error, not a link bug (round 4, the 5,000-example run with
# --hypothesis-seed=1232, after 3,314 clean examples). The user's C wrote Request Control, the
# link dropped and reconnected (which forgets what was in flight), the console took control again
# and again, and the machine's answers came 4 s late. The quit's Stop went unanswered, so the
# link asked for control before each retry, as a user's stop after 0xFF may (issue 12 c). A grant
# that landed 5 s late matched nothing in flight for the link, so the link still had no control,
# and its next retry asked for control again. The model had taken that grant as the answer to C
# (control back) and flagged the Request Control. It now judges C's grant by what the link can
# match: the same connection, before the answer's timeout (StopPathRules._control_back_matchable).


def test_a_late_grant_after_a_reconnect_is_not_control_back_for_the_users_stop() -> None:
    def steps(m: ModelSession) -> None:
        m.advance(2.0)
        m.inject(FaultKind.DROP_INDICATION, count=2)
        m.inject(FaultKind.CONTROL_LOST)
        m.inject(FaultKind.CONTROL_LOST)
        m.control_back()
        m.inject(FaultKind.DISCONNECT, down_s=0.0)
        m.inject(FaultKind.LATE_INDICATION, count=2, delay_s=0.5)
        for _ in range(6):
            m.inject(FaultKind.CONTROL_LOST)
        m.inject(FaultKind.LATE_INDICATION, count=2, delay_s=4.0)

    model = replay(steps, hold_on_control_lost=True)
    assert_kept(model, "after_stop", "standstill", "cap", "start_running", "rc_after_ff")
    # after the stop request, nothing but Stop and the Request Control its retries asked for
    stop_at = next(e.at for e in model.rules.trace if e.what == "user" and e.name == "quit")
    after = [w for w in writes(model) if w.at_s >= stop_at]
    assert {w.opcode for w in after} <= {OpCode.STOP_PAUSE, OpCode.REQUEST_CONTROL}
    assert after[-1].opcode == OpCode.STOP_PAUSE
    assert after[-1].result == ResultCode.SUCCESS


def test_a_late_stop_success_the_link_cannot_match_leaves_the_users_stop_open() -> None:
    """The same run's second shrink: no C, and the unmatched late answer is the Stop's success
    (its wait had timed out, a Request Control was in flight), so for the link the user's stop
    is still unconfirmed and its retry may ask for control again."""

    def steps(m: ModelSession) -> None:
        m.advance(3.0)
        for _ in range(3):
            m.inject(FaultKind.CONTROL_LOST)
        m.inject(FaultKind.DISCONNECT, down_s=0.0)
        m.inject(FaultKind.DROP_INDICATION, count=2)
        m.inject(FaultKind.LATE_INDICATION, count=2, delay_s=0.5)
        for _ in range(5):
            m.inject(FaultKind.CONTROL_LOST)
        m.inject(FaultKind.LATE_INDICATION, count=1, delay_s=0.5)
        m.inject(FaultKind.LATE_INDICATION, count=2, delay_s=4.0)

    model = replay(steps)
    assert_kept(model, "after_stop", "standstill", "cap", "start_running", "rc_after_ff")
    assert writes(model)[-1].opcode == OpCode.STOP_PAUSE
