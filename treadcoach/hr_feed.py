"""The heart-rate strap beside the treadmill, as the session controller sees it (``HeartPort``).

    feed = heart_rate_feed(settings, plan)         # None when no strap is configured
    controller = SessionController(..., heart=feed)
    async with feed.connected(sim_treadmill=treadmill_or_None, client_backend=..., ...):
        ...                                        # the session runs; the strap (re)connects
        feed.strap_connected                       # subscribed to a strap right now
        feed.begin_step(step)                      # the controller, at each step start
        decision = feed.decide(now, commanded_kmh, SpeedBounds(belt_min_kmh, cap_kmh))

or in one go, ``async with open_heart_rate(settings, plan=..., sim_treadmill=...) as feed``.

The feed exists before the strap is reached, so the controller is built with it and the session
starts at once: while the strap is still being looked for (or never answers) ``decide`` sees no
reading and the HR rules are off (``coach.heart_rate``: absent), the plan runs as written.
``connected`` only starts the strap link's task (``link.strap``): it never waits for the strap,
and nothing the strap does escapes it, so a strap failing never stops the belt, never delays
the session's start or its stop path.

Which strap: ``settings.hr_strap`` (devices.toml ``hr_strap``, or ``run --hr``). With the simulator
(``sim_treadmill`` given) the value ``"sim"`` starts a simulated strap whose pulse follows that
treadmill; any other value is looked for through the same backends as the treadmill.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from treadcoach.coach.heart_rate import HeartRateCoach, HrDecision, SpeedBounds, zone_for_step
from treadcoach.errors import ConfigError

if TYPE_CHECKING:
    from sim.strap import SimStrap
    from sim.treadmill import SimTreadmill
    from treadcoach.coach.plan import Plan
    from treadcoach.coach.schedule import Step
    from treadcoach.config import Settings
    from treadcoach.link.strap import StrapEvent, StrapLink

__all__ = ["SIM_STRAP", "HeartRateFeed", "heart_rate_feed", "open_heart_rate"]

SIM_STRAP = "sim"  # hr_strap / --hr value that means "a simulated strap" (with --sim)


class HeartRateFeed:
    """The session's HR coach and, while :meth:`connected`, its strap link; see the module doc."""

    def __init__(self, target: str, coach: HeartRateCoach, plan: Plan | None = None) -> None:
        self.target = target
        self.coach = coach
        self.plan = plan
        #: the strap link while connected (None before and after)
        self.link: StrapLink | None = None
        #: the simulated strap, with ``--hr sim``
        self.sim_strap: SimStrap | None = None

    # --- HeartPort (coach/ports.py) ------------------------------------------------------------

    @property
    def strap_connected(self) -> bool:
        """Subscribed to the strap right now (False while it is looked for or reconnecting)."""
        return self.link is not None and self.link.connected

    def begin_step(self, step: Step) -> None:
        """A step starts: its ``hr_zone`` (from the plan segment) begins at its target speed."""
        zone = zone_for_step(self.plan, step) if self.plan is not None else None
        self.coach.begin_step(zone, step.target_kmh)
        if self.sim_strap is not None:  # the simulated person turns round with the plan
            self.sim_strap.backward = step.kind.is_backward

    def decide(self, now_s: float, commanded_kmh: float, bounds: SpeedBounds) -> HrDecision:
        latest = self.link.latest if self.link is not None else None
        return self.coach.update(now_s, latest, commanded_kmh, bounds)

    # --- the strap -----------------------------------------------------------------------------

    def close_strap(self) -> None:
        """Let go of the strap now (the session is stopping: nothing may compete with the
        treadmill's link for the radio, e.g. its reconnect that sends Stop first)."""
        if self.link is not None:
            self.link.close()

    def events(self) -> AsyncIterator[StrapEvent]:
        """The strap link's events (``link.strap``); only while :meth:`connected`."""
        if self.link is None:
            raise RuntimeError("the heart-rate feed is not connected")
        return self.link.events()

    @contextlib.asynccontextmanager
    async def connected(
        self,
        *,
        sim_treadmill: SimTreadmill | None = None,
        client_backend: type | None = None,
        scanner_backend: type | None = None,
        start_after: Callable[[], Awaitable[object]] | None = None,
        strap_faults: tuple[str, ...] = (),
    ) -> AsyncIterator[HeartRateFeed]:
        """Keep the strap link running while inside; returns at once (see the module doc).

        ``client_backend``/``scanner_backend``: the bleak backends the treadmill uses (the
        simulator's, bumble's), None for the platform's. With ``sim_treadmill`` and no backends,
        the simulator's. ``start_after``: what the strap's first attempt waits for (the
        session: the treadmill connected, so the two never scan and connect at once).
        ``strap_faults``: ``KIND@SECONDS`` for the simulated strap (``sim.strap``).
        """
        from treadcoach.link.strap import open_strap

        if self.link is not None:
            raise RuntimeError("the heart-rate feed is already connected")
        target = self.target
        async with contextlib.AsyncExitStack() as stack:
            if sim_treadmill is not None and client_backend is None:
                from sim.bleak_backend import SimBleakClient, SimBleakScanner

                client_backend, scanner_backend = SimBleakClient, SimBleakScanner
            if target == SIM_STRAP:
                if sim_treadmill is None:
                    raise ConfigError(
                        "--hr", SIM_STRAP, "a simulated strap needs the simulated treadmill (--sim)"
                    )
                from sim.strap import SimStrap

                self.sim_strap = await stack.enter_async_context(
                    SimStrap(effort=sim_treadmill, faults=strap_faults)
                )
                target = self.sim_strap.address
            options: dict[str, Any] = {
                "client_backend": client_backend,
                "scanner_backend": scanner_backend,
                "start_after": start_after,
            }
            self.link = await stack.enter_async_context(open_strap(target, **options))
            try:
                yield self
            finally:
                self.link = None
                self.sim_strap = None


def heart_rate_feed(settings: Settings, plan: Plan | None = None) -> HeartRateFeed | None:
    """The feed for ``settings.hr_strap`` (not connected yet), or None when none is set."""
    if settings.hr_strap is None:
        return None
    return HeartRateFeed(settings.hr_strap, HeartRateCoach(settings.limits.hr_max_bpm), plan)


@contextlib.asynccontextmanager
async def open_heart_rate(
    settings: Settings,
    *,
    plan: Plan | None = None,
    sim_treadmill: SimTreadmill | None = None,
    client_backend: type | None = None,
    scanner_backend: type | None = None,
) -> AsyncIterator[HeartRateFeed | None]:
    """A connected :class:`HeartRateFeed` while inside, or None when no strap is configured."""
    feed = heart_rate_feed(settings, plan)
    if feed is None:
        yield None
        return
    async with feed.connected(
        sim_treadmill=sim_treadmill, client_backend=client_backend, scanner_backend=scanner_backend
    ):
        yield feed
