"""The speed governor as tables: ramp steps, step bounds (caps, belt minimum)."""

from __future__ import annotations

import pytest

from treadcoach.coach import governor
from treadcoach.coach.governor import (
    Governor,
    Ramp,
    SpeedBounds,
    check_belt_can_follow,
    clamp,
    next_speed,
    settled,
    speed_bounds,
)
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.schedule import Step
from treadcoach.errors import LimitsError

RAMP = Ramp(up_kmh_per_s=1.0, down_kmh_per_s=2.0, interval_s=1.0)


@pytest.mark.parametrize(
    ("commanded", "goal", "expected"),
    [
        (0.0, 4.0, 1.0),  # up by ramp_up * interval
        (3.5, 4.0, 4.0),  # never past the goal
        (4.0, 4.0, 4.0),
        (8.0, 1.0, 6.0),  # down by ramp_down * interval
        (2.0, 1.0, 1.0),
        (4.83, 0.0, 2.83),
    ],
)
def test_next_speed_is_one_ramp_step_toward_the_goal(
    commanded: float, goal: float, expected: float
) -> None:
    assert next_speed(commanded, goal, RAMP) == pytest.approx(expected)


def test_a_slower_interval_takes_bigger_steps() -> None:
    assert next_speed(0.0, 9.0, Ramp(1.0, 2.0, 2.5)) == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("target", "cap", "belt_min", "bounds"),
    [
        (4.8, 4.83, 0.8, SpeedBounds(0.8, 4.8)),
        (4.8, 4.83, None, SpeedBounds(0.0, 4.8)),
        # a turnaround slower than the belt can go: the belt minimum, within the safety cap
        (0.5, 4.83, 0.8, SpeedBounds(0.8, 0.8)),
        # a belt minimum above the cap is never used as the ceiling (the session refuses first)
        (0.5, 0.6, 0.8, SpeedBounds(0.8, 0.5)),
    ],
)
def test_speed_bounds_of_a_step(
    target: float, cap: float, belt_min: float | None, bounds: SpeedBounds
) -> None:
    assert speed_bounds(target, cap, belt_min) == bounds


@pytest.mark.parametrize(("kmh", "expected"), [(0.0, 0.8), (3.0, 3.0), (8.0, 4.8), (4.81, 4.8)])
def test_clamp_never_leaves_the_bounds(kmh: float, expected: float) -> None:
    assert clamp(kmh, SpeedBounds(0.8, 4.8)) == expected


def test_settled_absorbs_float_noise_only() -> None:
    assert settled(4.8, 4.8 + 1e-9)
    assert not settled(4.8, 4.81)


def test_a_command_overtaken_by_a_new_epoch_does_not_count() -> None:
    gov = Governor(RAMP, goal_kmh=4.0)
    assert gov.next_command() == 1.0
    epoch = gov.epoch
    gov.new_epoch()  # a new step or a pause landed while the command was in flight
    assert not gov.landed(1.0, epoch=epoch, ceiling_kmh=4.0)
    assert gov.commanded_kmh == 0.0


def test_control_back_ramps_from_the_console_speed_and_lands_on_the_cap() -> None:
    gov = Governor(RAMP, goal_kmh=4.0, commanded_kmh=4.0, belt_started=True)
    gov.take_over(8.0)  # the console left the belt at 8 km/h
    assert not gov.belt_started
    first = gov.next_command()
    assert first == 6.0  # the ramp's step; the shell clamps what it writes to the cap (4.0)
    assert gov.landed(first, epoch=gov.epoch, ceiling_kmh=4.0)
    assert gov.commanded_kmh == 4.0
    assert gov.next_command() is None  # at the goal: no second write of the cap


def test_a_step_capped_below_the_belt_minimum_refuses_the_session() -> None:
    steps = [
        Step(
            index=0,
            kind=SegmentKind.BACKWARD_WALK,
            target_kmh=0.5,
            duration_s=60,
            distance_m=None,
            cap_kmh=0.5,
        )
    ]
    with pytest.raises(LimitsError, match=r"cannot run slower than 0\.8 km/h"):
        check_belt_can_follow(steps, 0.8, "SimTread")
    check_belt_can_follow(steps, None, "SimTread")  # minimum unknown: nothing to refuse


def test_starts_deferred_for_a_belt_not_at_rest_are_bounded_and_reset_by_a_start() -> None:
    gov = Governor(Ramp())
    waits = [gov.start_deferred() for _ in range(governor.START_WAITS_BEFORE_STOP)]
    assert waits == [False] * (governor.START_WAITS_BEFORE_STOP - 1) + [True]
    gov.started()
    assert gov.belt_started
    assert not gov.start_deferred()


def test_speed_refusals_in_a_row_are_bounded_and_reset_by_an_accepted_command() -> None:
    gov = Governor(Ramp())
    limit = governor.SPEED_REFUSALS_BEFORE_STOP
    assert [gov.refused() for _ in range(limit - 1)] == [False] * (limit - 1)
    gov.landed(1.0, epoch=gov.epoch, ceiling_kmh=5.0)
    assert not gov.refused()
    assert [gov.refused() for _ in range(limit - 1)][-1] is True
