"""BeltWatch's follow deadline belongs to the ramp, not to its last command (issue 12 d).

A ramp is several commands a second apart; each must not push back the moment the belt counts
as ignoring its target, nor keep an old, higher speed allowed for longer.
"""

from __future__ import annotations

import pytest

from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch, WatchLimits

LIMITS = WatchLimits(accel_kmh_per_s=0.5, follow_margin_s=4.0, follow_tolerance_kmh=0.5)


def ramp(watch: BeltWatch, targets: list[float], belt_kmh: float) -> float:
    """One command a second, the belt stuck at ``belt_kmh``; returns the time of the last."""
    t = 0.0
    for t, target in enumerate(targets):
        watch.telemetry(belt_kmh, now=float(t))
        watch.commanded(target, now=float(t))
    return float(t)


def test_a_ramp_up_the_belt_ignores_is_caught_by_the_deadline_of_its_start() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.telemetry(1.0, now=0.0)
    ramp(watch, [2.0, 3.0, 4.0], belt_kmh=1.0)
    # from 1 to 4 km/h at 0.5 km/h/s is 6 s, plus 4 s margin, counted from the ramp's start
    watch.telemetry(1.0, now=10.5)
    verdict = watch.check(10.5)
    assert verdict is not None
    assert verdict.reason is StopReason.TARGET_IGNORED


def test_a_ramp_down_the_belt_ignores_is_overspeed_by_the_deadline_of_its_start() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(4.0, now=-20.0)
    watch.telemetry(4.0, now=0.0)
    ramp(watch, [3.0, 2.0, 1.0], belt_kmh=4.0)
    watch.telemetry(4.0, now=10.5)
    verdict = watch.check(10.5)
    assert verdict is not None
    assert verdict.reason is StopReason.OVERSPEED


def test_a_belt_that_follows_the_ramp_is_never_judged() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.telemetry(1.0, now=0.0)
    for t, target in enumerate([2.0, 3.0, 4.0, 4.8]):
        watch.telemetry(max(1.0, target - 1.0), now=float(t))
        watch.commanded(target, now=float(t))
        assert watch.check(float(t)) is None
    for t in range(4, 12):
        watch.telemetry(min(4.8, 1.0 + 0.5 * t), now=float(t))
        assert watch.check(float(t)) is None


def test_a_slow_governor_ramp_is_not_mistaken_for_an_ignored_target() -> None:
    # commands far apart (slower than the belt could follow): each gets its own time
    watch = BeltWatch(LIMITS, now=0.0)
    watch.telemetry(1.0, now=0.0)
    speed = 1.0
    for t in range(0, 40, 10):
        watch.commanded(speed + 0.5, now=float(t))
        speed += 0.5
        watch.telemetry(speed - 0.4, now=float(t) + 9)
        assert watch.check(float(t) + 9) is None


def test_rearm_after_control_back_allows_the_console_speed_until_the_belt_can_slow() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(4.0, now=0.0)
    watch.disarm()  # 0xFF: the console has the belt
    watch.telemetry(8.0, now=30.0)
    watch.rearm(now=30.0)
    watch.commanded(4.0, now=30.0)
    assert watch.check(30.0) is None  # no instant overspeed for the console's speed
    watch.telemetry(4.0, now=36.0)
    assert watch.check(36.0) is None
    # but a belt that stays at the console's speed is overspeed once it could have slowed
    watch.telemetry(8.0, now=30.0 + 4.0 / 0.5 + 4.0 + 0.5)
    verdict = watch.check(30.0 + 4.0 / 0.5 + 4.0 + 0.5)
    assert verdict is not None
    assert verdict.reason is StopReason.OVERSPEED


@pytest.mark.parametrize("target", [0.0, 2.0])
def test_a_single_command_keeps_its_own_deadline(target: float) -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(4.0, now=-30.0)
    watch.telemetry(4.0, now=0.0)
    watch.commanded(target, now=0.0)
    deadline = (4.0 - target) / 0.5 + 4.0
    watch.telemetry(4.0, now=deadline - 0.1)
    assert watch.check(deadline - 0.1) is None
    watch.telemetry(4.0, now=deadline + 0.1)
    assert watch.check(deadline + 0.1) is not None
