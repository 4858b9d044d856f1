"""The session controller against the simulator, through bleak's backend seam, on virtual time.

Each test runs a real ``TreadmillLink`` over ``SimBleakClient`` to a ``SimTreadmill``; the only
fault source is the simulator's fault injection. Belt outcomes are checked at the simulator.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from controller_rig import PLAN, SET_SPEED, Run, plan_steps, run_session

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.library import find_plan
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, Step, expand
from treadcoach.coach.state import Phase
from treadcoach.errors import LimitsError
from treadcoach.link import TreadmillLink
from treadcoach.safety.reasons import StopReason

SHORT_PLAN = PLAN


def short_steps() -> list[Step]:
    return plan_steps()


# --- a whole plan ------------------------------------------------------------------------------


def test_gentle_intro_runs_every_segment_in_order_with_turnarounds() -> None:
    steps = expand(find_plan("gentle-intro"), Caps())
    run = run_session(steps)
    segments = run.of("segment")
    assert [s.index for s in segments] == list(range(len(steps)))  # type: ignore[union-attr]
    kinds = [s.kind for s in segments]  # type: ignore[union-attr]
    for i, kind in enumerate(kinds):
        if kind.is_backward:
            assert kinds[i - 1] is SegmentKind.TURNAROUND
            assert (
                i + 1 == len(kinds)
                or kinds[i + 1] in (SegmentKind.TURNAROUND,)
                or (kinds[i + 1].is_backward)
            )
    assert run.summary is not None
    assert run.summary.completed
    assert run.stop.reason is StopReason.PLAN_END
    assert run.belt_target_kmh == 0.0  # the plan end stopped the belt


def test_no_telemetry_ever_exceeds_the_cap_of_its_segment() -> None:
    run = run_session()
    cap_by_index = {s.index: s.target_kmh for s in short_steps()}
    tolerance = 0.2  # one increment of belt overshoot would already be a bug; allow rounding
    prev_cap = 0.0
    for event in run.events:
        if event.event == "telemetry" and event.segment_index is not None:
            cap = cap_by_index[event.segment_index]
            # while slowing into a lower-capped segment the belt may still carry the old speed
            assert event.speed_kmh <= max(cap, prev_cap) + tolerance
        if event.event == "segment":
            prev_cap = cap_by_index.get(event.index - 1, 0.0)
    backward = [e for e in run.of("segment") if e.kind is SegmentKind.BACKWARD_WALK]
    assert backward
    assert all(e.target_kmh <= 4.83 for e in backward)


def test_turnaround_counts_down_at_least_five_seconds_before_backward() -> None:
    run = run_session()
    seq = run.events
    backward_at = next(i for i, e in enumerate(seq) if e.event == "segment" and e.kind.is_backward)
    countdown = [e for e in seq[:backward_at] if e.event == "cue" and e.kind == "countdown"]
    assert [c.countdown_s for c in countdown[-5:]] == [5, 4, 3, 2, 1]
    assert backward_at
    assert seq[backward_at].t - countdown[-5].t >= 5.0 - 1e-6


def test_a_45_minute_plan_finishes_on_virtual_time() -> None:
    steps = expand(find_plan("gentle-intro"), Caps())
    run = run_session(steps)
    assert run.summary is not None
    assert run.summary.duration_s > 45 * 60


# --- stops from inputs -------------------------------------------------------------------------


async def _stop_key_at_100s(treadmill: SimTreadmill, controller: SessionController) -> None:
    await asyncio.sleep(100)
    controller.request_stop(StopReason.KEY, "space pressed")


def test_stop_key_stops_the_belt_and_records_the_reason() -> None:
    run = run_session(during=_stop_key_at_100s)
    assert run.stop.reason is StopReason.KEY
    # the session listens on until the belt reports standstill, so the stop is seen confirmed
    last = [e for e in run.events if e.event == "telemetry"][-1]
    assert last.speed_kmh <= 0.2
    assert not any(f.kind == "stop_unconfirmed" for f in run.of("fault"))
    assert run.summary is not None
    assert not run.summary.completed
    assert run.belt_target_kmh == 0.0


async def _pause_then_resume(treadmill: SimTreadmill, controller: SessionController) -> None:
    await asyncio.sleep(30)
    controller.request_pause(StopReason.KEY)
    await asyncio.sleep(40)
    assert controller.state.phase is Phase.PAUSED
    assert treadmill.target_speed_kmh == 0.0
    remaining = controller.state.remaining
    await asyncio.sleep(20)
    assert controller.state.remaining == remaining  # the plan clock stands still
    controller.request_resume(StopReason.KEY)


def test_pause_and_resume_keep_the_plan_position() -> None:
    run = run_session(during=_pause_then_resume)
    assert run.summary is not None
    assert run.summary.completed
    warmup_end = next(e for e in run.of("segment") if e.index == 1)
    # 60 s of warm-up + 60 s paused
    assert warmup_end.t == pytest.approx(120.0, abs=1.5)


async def _remote_speed_and_resume(treadmill: SimTreadmill, controller: SessionController) -> None:
    await asyncio.sleep(30)
    controller.request_speed(9.0, StopReason.MQTT)
    await asyncio.sleep(10)
    assert treadmill.target_speed_kmh == pytest.approx(4.0)
    controller.request_pause(StopReason.MQTT)
    await asyncio.sleep(10)
    controller.request_resume(StopReason.MQTT)
    await asyncio.sleep(10)
    assert controller.state.phase is Phase.PAUSED  # resume refused
    controller.request_stop(StopReason.MQTT, "done")


def test_remote_may_pause_and_stop_but_not_resume_or_speed_up_by_default() -> None:
    run = run_session(during=_remote_speed_and_resume)
    assert run.stop.reason is StopReason.MQTT


# --- the fault matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("safety_key@80", StopReason.SAFETY_KEY),
        ("stale@80", StopReason.STALE),
        # ignored while speeding up: the belt lags its target
        ("ignore_speed@1", StopReason.TARGET_IGNORED),
        # ignored while slowing into the turnaround: the belt runs faster than its target
        ("ignore_speed@40", StopReason.OVERSPEED),
        ("disconnect@80", StopReason.DISCONNECT),
        ("control_lost@80", StopReason.CONTROL_LOST),
    ],
)
def test_each_fault_ends_the_session_with_its_reason(fault: str, reason: StopReason) -> None:
    run = run_session(faults=(fault,))
    assert run.stop.reason is reason
    assert run.summary is not None
    assert not run.summary.completed
    assert any(f.kind == reason.value for f in run.of("fault"))


@pytest.mark.parametrize(
    "fault", ["safety_key@80", "stale@80", "ignore_speed@1", "ignore_speed@40"]
)
def test_faults_with_a_live_link_leave_the_belt_commanded_to_stop(fault: str) -> None:
    run = run_session(faults=(fault,))
    assert run.belt_target_kmh == 0.0


def test_disconnect_stops_the_belt_when_the_link_comes_back() -> None:
    run = run_session(faults=("disconnect@80",))
    assert run.stop.reason is StopReason.DISCONNECT
    assert run.belt_target_kmh == 0.0


def test_control_lost_sends_no_more_commands_to_the_belt() -> None:
    # Whoever took over at the console keeps the belt: we do not fight them with a Stop.
    run = run_session(faults=("control_lost@80",))
    assert run.stop.reason is StopReason.CONTROL_LOST
    assert run.belt_target_kmh != 0.0


def test_garbage_frames_are_reported_but_the_session_completes() -> None:
    run = run_session(faults=("garbage@30",))
    assert run.summary is not None
    assert run.summary.completed
    assert any(f.kind == "garbage" for f in run.of("fault"))


def test_one_refused_speed_command_is_a_fault_and_retried_not_the_sessions_end() -> None:
    # nack answers the next write with 0x04 (a transient failure): the governor's Set Target
    # Speed at the turnaround (61 s) is refused, said as a fault, and tried again next tick.
    async def nack_later(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(61)
        treadmill.inject("nack", count=1)

    run = run_session(during=nack_later)
    assert run.stop.reason is StopReason.PLAN_END, run.stop.detail
    assert "command_refused" in run.faults()
    assert "error" not in run.faults()
    assert run.belt_target_kmh == 0.0


def test_speed_commands_refused_again_and_again_stop_the_belt_with_a_clear_reason() -> None:
    async def nack_later(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(61)
        treadmill.inject("nack", count=3)  # the Stop after them is accepted

    run = run_session(during=nack_later)
    assert run.stop.reason is StopReason.TARGET_IGNORED
    assert run.stop.detail.startswith("the treadmill refused 3 speed commands"), run.stop.detail
    assert "Rejected" not in run.stop.detail  # what happened, not an exception class
    assert run.faults().count("command_refused") == 3
    assert run.belt_target_kmh == 0.0


def test_the_journal_recorder_sees_each_event_before_any_renderer() -> None:
    # Invariant 6: whatever is shown is already journaled, so a kill loses nothing shown.
    order: list[str] = []

    async def attach(treadmill: SimTreadmill, controller: SessionController) -> None:
        controller.add_recorder(lambda e: order.append(f"journal:{e.event}"))

    steps = short_steps()
    run = Run()

    async def scenario() -> None:
        async with SimTreadmill(name="SimTread") as treadmill:
            controller = SessionController(
                lambda: TreadmillLink(
                    treadmill.address,
                    client_backend=SimBleakClient,
                    scanner_backend=SimBleakScanner,
                ),
                steps,
            )
            controller.add_listener(lambda e: order.append(f"shown:{e.event}"))
            await attach(treadmill, controller)
            run.summary = await controller.run()

    clock.run(scenario(), speedup=math.inf)
    assert order[:2] == ["journal:connected", "shown:connected"]
    pairs = list(zip(order[::2], order[1::2], strict=True))
    assert all(a.startswith("journal:") and b.startswith("shown:") for a, b in pairs)


async def _take_control_back_later(treadmill: SimTreadmill, controller: SessionController) -> None:
    await asyncio.sleep(100)  # control was lost at 80 s
    assert controller.state.phase is Phase.PAUSED
    assert not treadmill.control_granted
    controller.request_resume(StopReason.KEY)  # refused: resume cannot fight the console
    await asyncio.sleep(5)
    assert controller.state.phase is Phase.PAUSED
    assert not treadmill.control_granted
    controller.request_control_back()


def test_tui_session_holds_on_control_lost_until_the_user_takes_control_back() -> None:
    run = run_session(
        faults=("control_lost@80",),
        during=_take_control_back_later,
        config=SessionConfig(plan_name="short", simulated=True, end_on_control_lost=False),
    )
    assert run.summary is not None
    assert run.summary.completed
    assert any(f.kind == "control_lost" for f in run.of("fault"))
    # the plan clock stood still while the console had control
    assert run.summary.duration_s > 60 + 8 + 90 + 8 + 60 + 20


# --- regressions found in review ---------------------------------------------------------------


async def _stop_just_before_a_boundary(
    treadmill: SimTreadmill, controller: SessionController
) -> None:
    await asyncio.sleep(59)  # the warm-up ends at 60 s, inside the stop's standstill wait
    controller.request_stop(StopReason.KEY, "space")


def test_nothing_is_announced_or_commanded_after_a_stop() -> None:
    run = run_session(during=_stop_just_before_a_boundary)
    stop_at = next(i for i, e in enumerate(run.events) if e.event == "stop")
    after = run.events[stop_at + 1 :]
    assert not [e for e in after if e.event == "segment"]
    assert not [e for e in after if e.event == "cue" and e.kind == "countdown"]
    assert run.belt_target_kmh == 0.0


async def _pause_refused(treadmill: SimTreadmill, controller: SessionController) -> None:
    await asyncio.sleep(30)
    treadmill.inject("nack", count=1)  # the next write -- the Pause -- is refused with 0x04
    controller.request_pause(StopReason.KEY)


def test_a_refused_pause_stops_the_belt_instead_of_leaving_it_unwatched() -> None:
    run = run_session(during=_pause_refused)
    assert any(f.kind == "pause_failed" for f in run.of("fault"))
    assert run.stop.reason is StopReason.KEY
    assert run.belt_target_kmh == 0.0


async def _resume_before_the_pause_landed(
    treadmill: SimTreadmill, controller: SessionController
) -> None:
    await asyncio.sleep(30)
    controller.request_pause(StopReason.KEY)
    controller.request_resume(StopReason.KEY)  # the Pause is still on its way: ignored
    await asyncio.sleep(10)
    assert controller.state.phase is Phase.PAUSED
    assert treadmill.target_speed_kmh == 0.0
    controller.request_resume(StopReason.KEY)


def test_resume_before_the_pause_is_done_is_ignored_and_the_plan_holds() -> None:
    run = run_session(during=_resume_before_the_pause_landed)
    assert run.summary is not None
    assert run.summary.completed
    warmup_end = next(e for e in run.of("segment") if e.index == 1)
    assert warmup_end.t == pytest.approx(70.0, abs=1.5)  # 60 s of warm-up + 10 s paused


def test_a_turnaround_slower_than_the_belt_can_go_runs_at_the_belt_minimum() -> None:
    # turnaround 0.5 km/h, the simulated belt's minimum is 0.8: clamp, never reject
    steps = expand(parse_plan(SHORT_PLAN, "short.toml"), Caps(turnaround_kmh=0.5))
    run = run_session(steps)
    assert run.summary is not None
    assert run.summary.completed


def test_a_segment_capped_below_the_belt_minimum_refuses_to_start_the_belt() -> None:
    steps = expand(parse_plan(SHORT_PLAN, "short.toml"), Caps(backward_max_kmh=0.5))

    async def scenario() -> float:
        async with SimTreadmill(name="SimTread") as treadmill:
            controller = SessionController(
                lambda: TreadmillLink(
                    treadmill.address,
                    client_backend=SimBleakClient,
                    scanner_backend=SimBleakScanner,
                ),
                steps,
            )
            with pytest.raises(LimitsError, match="cannot run slower"):
                await controller.run()
            return treadmill.target_speed_kmh

    assert clock.run(scenario(), speedup=math.inf) == 0.0


async def _pause_in_the_countdown(treadmill: SimTreadmill, controller: SessionController) -> None:
    while controller.state.turnaround_countdown_s != 2:  # noqa: ASYNC110 -- watch the countdown
        await asyncio.sleep(0.25)
    controller.request_pause(StopReason.KEY)
    await asyncio.sleep(20)
    controller.request_resume(StopReason.KEY)


def test_a_pause_in_the_turnaround_countdown_restarts_it_from_five() -> None:
    run = run_session(during=_pause_in_the_countdown)
    assert run.summary is not None
    assert run.summary.completed
    resumed = next(e for e in run.of("cue") if e.text.startswith("Resumed"))
    backward = next(e for e in run.of("segment") if e.kind.is_backward)
    between = [
        e.countdown_s
        for e in run.of("cue")
        if e.kind == "countdown" and resumed.t <= e.t <= backward.t
    ]
    assert between[-5:] == [5, 4, 3, 2, 1]
    assert backward.t - resumed.t >= 5.0


def test_each_segment_announces_the_speed_the_belt_is_commanded_to_run() -> None:
    # the backward walk is capped at 4.83 km/h (3 mph); the simulator's grid is 0.1 km/h, so
    # the link commands 4.8: the stream must say 4.8, not a speed never sent
    run = run_session()
    segments = {e.index: e for e in run.of("segment")}
    assert segments[2].target_kmh == 4.8
    writes = [w.kmh for w in run.writes if w.opcode == SET_SPEED and 68 <= w.t < 158]
    assert max(writes) == segments[2].target_kmh


def test_an_unexpected_failure_stops_the_session_without_a_class_name_in_what_is_said() -> None:
    class Broken(TreadmillLink):
        async def set_speed(self, kmh: float, *, ceiling_kmh: float | None = None) -> float:
            if asyncio.get_running_loop().time() > 30:
                raise RuntimeError("boom")
            return await super().set_speed(kmh, ceiling_kmh=ceiling_kmh)

    run = run_session(link_class=Broken)
    assert run.stop.reason is StopReason.ERROR
    assert run.stop.detail == "an internal error (details in the log)"
    assert all("RuntimeError" not in c.text for c in run.cues())
    assert run.belt_target_kmh == 0.0
