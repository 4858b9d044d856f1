"""The console takes control (0xFF) at any moment, and the user takes it back (issue 12 a, k).

After the user's C the governor and the watchdog carry on from wherever the console left the
belt: ramped at the governor's rates toward the current step's target, never above its cap, no
instant overspeed stop for a speed the console set, and a plan never "completes" unwatched.
"""

from __future__ import annotations

import asyncio

import pytest
from controller_rig import (
    SET_SPEED,
    RecordingClient,
    SimTreadmill,
    console_sets_speed,
    hold_config,
    plan_steps,
    run_session,
)

from treadcoach.coach.controller import SessionController
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import Phase
from treadcoach.safety.reasons import StopReason

BACKWARD_CAP_KMH = 4.83
SLACK_KMH = 0.2
BACK_AT_S = 40.0  # the user presses C


def console_takes_over(at_s: float | None, console_kmh: float, *, then: str = "") -> object:
    """0xFF at ``at_s`` (None: the moment the warm-up's second speed command is written, so
    it is in flight), the console turns the speed to ``console_kmh``, the user presses C at
    BACK_AT_S; ``then`` is a fault injected 20 s later."""

    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        started = asyncio.get_running_loop().time()  # with the session, on virtual time
        if at_s is None:
            speeds: list[bytes] = []

            def lose_control_mid_command(data: bytes) -> None:
                if data[0] == SET_SPEED:
                    speeds.append(data)
                    if len(speeds) == 2:
                        treadmill.inject("control_lost")

            RecordingClient.before_write = lose_control_mid_command
            await asyncio.sleep(2.5)
            RecordingClient.before_write = None
            assert len(speeds) >= 2
        else:
            await asyncio.sleep(at_s)
            treadmill.inject("control_lost")
            await asyncio.sleep(0.5)
        console_sets_speed(treadmill, console_kmh)
        await asyncio.sleep(started + BACK_AT_S - asyncio.get_running_loop().time())
        assert controller.state.phase is Phase.PAUSED  # held, commanding nothing
        controller.request_control_back()
        if then:
            await asyncio.sleep(20)
            treadmill.inject(then)

    return scenario


MOMENTS = [
    pytest.param(2.5, id="mid-ramp"),  # the warm-up ramps 1, 2, 3, 4 km/h from t=0
    pytest.param(None, id="speed-command-in-flight"),
    pytest.param(30.0, id="steady"),
]


@pytest.mark.parametrize("at_s", MOMENTS)
def test_control_back_governs_the_belt_down_from_the_consoles_speed_and_completes(
    at_s: float | None,
) -> None:
    run = run_session(config=hold_config(), during=console_takes_over(at_s, 8.0))  # type: ignore[arg-type]
    assert run.summary is not None
    assert run.stop.reason is StopReason.PLAN_END, (run.stop, run.faults())
    assert run.summary.completed
    assert "overspeed" not in run.faults()
    after = run.speeds_after(BACK_AT_S - 0.1)
    assert after, "no speed command after control came back"
    # the belt ran 8 km/h at the console: the first command brings it to the warm-up's 4.0 at
    # once (a command above a cap is never written), the belt's deceleration does the rest
    assert after[0].kmh == pytest.approx(4.0)
    assert max(w.kmh for w in run.writes if w.opcode == SET_SPEED) <= 4.8
    backward = next(e for e in run.of("segment") if e.kind is SegmentKind.BACKWARD_WALK)
    settled = [
        e.speed_kmh
        for e in run.of("telemetry")
        if e.segment_index == backward.index and e.t > backward.t + 10
    ]
    assert settled
    assert max(settled) <= BACKWARD_CAP_KMH + SLACK_KMH


def test_control_back_ramps_up_from_where_the_console_left_the_belt() -> None:
    run = run_session(config=hold_config(), during=console_takes_over(30.0, 2.0))  # type: ignore[arg-type]
    assert run.summary is not None
    assert run.summary.completed
    after = [w.kmh for w in run.speeds_after(BACK_AT_S - 0.1)]
    # from the console's 2 km/h up at 1 km/h per second: never back down to 1 km/h first
    assert after[:2] == [pytest.approx(3.0), pytest.approx(4.0)]


@pytest.mark.parametrize("at_s", MOMENTS)
def test_the_watchdog_watches_again_after_control_back(at_s: float | None) -> None:
    # 20 s after C the treadmill goes silent: that is stale telemetry, the belt is stopped
    run = run_session(
        config=hold_config(),
        during=console_takes_over(at_s, 4.0, then="stale"),  # type: ignore[arg-type]
    )
    assert run.stop.reason is StopReason.STALE, (run.stop, run.faults())
    assert run.summary is not None
    assert not run.summary.completed
    assert run.belt_target_kmh == 0.0


def test_control_back_from_a_paused_belt_the_console_started() -> None:
    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(20)
        controller.request_pause(StopReason.KEY)
        await asyncio.sleep(10)  # the belt stands idle
        treadmill.inject("control_lost")
        await asyncio.sleep(1)
        console_sets_speed(treadmill, 3.0)
        treadmill.server.state = treadmill.server.state.RUNNING  # started at the console
        await asyncio.sleep(9)
        controller.request_control_back()

    run = run_session(config=hold_config(), during=scenario)
    assert run.summary is not None
    assert run.summary.completed, (run.stop, run.faults())
    assert "overspeed" not in run.faults()
    assert run.speeds_after(40.0)


DISTANCE_PLAN = """
name = "distance"
title = "Distance"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 30
speed = 3.6

[[segments]]
kind = "forward_walk"
distance = 300
speed = 3.6          # 1 m/s: 300 s

[[segments]]
kind = "cooldown"
duration = 30
speed = 3.0
"""


def test_the_hold_after_0xff_also_holds_a_distance_segment() -> None:
    seen: dict[str, float | None] = {}

    async def scenario(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(100)  # 70 m into the 300 m walk
        treadmill.inject("control_lost")  # the console keeps the belt at 3.6 km/h
        await asyncio.sleep(2)
        seen["held"] = controller.state.remaining
        await asyncio.sleep(400)  # 400 m on the console's belt
        seen["later"] = controller.state.remaining
        assert controller.state.segment is not None
        seen["index"] = controller.state.segment.index
        controller.request_control_back()

    run = run_session(plan_steps(DISTANCE_PLAN), config=hold_config(), during=scenario)
    assert seen["index"] == 1  # still the distance segment
    assert seen["held"] is not None
    assert seen["later"] == pytest.approx(seen["held"], abs=1.0)
    assert run.summary is not None
    assert run.summary.completed
