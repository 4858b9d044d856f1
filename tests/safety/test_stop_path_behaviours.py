"""The stop path's behaviours the model test found wanting (findings 13, 14 and the user's Stop
after 0xFF with lost answers), each through the model harness: a real Session, link and
simulator on virtual time (``model_harness.ModelSession``)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from model_harness import ModelSession

from sim.faults import FaultKind
from treadcoach.ftms.enums import ResultCode
from treadcoach.link.runner import STOP_REFUSAL_TOLD_WITHIN_S

STOP = b"\x08\x01"


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)


def _model(**options: object) -> ModelSession:
    model = ModelSession(excused=frozenset(), **options)  # type: ignore[arg-type]
    model.start()
    return model


def _turn_until_stopped(model: ModelSession, turns: int = 2000) -> None:
    for _ in range(turns):
        if model._phase() == "stopped":
            return
        model.turn()
        model.loop.run_until_complete(asyncio_sleep(0.01))
    raise AssertionError("the stop path never ended")


async def asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def test_a_user_stop_after_the_stop_path_ended_writes_stop_while_the_link_closes() -> None:
    model = _model()
    try:
        model.advance(10)
        model.inject(FaultKind.LATE_INDICATION, count=5, delay_s=0.5)
        model.quit()
        _turn_until_stopped(model)
        assert not model.ended, "the session ended before the second stop"
        model.inject(FaultKind.CONSOLE_START)
        model.stop()  # the controller is STOPPED, the link still closing
        asked = len(model.rules.trace)
        model.advance(10)
        after = [e for e in model.rules.trace[asked:] if e.what == "write"]
        assert any(e.data.data == STOP for e in after), "the user's stop wrote no Stop"
    finally:
        model.finish()


def test_a_user_stop_after_the_session_ended_is_harmless() -> None:
    model = _model()
    try:
        model.advance(5)
        model.quit()
        model.advance(30)
        assert model.ended
        writes = len(model.treadmill.writes)
        events = len(model.rules.trace)
        model.stop()
        model.advance(5)
        assert len(model.treadmill.writes) == writes
        assert all(e.what != "event" for e in model.rules.trace[events:])
        assert model.error is None
    finally:
        model.finish()


def test_standstill_is_judged_only_from_telemetry_after_the_stop_was_accepted() -> None:
    # a console that counts down before the belt moves: 3 s in the belt creeps at 0.4 km/h
    # and the last telemetry (from before the Stop) said 0.2
    model = _model(profile="start_delay")
    try:
        model.advance(3.25 - model.treadmill.elapsed_s)
        model.quit()
        accepted = None
        for _ in range(400):
            model.loop.run_until_complete(asyncio_sleep(0.01))
            writes = [w for w in model.treadmill.writes if w.data == STOP]
            if accepted is None and any(w.result == ResultCode.SUCCESS for w in writes):
                accepted = model.treadmill.elapsed_s
            if model._phase() == "stopped":
                break
        assert accepted is not None
        ended_at = model.treadmill.elapsed_s
        frames = [
            e.at
            for e in model.rules.trace
            if e.what == "event" and e.name == "telemetry" and e.at >= accepted
        ]
        assert frames, (
            f"the stop path ended at {ended_at:.2f} s with no telemetry since the Stop was "
            f"accepted at {accepted:.2f} s"
        )
        assert frames[0] <= ended_at
    finally:
        model.finish()


def _told_after_presses(presses: int) -> float | None:
    """Seconds from the first stop press to the user being told the Stop was not taken, on a
    treadmill that refuses every Stop and Request Control (0x05) and answers 2.5 s late."""
    model = _model()
    try:
        model.advance(10)
        model.inject(FaultKind.NOT_PERMITTED, count=60)
        model.inject(FaultKind.LATE_INDICATION, count=60, delay_s=2.5)
        for _ in range(presses):
            model.stop()
        model.advance(20)
    finally:
        model.finish()
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


@pytest.mark.parametrize("presses", [1, 2, 3])
def test_the_user_is_told_a_refused_stop_within_two_answer_round_trips(presses: int) -> None:
    told = _told_after_presses(presses)
    assert told is not None, "the refusal was never said"
    assert told <= STOP_REFUSAL_TOLD_WITHIN_S, f"told {told:.2f} s after the press"


def test_a_user_stop_after_0xff_whose_stop_got_no_answer_asks_for_control_before_its_retry() -> (
    None
):
    model = _model(hold_on_control_lost=True)
    try:
        model.advance(10)
        model.inject(FaultKind.CONTROL_LOST)
        model.advance(1)
        written = len(model.treadmill.writes)
        model.inject(FaultKind.DROP_INDICATION, count=1)
        model.stop()
        model.advance(10)
        after = [w.data for w in list(model.treadmill.writes)[written:]]
        assert after[:1] == [STOP], after
        assert after[1:2] == [b"\x00"], f"after the unanswered Stop: {after[1:3]}"
        assert model.treadmill.belt_speed_kmh == 0.0 or not model.treadmill.running
    finally:
        model.finish()


def test_a_refused_user_stop_is_told_at_once_and_retried_until_it_lands() -> None:
    # the machine refuses Stop and Request Control (0x05) eleven times over, then takes Stop:
    # the user hears the refusal at the first Stop refused after Request Control, and the
    # session stays while the link retries, so the twelfth Stop stops the belt
    model = _model()
    try:
        model.advance(10)
        model.inject(FaultKind.NOT_PERMITTED, count=22)
        model.stop()
        asked = len(model.rules.trace)
        model.advance(20)
        trace = model.rules.trace[asked:]
        refused = [e for e in trace if e.what == "event" and e.name == "fault"]
        assert refused, "the refusal was never said"
        assert refused[0].data.kind == "stop_refused", refused[0]
        landed = [
            e
            for e in trace
            if e.what == "write" and e.data.data == STOP and e.data.result == ResultCode.SUCCESS
        ]
        assert landed, "no Stop landed: the retries ended with the session"
        assert landed[0].at > refused[0].at
        assert model.treadmill.belt_speed_kmh == 0.0
    finally:
        model.finish()


def test_a_press_right_after_a_console_start_gets_a_stop_written_after_it() -> None:
    # the first press's Stop is on the wire (its answer late) when the console starts the belt
    # and the user presses again in the same instant: that press joins the sequence under way,
    # and the Stop accepted was written before it, so a Stop must follow (seed 1202)
    model = _model()
    try:
        model.inject(FaultKind.LATE_INDICATION, count=1, delay_s=0.5)
        model.stop()
        model.inject(FaultKind.CONSOLE_START)
        started = len(model.rules.trace)
        model.quit()
        model.advance(5)
        after = [e for e in model.rules.trace[started:] if e.what == "write"]
        assert any(e.data.data == STOP for e in after), "no Stop written after the second press"
        assert model.treadmill.belt_speed_kmh < 0.8
    finally:
        model.finish()


def test_a_press_answered_by_a_stop_written_after_it_asks_for_nothing_more() -> None:
    # the console stops the belt (the controller's own stop), the user presses twice: the
    # second press is answered by the Stop written after it; after a 0xFF that follows, no
    # Stop of its own is written for it, so nothing asks for control (seed 1201)
    model = _model()
    try:
        model.inject(FaultKind.CONSOLE_STOP)
        model.stop()
        model.inject(FaultKind.SLOW_BELT)
        model.stop()
        model.inject(FaultKind.CONTROL_LOST)
        model.advance(3)
        assert model.rules.first("rc_after_ff") is None, model.rules.first("rc_after_ff")
    finally:
        model.finish()
