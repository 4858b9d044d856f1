"""The plan walker: one step after another, announced, timed on the step clock.

One job: walk the expanded plan -- enter each step (lower the belt first when its cap is below
the commanded speed, then announce it and set the goal), wait out its time or distance, and for
a turnaround slow, settle and count down into the new direction only while the belt is at
turnaround speed (``coach.turnaround``). Where the plan is and how long is left is
``coach.progress``'s arithmetic; this asyncio shell only waits. The step clock stops while the
plan holds (pause, 0xFF), so every wait here wakes to wait for the resume.
"""

from __future__ import annotations

import asyncio
import contextlib

from treadcoach.coach import announce, turnaround
from treadcoach.coach.context import SessionContext, belt_minimum
from treadcoach.coach.driver import BeltDriver
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.phases import Trigger
from treadcoach.coach.ports import StepLike
from treadcoach.coach.progress import EPSILON_S
from treadcoach.safety.reasons import StopReason

__all__ = ["PlanWalker"]


class PlanWalker:
    def __init__(self, ctx: SessionContext, driver: BeltDriver) -> None:
        self.ctx = ctx
        self.driver = driver

    async def walk(self) -> None:
        ctx, progress = self.ctx, self.ctx.progress
        overshoot = 0.0
        for step in ctx.steps:
            await self._enter(step, overshoot)
            if step.kind is SegmentKind.TURNAROUND:
                await self._turnaround(step)
            elif step.duration_s is not None:
                await self._wait_step_time(step.duration_s)
            else:
                assert step.distance_m is not None
                while progress.step_distance_m < step.distance_m:
                    await ctx.wait_telemetry()
            # A timed step ends a hair after its boundary (the loop wakes late); the next step's
            # clock starts at the boundary, so lateness never accumulates over a plan.
            overshoot = progress.overshoot(ctx.now())
        progress.close_step(ctx.now())
        ctx.check_live()
        ctx.completed = True
        ctx.request_stop(StopReason.PLAN_END, "plan complete")

    async def _enter(self, step: StepLike, carried_s: float = 0.0) -> None:
        ctx, progress, board = self.ctx, self.ctx.progress, self.ctx.board
        now = ctx.now()
        progress.close_step(now - carried_s)
        ctx.gov.new_epoch()
        progress.index = step.index
        if step.target_kmh < ctx.gov.commanded_kmh and not ctx.phases.holding:
            await self.driver.lower_to(step)
        progress.enter(step.index, now, running=not ctx.phases.holding, carried_s=carried_s)
        ctx.check_live()
        if ctx.pulse is not None:
            ctx.pulse.begin_step(step)
        ctx.announced_index = step.index
        ctx.phases.fire(Trigger.STEP)
        running_kmh = self.driver.running_kmh(step)
        board.emit(
            announce.segment_started(
                step, t=board.t(), total=len(ctx.steps), target_kmh=running_kmh
            )
        )
        nxt = ctx.next_step(step)
        board.update(
            segment=announce.view(step),
            next_segment=announce.view(nxt) if nxt is not None else None,
            target_kmh=running_kmh,
            remaining_unit="s" if step.duration_s is not None else "m",
            cue=step.cue or "",
        )
        if (cue := announce.step_cue(step, t=board.t())) is not None:
            board.emit(cue)
        if step.incline_pct is not None and ctx.link is not None:
            ctx.spawn(ctx.link.set_incline(step.incline_pct))
        ctx.set_goal(step.target_kmh)

    async def _turnaround(self, step: StepLike) -> None:
        """Slow to turnaround speed, then count down (>= 5 s) into the new direction -- only
        while the belt is at turnaround speed (``coach.turnaround``)."""
        ctx, progress = self.ctx, self.ctx.progress
        slowest = turnaround.slowest_kmh(step.target_kmh, belt_minimum(ctx.link))
        ctx.turn = gate = turnaround.TurnGate(
            step.target_kmh,
            slowest + ctx.config.watch.follow_tolerance_kmh,
            ctx.config.turnaround_settle_max_s,
            progress.elapsed(ctx.now()),
        )
        try:
            await self._settled(gate)
            direction = announce.direction_after(ctx.next_step(step))
            countdown = ctx.config.turnaround_countdown_s
            total = max(float(countdown), step.duration_s or 0.0)
            start = progress.elapsed(ctx.now())
            progress.countdown_end = start + total
            # Hold at turnaround speed until the countdown starts, then one cue per second.
            await self._wait_step_time(start + total - countdown)
            while True:
                # A pause during the countdown starts it again from the top after the resume:
                # never fewer than `countdown` seconds of warning before the direction changes.
                resumes = ctx.resumes
                await self._settled(gate)
                begin = progress.elapsed(ctx.now())
                progress.countdown_end = begin + countdown
                for whole in range(countdown, 0, -1):
                    ctx.check_live()
                    ctx.board.emit(announce.countdown_cue(direction, whole, t=ctx.board.t()))
                    await self._wait_step_time(begin + countdown - (whole - 1))
                    if ctx.resumes != resumes:
                        break
                else:
                    break
        finally:
            ctx.turn = None
        progress.countdown_end = None

    async def _settled(self, gate: turnaround.TurnGate) -> None:
        """Return once the belt is at turnaround speed; stop the belt (and leave the walker)
        if it does not get there within the settle time, or sped up after it had."""
        ctx = self.ctx
        while True:
            if ctx.phases.holding:
                await ctx.resumed.wait()
                continue
            verdict = gate.judge(ctx.odometer.speed_kmh, ctx.progress.elapsed(ctx.now()))
            if verdict.gate is turnaround.Gate.GO:
                return
            if verdict.gate is turnaround.Gate.STOP:
                # Never count down -- and never start the next step -- on a belt that is too
                # fast: stop it and say which turnaround it would not slow for (invariant 4).
                ctx.board.fault(verdict.kind, verdict.detail)
                ctx.request_stop(StopReason.OVERSPEED, verdict.detail)
                ctx.check_live()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(verdict.wait_s):
                    await ctx.wait_telemetry()

    async def _wait_step_time(self, until_s: float) -> None:
        """Wait until the step clock reads ``until_s``; the step clock stops while held."""
        ctx = self.ctx
        while True:
            if ctx.phases.holding:
                await ctx.resumed.wait()
                continue
            left = until_s - ctx.progress.elapsed(ctx.now())
            if left <= EPSILON_S:  # below the clock's resolution: the boundary is here
                return
            ctx.held.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await ctx.held.wait()
