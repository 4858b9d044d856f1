"""Plan position arithmetic: step clock, distance, countdown, plan fraction."""

from __future__ import annotations

import pytest

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.progress import Odometer, Progress, StepClock, planned_step_s
from treadcoach.coach.schedule import Step


def step(
    index: int, kind: SegmentKind, kmh: float, *, s: float | None = None, m: float | None = None
) -> Step:
    return Step(index=index, kind=kind, target_kmh=kmh, duration_s=s, distance_m=m)


STEPS = [
    step(0, SegmentKind.WARMUP, 3.6, s=60),
    step(1, SegmentKind.TURNAROUND, 1.0, s=8),
    step(2, SegmentKind.BACKWARD_WALK, 3.6, m=100),
]


def test_the_step_clock_stops_while_paused() -> None:
    clock = StepClock(10.0, running=True)
    assert clock.elapsed(15.0) == 5.0
    clock.pause(15.0)
    assert clock.elapsed(100.0) == 5.0
    clock.resume(100.0)
    assert clock.elapsed(101.0) == 6.0


@pytest.mark.parametrize(
    ("source", "records", "metres"),
    [
        # 3.6 km/h is 1 m/s: trapezoids between records
        ("integrated", [(3.6, None, 0.0), (3.6, None, 10.0)], 10.0),
        ("integrated", [(0.0, None, 0.0), (3.6, None, 2.0)], 1.0),
        # a lifetime odometer: only what it moved since the first record
        ("device", [(3.6, 50_000, 0.0), (3.6, 50_012, 10.0)], 12.0),
    ],
)
def test_odometer(
    source: str, records: list[tuple[float, int | None, float]], metres: float
) -> None:
    odometer = Odometer(source)
    for speed, device, at in records:
        odometer.feed(speed, device, at)
    assert odometer.distance_m == pytest.approx(metres)


def test_planned_time_of_a_distance_step_is_at_its_target_speed() -> None:
    assert planned_step_s(STEPS[2]) == pytest.approx(100.0)
    assert [planned_step_s(s) for s in STEPS[:2]] == [60, 8]


def test_remaining_time_and_plan_fraction() -> None:
    progress = Progress(STEPS, countdown_s=5)
    progress.enter(0, 0.0, running=True)
    position = progress.position(30.0)
    assert position.remaining == pytest.approx(30.0)
    assert position.countdown_s is None
    assert position.fraction == pytest.approx(30.0 / 168.0)


def test_turnaround_countdown_in_whole_seconds() -> None:
    progress = Progress(STEPS, countdown_s=5)
    progress.enter(1, 0.0, running=True)
    progress.countdown_end = 8.0
    assert progress.position(2.0).countdown_s is None  # 6 s left: before the countdown
    assert progress.position(3.5).countdown_s == 5
    assert progress.position(7.2).countdown_s == 1


def test_distance_moved_while_the_plan_holds_does_not_count_toward_the_step() -> None:
    progress = Progress(STEPS, countdown_s=5)
    progress.enter(2, 0.0, running=True)
    progress.telemetry(3.6, None, 0.0)
    progress.telemetry(3.6, None, 10.0)
    progress.telemetry(3.6, None, 40.0, counts=False)  # the console drives the belt
    assert progress.step_distance_m == pytest.approx(10.0)
    assert progress.position(40.0).remaining == pytest.approx(90.0)
    assert progress.odometer.distance_m == pytest.approx(40.0)  # the session still counts it
    assert progress.backward_distance_m == pytest.approx(40.0)


def test_backward_time_is_booked_when_a_backward_step_closes() -> None:
    progress = Progress(STEPS, countdown_s=5)
    progress.enter(2, 100.0, running=True)
    assert progress.open_backward_s(130.0) == 30.0
    progress.close_step(130.0)
    assert progress.backward_s == 30.0


def test_a_stop_mid_backward_books_backward_work_up_to_the_stop_not_the_run_down() -> None:
    # issue 15.6: the summary, the journal and the FIT file agree (one source of truth)
    progress = Progress(STEPS, countdown_s=5)
    progress.enter(2, 100.0, running=True)
    progress.telemetry(3.6, None, 100.0)
    progress.stop(124.4)
    progress.telemetry(2.0, None, 126.0)  # the belt runs down after the stop
    assert progress.backward_s == pytest.approx(24.4)
    assert progress.open_backward_s(130.0) == 0.0
    assert progress.backward_distance_m == 0.0
