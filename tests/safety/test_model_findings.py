"""What the model-based stop-path test found on the core of 2026-12-01, as fixed reproductions.

Each test replays the minimal example hypothesis shrank to (``test_model_stop_path.py``) through
the same harness (``model_harness.ModelSession``: a real Session, link and simulator on virtual
time) and checks the rule it broke, plus what the issue asks of the wire where that is sharper.
They fail on today's core; they are marked ``xfail(strict=True)`` so this branch stays green, and
the marks come off once the rebuilt core (issue 12) is merged: each must then pass.

The finding numbers are the ones in the model-test report to the lead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from model_harness import ModelSession

from sim.faults import FaultKind
from sim.treadmill import ControlPointWrite
from treadcoach.ftms.enums import OpCode, ResultCode

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


@pytest.mark.xfail(
    strict=True,
    reason="model finding 10: the turnaround counts down with the belt at 2 km/h (turnaround "
    "1 km/h) after the console sped it up; the watchdog allows the old speed until 11 s after "
    "the slow-down command (12 d)",
)
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
