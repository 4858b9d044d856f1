"""Heart rate into the governor (issue 16; CONTRACTS "coach <-> session"), on virtual time.

The controller, link and simulator are real, and so is the HR coach
(``coach.heart_rate.HeartRateCoach``); only the strap is scripted: a small HeartPort whose pulse
is a function of session time, so each test says exactly what the walker's heart does.
"""

from __future__ import annotations

from typing import Any

from controller_rig import SET_SPEED, Run, Write, plan_steps, run_session
from heart_doubles import MPH_PLAN, ScriptedHeart

from treadcoach.coach.heart_rate import HrZone
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.schedule import Caps
from treadcoach.link import KMH_PER_MPH, GenericProfile, TreadmillLink
from treadcoach.safety.reasons import StopReason

#: the rig's plan: warm-up 0-60 s, turnaround 60-68, backward 68-158 (4.8 km/h, cap 4.83),
#: turnaround 158-166, cool-down 166-226
BACKWARD = (68.0, 158.0)


def speeds(run: Run, start: float, end: float) -> list[Write]:
    return [w for w in run.writes if start < w.t < end and w.opcode == SET_SPEED]


def test_above_the_hr_ceiling_the_speed_steps_down_and_never_up() -> None:
    # 155 bpm (ceiling 150, below the stop margin) from 80 s, in the backward walk at 4.8
    heart = ScriptedHeart(lambda t: 155 if t >= 80 else 110)
    run = run_session(heart=heart)
    down = [w.kmh for w in speeds(run, 80, BACKWARD[1])]
    assert down, "the ceiling commanded nothing"
    assert down == sorted(down, reverse=True), down  # never up while above
    assert down[-1] < 4.8 - 1.0, down  # 0.1 km/h every 5 s over 78 s
    # never above the limit the coach set at that moment
    limits = [(t, d.limit_kmh) for t, d, _ in heart.decisions if d.limit_kmh is not None]
    for write in speeds(run, 80, 226):
        before = [limit for t, limit in limits if t <= write.t]
        assert before, write
        assert write.kmh <= before[-1] + 1e-9, (write, before[-1])
    assert run.summary is not None
    assert run.summary.completed  # below the margin: the session goes on, slower
    # the pulse on the stream is the strap's
    assert {e.heart_rate_bpm for e in run.of("telemetry") if 85 < e.t < 150} == {155}
    above = [e for e in run.of("heart_rate") if e.above_ceiling]
    assert above
    assert above[0].t >= 80


def test_over_the_ceiling_by_the_margin_for_twenty_seconds_stops_with_hr_ceiling() -> None:
    heart = ScriptedHeart(lambda t: 165 if t >= 80 else 110)
    run = run_session(heart=heart)
    stop = run.stop
    assert stop.reason is StopReason.HR_CEILING
    assert stop.detail == "heart rate 165 above 150 for 20 s"
    assert 100 <= stop.t < 102
    assert run.summary is not None
    assert run.summary.stop_reason is StopReason.HR_CEILING
    assert run.belt_target_kmh == 0.0


def zone_plan(speed: float) -> list[Any]:
    text = f"""
name = "zone"
title = "Zone"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 30
speed = 3.0

[[segments]]
kind = "backward_walk"
duration = 400
speed = {speed}
"""
    return plan_steps(text, Caps(backward_max_kmh=4.0))


def backward_index(steps: list[Any]) -> int:
    return next(s.index for s in steps if s.kind is SegmentKind.BACKWARD_WALK)


def test_a_stale_strap_holds_the_speed_and_shows_holding() -> None:
    # a zone well above the pulse raises the speed; the strap goes silent at 100 s
    steps = zone_plan(2.0)
    heart = ScriptedHeart(
        lambda t: 90 if t < 100 else None, {backward_index(steps): HrZone(130, 140)}
    )
    run = run_session(steps, heart=heart)
    before = speeds(run, 40, 100)
    assert before
    assert before[-1].kmh > 2.0, "the zone never raised the speed"
    after = speeds(run, 106, 460)
    assert all(w.kmh <= before[-1].kmh for w in after), (before[-1], after)
    holding = [e for e in run.of("heart_rate") if e.holding]
    assert holding
    assert holding[0].signal == "stale"
    assert 105 <= holding[0].t < 107
    assert run.summary is not None
    assert run.summary.completed, "a strap failing stopped the belt"


def test_the_zone_raises_the_speed_up_to_the_cap_and_no_further() -> None:
    steps = zone_plan(2.5)  # backward cap 4.0
    heart = ScriptedHeart(lambda t: 90, {backward_index(steps): HrZone(130, 140)})
    run = run_session(steps, heart=heart)
    raised = [w.kmh for w in speeds(run, 40, 440)]
    assert max(raised) <= 4.0
    assert max(raised) >= 3.9, raised  # 0.1 km/h every 10 s from 2.5 over 400 s


def test_the_zone_lowers_the_speed_down_to_the_belt_minimum_and_no_further() -> None:
    steps = zone_plan(3.0)
    heart = ScriptedHeart(lambda t: 145, {backward_index(steps): HrZone(100, 110)})
    run = run_session(steps, heart=heart)
    lowered = [w.kmh for w in speeds(run, 40, 440)]
    assert min(lowered) >= 0.8  # the standard simulated belt's minimum
    assert min(lowered) <= 0.9, lowered
    state = run.controller.state if run.controller is not None else None
    assert state is not None
    assert state.hr_zone_bpm == (100, 110)
    assert state.strap_connected is True


def test_a_strap_that_never_sends_leaves_the_plan_as_written() -> None:
    plain = run_session()
    silent = run_session(heart=ScriptedHeart(lambda t: None))
    assert [w.data for w in silent.writes] == [w.data for w in plain.writes]
    statuses = silent.of("heart_rate")
    assert [(e.strap_connected, e.signal) for e in statuses] == [(True, "absent")]
    assert not plain.of("heart_rate")
    assert plain.controller is not None
    assert plain.controller.state.strap_connected is None


def test_no_write_is_above_the_hr_ceilings_limit_after_the_belts_rounding() -> None:
    # 155 bpm (above 150, below the stop margin): the limit steps down 0.1 km/h from 2.57, and
    # the link used to round each step to the nearest 0.1 -- 0.03 km/h above the limit
    heart = ScriptedHeart(lambda t: 155 if t >= 45 else 100)
    run = run_session(plan_steps(MPH_PLAN), heart=heart)
    checked = [
        (w.t, w.kmh, limit)
        for w in run.writes
        if w.opcode == SET_SPEED and (limit := heart.limit_at(w.t)) is not None
    ]
    assert len(checked) >= 5, checked  # the ceiling did step the speed down
    assert [c for c in checked if c[1] > c[2] + 1e-9] == []


class _MphTargetLink(TreadmillLink):
    """The rig's link, told (as devices.toml tells it) that this machine reads targets as mph."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__(address, profile=GenericProfile(target_speed_in_mph=True), **kwargs)


def test_no_write_is_above_the_hr_ceilings_limit_after_mph_conversion() -> None:
    heart = ScriptedHeart(lambda t: 155 if t >= 45 else 100)
    run = run_session(
        plan_steps(MPH_PLAN), heart=heart, profile="mph_target", link_class=_MphTargetLink
    )
    checked = [
        (w.t, int.from_bytes(w.data[1:3], "little") / 100 * KMH_PER_MPH, limit)
        for w in run.writes
        if w.opcode == SET_SPEED and (limit := heart.limit_at(w.t)) is not None
    ]
    assert len(checked) >= 5, checked
    assert [c for c in checked if c[1] > c[2] + 1e-9] == []
