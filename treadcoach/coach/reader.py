"""The reader and the watchdog: what the session does with each thing the link reports.

One job: turn link events into the session's reactions. What each event *means* is
``coach.reactions``' (pure); the speed rules are ``safety.watchdog``'s, judged on every
telemetry record and on a tick; a belt that speeds up again in a turnaround is
``coach.turnaround``'s; the heart rate is asked on every record (``coach.driver.heart``). This
asyncio shell feeds the progress, says the telemetry, and hands every stop to request_stop.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from treadcoach.coach import announce, reactions, turnaround
from treadcoach.coach.context import SessionContext
from treadcoach.coach.driver import BeltDriver
from treadcoach.coach.phases import SessionPhase
from treadcoach.coach.ports import Link
from treadcoach.coach.state import LinkState
from treadcoach.safety.reasons import StopReason

__all__ = ["Reader"]


class Reader:
    def __init__(
        self, ctx: SessionContext, driver: BeltDriver, on_control_lost: Callable[[], None]
    ) -> None:
        self.ctx = ctx
        self.driver = driver
        self._on_control_lost = on_control_lost  # the controller's: it holds or ends the plan
        self._last_bad_frame_at = -math.inf

    async def read(self, link: Link) -> None:
        ctx, board = self.ctx, self.ctx.board
        async for event in link.events():
            now = ctx.now()
            reaction = reactions.react(
                event,
                now=now,
                own_stop_until=ctx.own_stop_until,
                last_bad_frame_at=self._last_bad_frame_at,
            )
            match reaction:
                case reactions.Reading(data=data, at=at):
                    self._on_telemetry(data, at)
                case reactions.StopFor(reason=reason, detail=detail, fault=fault):
                    if reaction.link_down:
                        board.update(link=LinkState.RECONNECTING)
                    if fault is not None:
                        board.fault(*fault)
                    ctx.request_stop(reason, detail)
                case reactions.Fault(kind=kind, detail=detail):
                    self._last_bad_frame_at = now
                    board.fault(kind, detail)
                case reactions.ControlLostReaction():
                    self._on_control_lost()
                case reactions.LinkUpReaction():
                    board.update(link=LinkState.CONNECTED)

    async def watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.config.tick_s)
            self._judge(self.ctx.now())

    def _judge(self, now: float) -> None:
        ctx = self.ctx
        if ctx.watch is None or ctx.phases.stopping:
            return
        # Paused, the belt must still come to rest (and not run away); some machines send no
        # data while paused, so silence is not judged then.
        verdict = ctx.watch.check(now, stale=not ctx.phases.holding)
        if verdict is not None:
            ctx.board.fault(verdict.reason.value, verdict.detail)
            ctx.request_stop(verdict.reason, verdict.detail)

    def _judge_turn(self, speed: float, at: float) -> None:
        """A belt that speeds up again during a turnaround is stopped on the record that shows
        it, not at the next countdown cue."""
        ctx = self.ctx
        gate = ctx.turn
        if gate is None or not gate.settled or ctx.phases.holding or ctx.phases.stopping:
            return
        verdict = gate.judge(speed, ctx.progress.elapsed(at))
        if verdict.gate is turnaround.Gate.STOP:
            ctx.board.fault(verdict.kind, verdict.detail)
            ctx.request_stop(StopReason.OVERSPEED, verdict.detail)

    def _on_telemetry(self, data: Any, at: float) -> None:
        ctx, board = self.ctx, self.ctx.board
        # While the console has the belt (0xFF) its metres are not the plan's: a distance
        # segment holds like a timed one.
        held = ctx.phases.phase is SessionPhase.HELD
        ctx.progress.telemetry(data.speed_kmh, data.distance_m, at, counts=not held)
        speed = ctx.odometer.speed_kmh
        ctx.telemetry_seen.set()
        if ctx.watch is not None:
            ctx.watch.telemetry(speed, now=at)
        self._judge(at)
        self._judge_turn(speed, at)
        self.driver.heart(at)
        bpm = ctx.pulse.bpm(data.heart_rate_bpm) if ctx.pulse else data.heart_rate_bpm
        board.update(
            speed_kmh=speed,
            distance_m=ctx.odometer.distance_m,
            incline_pct=data.inclination_pct,
            heart_rate_bpm=bpm,
        )
        board.emit(
            announce.telemetry(
                data,
                heart_rate_bpm=bpm,
                t=board.t(),
                speed_kmh=speed,
                distance_m=ctx.odometer.distance_m,
                target_kmh=board.fields.get("target_kmh"),
                segment_index=ctx.announced_index,
                remaining=ctx.progress.position(at).remaining,
            )
        )
