"""Turnarounds (issue 12 d, m): no lower-capped step starts with the belt above its cap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from controller_rig import console_sets_speed, hold_config, run_session

from sim import SimTreadmill
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.kinds import SegmentKind
from treadcoach.config import load_settings
from treadcoach.errors import ConfigError
from treadcoach.safety.reasons import StopReason


def test_a_belt_that_has_not_slowed_when_the_turnaround_settle_time_ends_is_stopped() -> None:
    # the belt ignores the turnaround's 1 km/h from 59 s on; the settle time (5 s) ends before
    # the watchdog's own deadline would
    config = SessionConfig(plan_name="short", simulated=True, turnaround_settle_max_s=5.0)
    run = run_session(faults=("ignore_speed@59",), config=config)
    assert "belt_did_not_slow" in run.faults()
    fault = next(f for f in run.of("fault") if f.kind == "belt_did_not_slow")
    assert "turnaround" in fault.detail
    assert run.stop.reason is StopReason.OVERSPEED
    assert not run.cues("countdown"), "counted down with the belt above the turnaround speed"
    assert not [e for e in run.of("segment") if e.kind is SegmentKind.BACKWARD_WALK]
    assert run.belt_target_kmh == 0.0


def test_turnaround_kmh_zero_is_refused_with_a_message_naming_it(tmp_path: Path) -> None:
    # documented as "pause the belt to turn", but the schedule raised it to 0.5 km/h in silence:
    # a turnaround keeps the belt moving (see coach/schedule.py), so 0 is refused, not altered
    devices = tmp_path / "devices.toml"
    devices.write_text("[limits]\nturnaround_kmh = 0\n")
    with pytest.raises(
        ConfigError, match=r"line 2, limits\.turnaround_kmh: must be greater than 0, got 0"
    ):
        load_settings(devices)


def test_a_hold_during_the_turnaround_settle_does_not_use_up_the_settle_time() -> None:
    # 0xFF just after the turnaround began (60 s), the console keeps the belt at 4 km/h for
    # 30 s; after C the belt slows to 1 km/h within the settle time left on the step clock
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(60.5)
        treadmill.inject("control_lost")
        await asyncio.sleep(0.1)
        console_sets_speed(treadmill, 4.0)
        await asyncio.sleep(30)
        controller.request_control_back()

    run = run_session(config=hold_config(turnaround_settle_max_s=8.0), during=scenario)
    assert "belt_did_not_slow" not in run.faults()
    assert run.summary is not None
    assert run.summary.completed, (run.stop, run.faults())


def test_no_countdown_while_the_console_has_sped_the_settled_belt_up() -> None:
    # model finding 10: the turnaround (60 s) settled at 1 km/h by 64 s; at 65 s the console
    # turns the belt up to 2 km/h. The walker must not be counted into the turn (onto the
    # backward step) on a belt above turnaround speed: the belt is stopped, naming it.
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(65)
        console_sets_speed(treadmill, 2.0)

    run = run_session(during=scenario)
    fault = next(f for f in run.of("fault") if f.kind == "belt_sped_up")
    assert "turnaround" in fault.detail
    assert run.stop.reason is StopReason.OVERSPEED
    countdowns = [c for c in run.cues("countdown") if c.t > 65]
    assert not countdowns, countdowns
    assert not [e for e in run.of("segment") if e.kind is SegmentKind.BACKWARD_WALK]
    assert run.belt_target_kmh == 0.0


def test_a_countdown_still_runs_after_a_pause_in_the_turnaround() -> None:
    # the settle rule restarts after a hold: the paused belt ramps up from rest, below the
    # turnaround speed, so the countdown runs and the plan completes
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(65)
        controller.request_pause(StopReason.KEY)
        await asyncio.sleep(10)
        controller.request_resume(StopReason.KEY)

    run = run_session(during=scenario)
    assert "belt_sped_up" not in run.faults()
    assert run.summary is not None
    assert run.summary.completed, (run.stop, run.faults())
    assert [c.countdown_s for c in run.cues("countdown") if c.t > 75][:5] == [5, 4, 3, 2, 1]
