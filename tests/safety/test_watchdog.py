"""BeltWatch: the pure judge behind the stale / overspeed / target-ignored stops (invariant 2)."""

from __future__ import annotations

from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch, WatchLimits

LIMITS = WatchLimits(
    stale_after_s=2.0,
    overspeed_tolerance_kmh=0.5,
    follow_tolerance_kmh=0.5,
    follow_margin_s=4.0,
    accel_kmh_per_s=1.0,
)


def test_nothing_is_judged_before_the_first_command() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    assert watch.check(100.0) is None


def test_telemetry_older_than_the_stale_limit_stops_the_belt() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(3.0, now=0.0)
    watch.telemetry(0.5, now=1.0)
    assert watch.check(2.9) is None
    verdict = watch.check(3.1)
    assert verdict is not None
    assert verdict.reason is StopReason.STALE


def test_belt_following_a_ramp_up_is_fine() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(4.0, now=0.0)
    for t in range(1, 12):
        watch.telemetry(min(4.0, float(t)), now=float(t))
        assert watch.check(float(t)) is None


def test_belt_faster_than_target_plus_tolerance_is_overspeed() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(4.0, now=0.0)
    watch.telemetry(4.6, now=1.0)
    verdict = watch.check(1.0)
    assert verdict is not None
    assert verdict.reason is StopReason.OVERSPEED


def test_slowing_down_is_allowed_its_ramp_time_before_overspeed() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(8.0, now=0.0)
    watch.telemetry(8.0, now=10.0)
    watch.commanded(3.0, now=10.0)  # 5 km/h at 1 km/h/s = 5 s ramp + 4 s margin
    watch.telemetry(6.0, now=12.0)
    assert watch.check(12.0) is None
    watch.telemetry(6.0, now=19.5)
    verdict = watch.check(19.5)
    assert verdict is not None
    assert verdict.reason is StopReason.OVERSPEED


def test_belt_that_keeps_its_speed_after_a_new_target_is_target_ignored() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(5.0, now=0.0)
    watch.telemetry(5.0, now=9.0)
    watch.commanded(6.0, now=10.0)  # 1 s ramp + 4 s margin
    for t in (11.0, 13.0, 14.9):
        watch.telemetry(5.0, now=t)
        assert watch.check(t) is None
    watch.telemetry(5.0, now=15.5)
    verdict = watch.check(15.5)
    assert verdict is not None
    assert verdict.reason is StopReason.TARGET_IGNORED


def test_a_disarmed_watch_judges_nothing() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(5.0, now=0.0)
    watch.disarm()
    assert watch.check(100.0) is None


def test_silence_before_the_first_command_is_not_stale() -> None:
    # a slow scan and connect happen before the belt is ever commanded
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(3.0, now=10.0)
    assert watch.check(11.0) is None


def test_a_paused_belt_is_not_judged_for_silence_but_still_for_speed() -> None:
    watch = BeltWatch(LIMITS, now=0.0)
    watch.commanded(0.0, now=0.0)
    watch.telemetry(0.0, now=0.0)
    assert watch.check(30.0, stale=False) is None
    watch.telemetry(3.0, now=30.0)
    verdict = watch.check(30.0, stale=False)
    assert verdict is not None
    assert verdict.reason is StopReason.OVERSPEED
