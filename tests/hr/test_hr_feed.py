"""open_heart_rate: what the session calls (strap link + HR coach), on the simulator."""

from __future__ import annotations

import asyncio
import math

from sim.treadmill import SimTreadmill
from treadcoach import clock
from treadcoach.coach.heart_rate import HrSignal, SpeedBounds
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import expand
from treadcoach.config import Settings, UserLimits
from treadcoach.hr_feed import SIM_STRAP, open_heart_rate

PLAN = parse_plan(
    'name = "f"\ntitle = "F"\n'
    '[[segments]]\nkind = "warmup"\nduration = 60\nspeed = 4.0\n'
    '[[segments]]\nkind = "backward_walk"\nduration = 300\nspeed = 3.0\nhr_zone = [100, 110]\n',
    "f.toml",
)


def test_no_strap_configured_means_no_feed() -> None:
    async def scenario() -> object:
        async with open_heart_rate(Settings()) as hr:
            return hr

    assert clock.run(scenario(), speedup=math.inf) is None


def test_sim_strap_follows_the_steps_and_feeds_the_coach() -> None:
    settings = Settings(hr_strap=SIM_STRAP, limits=UserLimits(hr_max_bpm=150))
    steps = expand(PLAN)
    backward = next(s for s in steps if s.kind.is_backward)

    async def scenario() -> tuple[object, ...]:
        async with (
            SimTreadmill() as treadmill,
            open_heart_rate(settings, plan=PLAN, sim_treadmill=treadmill) as hr,
        ):
            assert hr is not None
            assert hr.sim_strap is not None
            hr.begin_step(steps[0])
            facing_first = hr.sim_strap.backward
            hr.begin_step(backward)
            await asyncio.sleep(10)
            decision = hr.decide(clock.now(), 3.0, SpeedBounds(1.0, 4.83))
            return facing_first, hr.sim_strap.backward, decision, hr.coach.hr_max_bpm

    facing_first, facing_back, decision, hr_max = clock.run(scenario(), speedup=math.inf)
    assert (facing_first, facing_back) == (False, True)
    assert decision.signal is HrSignal.OK  # type: ignore[attr-defined]
    assert decision.zone == (100, 110)  # type: ignore[attr-defined]
    assert decision.goal_kmh is not None  # type: ignore[attr-defined]
    assert hr_max == 150
