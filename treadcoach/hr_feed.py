"""The one call the session makes for heart rate: strap link + HR coach, ready to wire in.

    async with open_heart_rate(settings, sim_treadmill=treadmill_or_None) as hr:
        ...                                   # hr is None when no strap is configured
        hr.begin_step(step)                   # at each step start (zone, sim direction)
        decision = hr.decide(now, commanded_kmh, SpeedBounds(belt_min_kmh, cap_kmh))
        async for event in hr.events(): ...   # StrapUp / StrapReading / StrapBadFrame / StrapDown

Which strap: ``settings.hr_strap`` (devices.toml ``hr_strap``, or ``run --hr``). With the simulator
(``sim_treadmill`` given) the value ``"sim"`` starts a simulated strap whose pulse follows that
treadmill; any other value is looked for through the simulator's backends too. The decision rules
are ``treadcoach.coach.heart_rate``'s; the strap's failures never escape (``link.strap``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from treadcoach.coach.heart_rate import HeartRateCoach, HrDecision, SpeedBounds, zone_for_step

if TYPE_CHECKING:
    from sim.strap import SimStrap
    from sim.treadmill import SimTreadmill
    from treadcoach.coach.plan import Plan
    from treadcoach.coach.schedule import Step
    from treadcoach.config import Settings
    from treadcoach.link.strap import StrapEvent, StrapLink

__all__ = ["SIM_STRAP", "HeartRateFeed", "open_heart_rate"]

SIM_STRAP = "sim"  # hr_strap / --hr value that means "a simulated strap" (with --sim)


class HeartRateFeed:
    """A strap link and the session's HR coach; see the module docstring."""

    def __init__(
        self, link: StrapLink, coach: HeartRateCoach, plan: Plan | None, sim_strap: SimStrap | None
    ) -> None:
        self.link = link
        self.coach = coach
        self.plan = plan
        self.sim_strap = sim_strap

    def begin_step(self, step: Step) -> None:
        """A step starts: its ``hr_zone`` (from the plan segment) begins at its target speed."""
        zone = zone_for_step(self.plan, step) if self.plan is not None else None
        self.coach.begin_step(zone, step.target_kmh)
        if self.sim_strap is not None:  # the simulated person turns round with the plan
            self.sim_strap.backward = step.kind.is_backward

    def decide(self, now_s: float, commanded_kmh: float, bounds: SpeedBounds) -> HrDecision:
        return self.coach.update(now_s, self.link.latest, commanded_kmh, bounds)

    def events(self) -> AsyncIterator[StrapEvent]:
        return self.link.events()


@contextlib.asynccontextmanager
async def open_heart_rate(
    settings: Settings,
    *,
    plan: Plan | None = None,
    sim_treadmill: SimTreadmill | None = None,
) -> AsyncIterator[HeartRateFeed | None]:
    """The session's :class:`HeartRateFeed` while inside, or None when no strap is configured."""
    target = settings.hr_strap
    if target is None:
        yield None
        return
    from treadcoach.link.strap import open_strap

    coach = HeartRateCoach(settings.limits.hr_max_bpm)
    async with contextlib.AsyncExitStack() as stack:
        options: dict[str, Any] = {}
        sim_strap: SimStrap | None = None
        if sim_treadmill is not None:
            from sim.bleak_backend import SimBleakClient, SimBleakScanner
            from sim.strap import SimStrap

            options = {"client_backend": SimBleakClient, "scanner_backend": SimBleakScanner}
            if target == SIM_STRAP:
                sim_strap = await stack.enter_async_context(SimStrap(effort=sim_treadmill))
                target = sim_strap.address
        link = await stack.enter_async_context(open_strap(target, **options))
        yield HeartRateFeed(link, coach, plan, sim_strap)
