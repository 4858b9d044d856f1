"""The belt driver: the governor loop and every speed command the session sends.

One job: move the commanded speed toward the goal in ramp steps (invariant 4), never above the
current step's bounds (invariant 1), with the heart rate's shaping (``coach.pulse``) when a strap
coaches. The decisions are ``coach.governor``'s and ``coach.pulse``'s; this asyncio shell sends
what they say and books what landed. Refusals, a deferred Start and the console taking over are
handled here as the governor's rules say; a stop goes through the controller's request_stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math

from treadcoach.coach import announce, governor, pulse
from treadcoach.coach.context import SessionContext, belt_minimum
from treadcoach.coach.events import Cue
from treadcoach.coach.ports import Link, StepLike
from treadcoach.errors import (
    BeltStateUnknown,
    CommandSuperseded,
    CommandTimeout,
    ControlLost,
    ControlRejected,
)
from treadcoach.link.ranges import snap
from treadcoach.safety.reasons import StopReason

__all__ = ["BeltDriver"]


class BeltDriver:
    def __init__(self, ctx: SessionContext) -> None:
        self.ctx = ctx

    async def govern(self, link: Link) -> None:
        """Moves the commanded speed toward the goal in ramp steps (invariant 4)."""
        ctx, gov = self.ctx, self.ctx.gov
        phases = ctx.phases
        while not phases.stopping:
            # Cleared before looking, so a goal set from here on (even mid-command) wakes us.
            ctx.goal_changed.clear()
            self.heart(ctx.now())
            nxt = None if phases.holding else gov.next_command(self.goal())
            if nxt is None:
                await self._idle()
                continue
            epoch = gov.epoch
            sent: float | None = None
            try:
                if not gov.belt_started:
                    await link.start()
                    gov.started()
                    if phases.stopping or epoch != gov.epoch or phases.holding:
                        continue  # a stop, pause or new step landed while Start was out
                sent = await self.command_speed(link, nxt)
            except ControlLost:
                # The console took over: the reader holds the plan (or stops the session). Wait
                # for what comes next -- control back, or the stop -- and command nothing.
                await ctx.goal_changed.wait()
                continue
            except CommandSuperseded:
                continue  # a Stop or Pause overtook it: the loop sees which
            except BeltStateUnknown:
                # Start would pause a running belt on this machine and the belt is not seen at
                # rest yet (still coasting after a pause): wait for it, then start (bounded).
                self._on_start_deferred()
            except (ControlRejected, CommandTimeout) as exc:
                # A refused (or unanswered) command is a fault, not the session's end: the
                # next tick tries again; refusals in a row stop the belt with the reason.
                self.on_refused(exc)
                sent = None
            if (
                sent is not None
                and not phases.stopping
                and gov.landed(nxt, epoch=epoch, ceiling_kmh=self.bounds(link).ceiling_kmh)
            ):
                ctx.commanded(sent)
            if not ctx.goal_changed.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(gov.ramp.interval_s):
                        await ctx.goal_changed.wait()

    async def _idle(self) -> None:
        """Nothing to command: wait for a new goal -- and with a strap, at most one tick, so
        the heart rate is looked at on every governor tick."""
        if self.ctx.pulse is None:
            await self.ctx.goal_changed.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.ctx.gov.ramp.interval_s):
                await self.ctx.goal_changed.wait()

    def goal(self) -> float:
        """What the governor ramps toward: the plan's goal, shaped by the heart rate."""
        ctx = self.ctx
        step = ctx.step()
        if ctx.pulse is None or step is None:
            return ctx.gov.goal_kmh
        return pulse.steer(ctx.gov.goal_kmh, step, ctx.pulse.decision, ctx.gov.commanded_kmh)

    def heart(self, now: float) -> None:
        """Ask the heart rate (each governor tick and telemetry record) and act on it."""
        ctx = self.ctx
        step = ctx.step()
        if ctx.pulse is None or step is None or ctx.phases.stopping or ctx.link is None:
            return
        changed = ctx.pulse.decide(now, ctx.gov.commanded_kmh, step, belt_minimum(ctx.link))
        ctx.board.update(**ctx.pulse.fields())
        if (status := ctx.pulse.status_change(ctx.board.t())) is not None:
            ctx.board.emit(status)
        assert ctx.pulse.decision is not None
        if (detail := pulse.stop_detail(ctx.pulse.decision)) is not None:
            ctx.request_stop(StopReason.HR_CEILING, detail)
        elif changed:
            ctx.goal_changed.set()

    def _on_start_deferred(self) -> None:
        ctx = self.ctx
        if ctx.phases.stopping:
            return
        too_long = ctx.gov.start_deferred()
        if ctx.gov.start_waits == 1:
            ctx.board.emit(Cue(t=ctx.board.t(), text=announce.WAIT_FOR_BELT_CUE, kind="info"))
        if too_long:
            speed = ctx.link.belt_speed_kmh if ctx.link is not None else None
            at = f" (still {speed:.1f} km/h)" if speed is not None else ""
            ctx.request_stop(
                StopReason.TARGET_IGNORED,
                f"the belt did not come to rest{at}, so it could not be started again "
                "(Start would pause a running belt on this treadmill); stopped",
            )

    def on_refused(self, exc: ControlRejected | CommandTimeout) -> None:
        ctx = self.ctx
        if ctx.phases.stopping:
            return
        ctx.board.fault("command_refused", f"{exc}: trying again")
        if ctx.gov.refused():
            detail = (
                f"the treadmill refused {governor.SPEED_REFUSALS_BEFORE_STOP} speed commands "
                f"in a row (last: {exc}); stopped"
            )
            ctx.request_stop(StopReason.TARGET_IGNORED, detail)

    def running_kmh(self, step: StepLike) -> float:
        """What the belt will run for ``step``: its target within the step's bounds, snapped as
        the link snaps it (``link.ranges.snap``, the one owner of that rounding: the machine's
        grid, never above the cap), so the stream, ``plans show`` and the belt agree."""
        link = self.ctx.link
        speeds = getattr(link, "speed_range", None)
        if link is None or speeds is None:
            return step.target_kmh
        bounds = governor.step_bounds(step, belt_minimum(link))
        high = min(float(speeds.max_kmh), bounds.ceiling_kmh)
        if high < speeds.min_kmh:
            return step.target_kmh  # the link refuses such a cap; check_belt_can_follow said so
        return snap(
            governor.clamp(step.target_kmh, bounds),
            float(speeds.min_kmh),
            high,
            float(speeds.increment_kmh),
        )

    def bounds(self, link: Link) -> governor.SpeedBounds:
        ctx = self.ctx
        step = ctx.step()
        if step is None:
            return governor.SpeedBounds(0.0, math.inf)
        bounds = governor.step_bounds(step, belt_minimum(link))
        if ctx.pulse is None:
            return bounds
        return pulse.ceiling(bounds, step, ctx.pulse.decision)

    async def command_speed(self, link: Link, kmh: float) -> float:
        """Set Target Speed within the current step's bounds: the link's rounding to the belt's
        increment never lands above the step's cap (invariant 1), nor above the HR ceiling's
        limit (``bounds`` folds it into the ceiling the link rounds under)."""
        if self.ctx.step() is None:
            return await link.set_speed(kmh)
        bounds = self.bounds(link)
        return await link.set_speed(governor.clamp(kmh, bounds), ceiling_kmh=bounds.ceiling_kmh)

    async def lower_to(self, step: StepLike) -> None:
        """Entering a step whose cap is below the commanded speed: command it at once, before the
        step is announced, so nothing written in the new step exceeds its cap. A command still
        queued for the previous step is replaced; one in flight lands first. The belt's own
        deceleration does the slowing."""
        ctx = self.ctx
        link = ctx.link
        if link is None or not ctx.gov.belt_started or ctx.phases.stopping:
            return
        try:
            sent = await self.command_speed(link, step.target_kmh)
        except (CommandSuperseded, ControlLost):
            return
        except (ControlRejected, CommandTimeout) as exc:
            self.on_refused(exc)  # the governor commands the new step's speed next tick
            return
        ctx.gov.refusals = 0
        ctx.gov.commanded_kmh = step.target_kmh
        ctx.commanded(sent)
