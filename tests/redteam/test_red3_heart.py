"""Round-3 red team: heart rate into the governor (issue 16), through the real controller, link
and simulator on virtual time; only the strap is scripted (red3_helpers.ScriptedHeart)."""

from __future__ import annotations

from red3_helpers import MPH_PLAN, SET_SPEED, ScriptedHeart, plan_steps, run_session

from treadcoach.coach.heart_rate import HeartRateCoach, HrSample, SpeedBounds


def test_no_speed_write_above_the_hr_ceilings_limit_on_an_off_grid_target() -> None:
    heart = ScriptedHeart(lambda t: 155 if t >= 45 else 100)  # above 150, below the stop margin
    run = run_session(plan_steps(MPH_PLAN), heart=heart)
    over = [
        (w.t, w.kmh, limit)
        for w in run.writes
        if w.opcode == SET_SPEED
        and (limit := heart.limit_at(w.t)) is not None
        and w.kmh > limit + 1e-9
    ]
    assert over == [], over[:3]


def test_a_sample_stamped_ahead_of_the_loop_clock_goes_stale_like_any_other() -> None:
    # Not reachable through link.strap.StrapLink (it stamps with the loop's clock), but the pure
    # coach is what judges any HeartPort's samples: a strap whose stamps run 60 s ahead (another
    # clock) must not stay trusted for a minute after it went silent.
    coach = HeartRateCoach(150)
    bounds = SpeedBounds(0.8, 4.8)
    coach.update(0.0, HrSample(120, True, 0.0), 3.0, bounds)
    future = HrSample(120, True, 60.0)  # the last one the strap ever sends
    decision = coach.update(1.0, future, 3.0, bounds)
    later = coach.update(30.0, future, 3.0, bounds)
    assert decision.signal.value in ("ok", "stale", "invalid")
    assert later.holding, "a sample from the future kept the strap trusted 29 s after it stopped"
