"""The session controller: the asyncio shell that walks the plan and drives the belt.

The decisions live in pure modules -- ``phases`` (where the session is, which request is allowed
when), ``governor`` (the next speed and its bounds), ``progress`` (step clock, distance,
countdowns), ``reactions`` (what each link event means), ``announce`` (what the stream says) and
``safety.watchdog`` -- and this class only waits, asks them, and does what they say.

Tasks and their owners: the stop group (outlives everything else: a failing or cancelled session
still gets its Stop out and confirmed) owns the stop path; the session group owns the link reader
and the plan; the plan group owns the walker, the governor and the watchdog, and ends at the first
stop. Every way out goes through :meth:`SessionController.request_stop`, which hands Stop to the
link in the caller's loop turn (DESIGN.md invariant 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from treadcoach.coach import announce, governor, pulse, reactions, turnaround
from treadcoach.coach.events import Connected, Cue, Event, Fault, Summary
from treadcoach.coach.handle import EventListener
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.phases import PhaseMachine, Request, SessionPhase, Trigger, public_phase
from treadcoach.coach.ports import HeartPort, Link, SessionConfig, StepLike
from treadcoach.coach.progress import EPSILON_S, Progress
from treadcoach.coach.state import LinkState, SessionState
from treadcoach.coach.stopping import STANDSTILL_KMH, StopPath, Voice
from treadcoach.errors import (
    BeltStateUnknown,
    CommandSuperseded,
    CommandTimeout,
    ControlLost,
    ControlRejected,
    LinkError,
)
from treadcoach.link.ranges import snap
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch

__all__ = ["Link", "SessionConfig", "SessionController", "StepLike"]

log = logging.getLogger(__name__)

_REMOTE_SOURCES = frozenset({StopReason.MQTT})
#: what a remote may ask only when the user enabled remote control (invariant 5)
_REMOTE_NEEDS_CONSENT = frozenset({Request.RESUME, Request.SPEED})
#: a "stopped by user" status this soon after our own Stop or Pause is its echo
_OWN_STOP_ECHO_S = 5.0


class _Over(Exception):
    """Raised inside a task group to leave it once the session (or its plan) is over."""


async def _until(event: asyncio.Event) -> None:
    await event.wait()
    raise _Over


class SessionController:
    """Implements :class:`treadcoach.coach.handle.SessionHandle`."""

    def __init__(
        self,
        link_factory: Callable[[], AbstractAsyncContextManager[Link]],
        steps: Sequence[StepLike],
        config: SessionConfig | None = None,
        *,
        planned_backward_s: float = 0.0,
        planned_duration_s: float | None = None,
        heart: HeartPort | None = None,
    ) -> None:
        if not steps:
            raise ValueError("a session needs at least one step")
        self._link_factory = link_factory
        self._steps = list(steps)
        self.config = config = config or SessionConfig()
        self._planned_backward_s = planned_backward_s
        # the pure cores
        self._phases = PhaseMachine()
        self._progress = Progress(
            self._steps,
            countdown_s=config.turnaround_countdown_s,
            planned_total_s=planned_duration_s,
            distance_source=config.distance_source,
        )
        self._odometer = self._progress.odometer
        self._gov = governor.Governor(
            governor.Ramp(
                config.ramp_up_kmh_per_s, config.ramp_down_kmh_per_s, config.governor_interval_s
            )
        )
        self._watch: BeltWatch | None = None  # created once connected
        # heart rate (a strap and the HR coach), or None: no HR rules at all
        self._pulse = pulse.Pulse(heart) if heart is not None else None
        # what renderers read: display fields, frozen into a snapshot when read
        self._listeners: list[EventListener] = []
        self._fields: dict[str, Any] = {
            "plan_name": config.plan_name,
            "segment_count": len(self._steps),
        }
        if self._pulse is not None:
            self._fields.update(self._pulse.fields())
        self._snapshot: SessionState | None = None
        self._link: Link | None = None
        self._t0: float | None = None
        self._announced_index: int | None = None  # the step the event stream has announced
        self._resumes = 0  # counts resumes: a turnaround countdown restarts after one
        self._turn: turnaround.TurnGate | None = None  # while a turnaround runs
        self._own_stop_until = 0.0
        self._last_bad_frame_at = -math.inf
        self._completed = False
        self._summary: Summary | None = None
        self._stopping = StopPath(
            config,
            Voice(emit=self._emit, fault=self._fault, update=self._update, t=self._t),
            self._reader_at_standstill,
        )
        self._shown_phase: SessionPhase | None = None  # shown instead, until the stop path runs
        # task owners, and the events the tasks wait on
        self._stops: asyncio.TaskGroup | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._done = asyncio.Event()
        self._plan_over = asyncio.Event()
        self._goal_changed = asyncio.Event()
        self._resumed = asyncio.Event()
        self._held = asyncio.Event()
        self._telemetry_seen = asyncio.Event()

    # --- SessionHandle --------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        if self._t0 is not None and self._progress.step is not None and not self._stop_shown():
            now = asyncio.get_running_loop().time()
            position = self._progress.position(now)
            self._update(
                elapsed_s=now - self._t0,
                remaining=position.remaining,
                turnaround_countdown_s=position.countdown_s,
                progress=position.fraction,
            )
        if self._snapshot is None:
            plan_end = self._stopping.reason is StopReason.PLAN_END
            phase = public_phase(self._shown_phase or self._phases.phase, plan_end=plan_end)
            self._snapshot = SessionState(phase=phase, **self._fields)
        return self._snapshot

    def _stop_shown(self) -> bool:
        return self._phases.stopping and self._shown_phase is None

    @property
    def summary(self) -> Summary | None:
        return self._summary

    def add_listener(self, listener: EventListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._remove_listener(listener)

    def add_recorder(self, recorder: EventListener) -> Callable[[], None]:
        """Like ``add_listener``, but called before every listener, so that whatever a renderer
        shows is already in the journal (invariant 6: a crash loses nothing already shown)."""
        self._listeners.insert(0, recorder)
        return lambda: self._remove_listener(recorder)

    def _remove_listener(self, listener: EventListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        """Stop now. In this very loop turn the phase moves to stopping and ``link.stop()`` is
        called: the link's stop epoch moves and the Stop write is scheduled ahead of anything
        queued. The rest (events, waiting for standstill) is the stop group's task."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing is running, so nothing to stop
            return
        if self._phases.stopping:
            self._stop_again(reason, detail)
            return
        # Renderers see the stop when the stop path starts (the next loop turn, with its Stop
        # event): a renderer that refreshes right after this call must not delay the write.
        self._shown_phase = self._phases.phase
        self._phases.fire(Trigger.STOP)
        self._progress.stop(asyncio.get_running_loop().time())
        self._stopping.reason, self._stopping.detail = reason, detail
        self._set_goal(0.0)
        self._plan_over.set()  # nothing after a stop may announce a segment or command the belt
        if self._watch is not None:
            self._watch.disarm()
        if reason is not StopReason.CONTROL_LOST:  # a parting 0xFF does not fight the console
            self._send_stop(reason)
        self._start_stop_path()
        if self._stop_task is None:
            self._show_stop()  # still connecting: no stop path yet to show it

    def _send_stop(self, reason: StopReason) -> None:
        if self._link is None:
            return  # still connecting: run() sends it as soon as the link is up
        self._own_stop_until = asyncio.get_running_loop().time() + _OWN_STOP_ECHO_S
        self._stopping.send(self._link, reason)

    def _stop_again(self, reason: StopReason, detail: str) -> None:
        """A stop input while stopping: a user's writes Stop again (also after a parting stop
        at 0xFF); a dizzy one over an ordinary user stop becomes the recorded reason; any other
        only adds to the log."""
        first = self._stopping.reason
        stopping = self._phases.phase is SessionPhase.STOPPING
        if stopping and self._stopping.sends_again(reason):
            log.info("stop (%s) after %s: sending Stop, asking for control", reason, first)
            self._send_stop(reason)
        else:
            log.info("stop under way (%s); also asked: %s %s", first, reason, detail)
        if stopping and self._stopping.replaces(reason):
            self._stopping.replace(reason, detail)

    def _show_stop(self) -> None:
        self._shown_phase = None
        self._stopping.show()

    def _start_stop_path(self) -> None:
        if self._stops is not None and self._stop_task is None:
            self._stop_task = self._stops.create_task(self._stop_path(), name="treadcoach-stop")

    def _refused(self, request: Request, source: StopReason | None = None) -> bool:
        """Whether ``request`` may not be acted on now (the phase table, and invariant 5)."""
        remote = source in _REMOTE_SOURCES and request in _REMOTE_NEEDS_CONSENT
        if remote and not self.config.remote_control:
            log.warning("refused remote %s from %s: remote control is not enabled", request, source)
            return True
        if not self._phases.allows(request) or self._phases.stopping:
            log.info("ignored %s in phase %s", request, self._phases.phase)
            return True
        return False

    def request_pause(self, source: StopReason) -> None:
        if self._refused(Request.PAUSE):
            return
        self._phases.fire(Trigger.PAUSE)
        self._hold_plan()
        self._spawn(self._pause_belt(source))

    def request_resume(self, source: StopReason) -> None:
        if not self._refused(Request.RESUME, source):
            self._spawn(self._resume(source, Trigger.RESUME))

    def request_control_back(self) -> None:
        """After the console took over (0xFF): ask for control again and carry on the plan.
        Only ever on the user's explicit request (a key in the TUI): never automatically."""
        if not self._refused(Request.CONTROL_BACK):
            self._spawn(self._take_control_back())

    def request_speed(self, kmh: float, source: StopReason) -> None:
        step = self._step()
        if self._refused(Request.SPEED, source) or step is None:
            return
        # Never above what the plan allowed for this step: its target is already capped
        # (invariant 1), so a manual change may go down freely but not above the step's cap.
        self._set_goal(max(0.0, min(kmh, step.target_kmh)))

    def report_fault(self, kind: str, detail: str) -> None:
        """Something beside the session went wrong (MQTT down, a stop input lost): tell the user."""
        self._fault(kind, detail)

    # --- the task tree --------------------------------------------------------------------

    async def run(self) -> Summary:
        self._t0 = asyncio.get_running_loop().time()
        async with self._link_factory() as link:
            self._link = link
            governor.check_belt_can_follow(self._steps, _belt_minimum(link), link.name)
            async with asyncio.TaskGroup() as stops:
                self._stops = stops
                try:
                    await self._session(link)
                finally:
                    reason = self._stopping.reason  # set exactly when a stop was requested
                    if reason is None:
                        self.request_stop(StopReason.QUIT, "the session was cancelled")
                    elif self._stopping.sent is None and reason is not StopReason.CONTROL_LOST:
                        self._send_stop(reason)  # asked for while connecting
                    self._start_stop_path()
                    assert self._stop_task is not None
                    await asyncio.shield(self._stop_task)  # also when run() is cancelled
            self._stops = None
        if not getattr(link, "belt_stopped_on_exit", True):
            self._stopping.belt_may_be_running(
                "belt_may_be_running",
                "treadcoach could not confirm the belt stopped before it let go of the treadmill",
            )
        self._summary = announce.summary(
            t=self._t(),
            plan=self.config.plan_name,
            completed=self._completed,
            stop_reason=self._stopping.reason,
            distance_m=self._odometer.distance_m,
            planned_backward_s=self._planned_backward_s,
            backward_s=self._progress.backward_s
            + self._progress.open_backward_s(asyncio.get_running_loop().time()),
            backward_distance_m=self._progress.backward_distance_m,
            belt_may_be_running=self._stopping.belt_unsure,
        )
        self._emit(self._summary)
        return self._summary

    async def _session(self, link: Link) -> None:
        """The link reader and the plan, unless a stop came while connecting."""
        # Created once connected: a slow scan and connect is not stale telemetry.
        self._watch = BeltWatch(self.config.watch, now=asyncio.get_running_loop().time())
        self._emit(
            Connected(
                t=self._t(),
                device=link.name,
                address=link.address or "",
                simulated=self.config.simulated,
            )
        )
        self._update(link=LinkState.CONNECTED)
        if self._phases.stopping:
            return  # stopped while connecting: the plan never starts
        self._phases.fire(Trigger.CONNECTED)
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self._read(link), name="treadcoach-reader")
                tg.create_task(self._plan(link), name="treadcoach-plan")
                tg.create_task(_until(self._done), name="treadcoach-end")
        except* _Over:
            pass
        except* Exception as group:
            # An exception in any task of the session is a way out like any other.
            failure = _first_leaf(group)
            log.error("session task failed: %s", _describe(failure))
            log.debug("session task failure", exc_info=failure)
            self._fault("error", announce.failure_text(failure))
            self.request_stop(StopReason.ERROR, announce.failure_text(failure))
        finally:
            self._tg = None

    async def _plan(self, link: Link) -> None:
        """The plan walker, the governor and the watchdog: over at the first stop."""
        try:
            async with asyncio.TaskGroup() as plan:
                plan.create_task(self._walk(), name="treadcoach-walker")
                plan.create_task(self._govern(link), name="treadcoach-governor")
                plan.create_task(self._watchdog(), name="treadcoach-watchdog")
                plan.create_task(_until(self._plan_over), name="treadcoach-plan-end")
        except* _Over:
            pass

    # --- the stop path --------------------------------------------------------------------

    async def _stop_path(self) -> None:
        try:
            self._shown_phase = None
            await self._stopping.see_through(self._link)
        finally:
            plan_end = self._stopping.reason is StopReason.PLAN_END
            self._phases.fire(Trigger.FINISHED if plan_end else Trigger.STOPPED)
            self._update()
            self._done.set()

    async def _reader_at_standstill(self) -> None:
        """Let the reader (while it runs) put the standstill record in the stream too."""
        while self._tg is not None and self._odometer.speed_kmh > STANDSTILL_KMH:
            await self._wait_telemetry()

    # --- the reader and the watchdog ------------------------------------------------------

    async def _read(self, link: Link) -> None:
        async for event in link.events():
            now = asyncio.get_running_loop().time()
            reaction = reactions.react(
                event,
                now=now,
                own_stop_until=self._own_stop_until,
                last_bad_frame_at=self._last_bad_frame_at,
            )
            match reaction:
                case reactions.Reading(data=data, at=at):
                    self._on_telemetry(data, at)
                case reactions.StopFor(reason=reason, detail=detail, fault=fault):
                    if reaction.link_down:
                        self._update(link=LinkState.RECONNECTING)
                    if fault is not None:
                        self._fault(*fault)
                    self.request_stop(reason, detail)
                case reactions.Fault(kind=kind, detail=detail):
                    self._last_bad_frame_at = now
                    self._fault(kind, detail)
                case reactions.ControlLostReaction():
                    self._on_control_lost()
                case reactions.LinkUpReaction():
                    self._update(link=LinkState.CONNECTED)

    async def _watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.tick_s)
            self._judge(loop.time())

    def _judge(self, now: float) -> None:
        if self._watch is None or self._phases.stopping:
            return
        # Paused, the belt must still come to rest (and not run away); some machines send no
        # data while paused, so silence is not judged then.
        verdict = self._watch.check(now, stale=not self._phases.holding)
        if verdict is not None:
            self._fault(verdict.reason.value, verdict.detail)
            self.request_stop(verdict.reason, verdict.detail)

    def _judge_turn(self, speed: float, at: float) -> None:
        """A belt that speeds up again during a turnaround is stopped on the record that shows
        it, not at the next countdown cue."""
        gate = self._turn
        if gate is None or not gate.settled or self._phases.holding or self._phases.stopping:
            return
        verdict = gate.judge(speed, self._progress.elapsed(at))
        if verdict.gate is turnaround.Gate.STOP:
            self._fault(verdict.kind, verdict.detail)
            self.request_stop(StopReason.OVERSPEED, verdict.detail)

    def _on_telemetry(self, data: Any, at: float) -> None:
        # While the console has the belt (0xFF) its metres are not the plan's: a distance
        # segment holds like a timed one.
        held = self._phases.phase is SessionPhase.HELD
        self._progress.telemetry(data.speed_kmh, data.distance_m, at, counts=not held)
        speed = self._odometer.speed_kmh
        self._telemetry_seen.set()
        if self._watch is not None:
            self._watch.telemetry(speed, now=at)
        self._judge(at)
        self._judge_turn(speed, at)
        self._heart(at)
        bpm = self._pulse.bpm(data.heart_rate_bpm) if self._pulse else data.heart_rate_bpm
        self._update(
            speed_kmh=speed,
            distance_m=self._odometer.distance_m,
            incline_pct=data.inclination_pct,
            heart_rate_bpm=bpm,
        )
        self._emit(
            announce.telemetry(
                data,
                heart_rate_bpm=bpm,
                t=self._t(),
                speed_kmh=speed,
                distance_m=self._odometer.distance_m,
                target_kmh=self._fields.get("target_kmh"),
                segment_index=self._announced_index,
                remaining=self._progress.position(at).remaining,
            )
        )

    # --- the governor ---------------------------------------------------------------------

    async def _govern(self, link: Link) -> None:
        """Moves the commanded speed toward the goal in ramp steps (invariant 4)."""
        gov = self._gov
        while not self._phases.stopping:
            # Cleared before looking, so a goal set from here on (even mid-command) wakes us.
            self._goal_changed.clear()
            self._heart(asyncio.get_running_loop().time())
            nxt = None if self._phases.holding else gov.next_command(self._goal())
            if nxt is None:
                await self._idle()
                continue
            epoch = gov.epoch
            sent: float | None = None
            try:
                if not gov.belt_started:
                    await link.start()
                    gov.started()
                    if self._phases.stopping or epoch != gov.epoch or self._phases.holding:
                        continue  # a stop, pause or new step landed while Start was out
                sent = await self._command_speed(link, nxt)
            except ControlLost:
                # The console took over: the reader holds the plan (or stops the session). Wait
                # for what comes next -- control back, or the stop -- and command nothing.
                await self._goal_changed.wait()
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
                self._on_refused(exc)
                sent = None
            if (
                sent is not None
                and not self._phases.stopping
                and gov.landed(nxt, epoch=epoch, ceiling_kmh=self._bounds(link).ceiling_kmh)
            ):
                self._commanded(sent)
            if not self._goal_changed.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(gov.ramp.interval_s):
                        await self._goal_changed.wait()

    async def _idle(self) -> None:
        """Nothing to command: wait for a new goal -- and with a strap, at most one tick, so
        the heart rate is looked at on every governor tick."""
        if self._pulse is None:
            await self._goal_changed.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._gov.ramp.interval_s):
                await self._goal_changed.wait()

    def _goal(self) -> float:
        """What the governor ramps toward: the plan's goal, shaped by the heart rate."""
        step = self._step()
        if self._pulse is None or step is None:
            return self._gov.goal_kmh
        return pulse.steer(self._gov.goal_kmh, step, self._pulse.decision, self._gov.commanded_kmh)

    def _heart(self, now: float) -> None:
        """Ask the heart rate (each governor tick and telemetry record) and act on it."""
        step = self._step()
        if self._pulse is None or step is None or self._phases.stopping or self._link is None:
            return
        changed = self._pulse.decide(now, self._gov.commanded_kmh, step, _belt_minimum(self._link))
        self._update(**self._pulse.fields())
        if (status := self._pulse.status_change(self._t())) is not None:
            self._emit(status)
        assert self._pulse.decision is not None
        if (detail := pulse.stop_detail(self._pulse.decision)) is not None:
            self.request_stop(StopReason.HR_CEILING, detail)
        elif changed:
            self._goal_changed.set()

    def _on_start_deferred(self) -> None:
        if self._phases.stopping:
            return
        too_long = self._gov.start_deferred()
        if self._gov.start_waits == 1:
            self._emit(Cue(t=self._t(), text=announce.WAIT_FOR_BELT_CUE, kind="info"))
        if too_long:
            speed = self._link.belt_speed_kmh if self._link is not None else None
            at = f" (still {speed:.1f} km/h)" if speed is not None else ""
            self.request_stop(
                StopReason.TARGET_IGNORED,
                f"the belt did not come to rest{at}, so it could not be started again "
                "(Start would pause a running belt on this treadmill); stopped",
            )

    def _on_refused(self, exc: ControlRejected | CommandTimeout) -> None:
        if self._phases.stopping:
            return
        self._fault("command_refused", f"{exc}: trying again")
        if self._gov.refused():
            detail = (
                f"the treadmill refused {governor.SPEED_REFUSALS_BEFORE_STOP} speed commands "
                f"in a row (last: {exc}); stopped"
            )
            self.request_stop(StopReason.TARGET_IGNORED, detail)

    def _running_kmh(self, step: StepLike) -> float:
        """What the belt will run for ``step``: its target within the step's bounds, snapped as
        the link snaps it (``link.ranges.snap``, the one owner of that rounding: the machine's
        grid, never above the cap), so the stream, ``plans show`` and the belt agree."""
        link = self._link
        speeds = getattr(link, "speed_range", None)
        if link is None or speeds is None:
            return step.target_kmh
        bounds = governor.step_bounds(step, _belt_minimum(link))
        high = min(float(speeds.max_kmh), bounds.ceiling_kmh)
        if high < speeds.min_kmh:
            return step.target_kmh  # the link refuses such a cap; check_belt_can_follow said so
        return snap(
            governor.clamp(step.target_kmh, bounds),
            float(speeds.min_kmh),
            high,
            float(speeds.increment_kmh),
        )

    def _bounds(self, link: Link) -> governor.SpeedBounds:
        step = self._step()
        if step is None:
            return governor.SpeedBounds(0.0, math.inf)
        bounds = governor.step_bounds(step, _belt_minimum(link))
        if self._pulse is None:
            return bounds
        return pulse.ceiling(bounds, step, self._pulse.decision)

    async def _command_speed(self, link: Link, kmh: float) -> float:
        """Set Target Speed within the current step's bounds: the link's rounding to the belt's
        increment never lands above the step's cap (invariant 1)."""
        step = self._step()
        if step is None:
            return await link.set_speed(kmh)
        bounds = self._bounds(link)
        return await link.set_speed(governor.clamp(kmh, bounds), ceiling_kmh=bounds.ceiling_kmh)

    def _commanded(self, kmh: float) -> None:
        if self._watch is not None:
            self._watch.commanded(kmh, now=asyncio.get_running_loop().time())

    async def _lower_to(self, step: StepLike) -> None:
        """Entering a step whose cap is below the commanded speed: command it at once, before the
        step is announced, so nothing written in the new step exceeds its cap. A command still
        queued for the previous step is replaced; one in flight lands first. The belt's own
        deceleration does the slowing."""
        link = self._link
        if link is None or not self._gov.belt_started or self._phases.stopping:
            return
        try:
            sent = await self._command_speed(link, step.target_kmh)
        except (CommandSuperseded, ControlLost):
            return
        except (ControlRejected, CommandTimeout) as exc:
            self._on_refused(exc)  # the governor commands the new step's speed next tick
            return
        self._gov.refusals = 0
        self._gov.commanded_kmh = step.target_kmh
        self._commanded(sent)

    # --- the plan walker ------------------------------------------------------------------

    async def _walk(self) -> None:
        loop = asyncio.get_running_loop()
        overshoot = 0.0
        for step in self._steps:
            await self._enter_step(step, overshoot)
            if step.kind is SegmentKind.TURNAROUND:
                await self._turnaround(step)
            elif step.duration_s is not None:
                await self._wait_step_time(step.duration_s)
            else:
                assert step.distance_m is not None
                while self._progress.step_distance_m < step.distance_m:
                    await self._wait_telemetry()
            # A timed step ends a hair after its boundary (the loop wakes late); the next step's
            # clock starts at the boundary, so lateness never accumulates over a plan.
            overshoot = self._progress.overshoot(loop.time())
        self._progress.close_step(loop.time())
        self._check_live()
        self._completed = True
        self.request_stop(StopReason.PLAN_END, "plan complete")

    async def _enter_step(self, step: StepLike, carried_s: float = 0.0) -> None:
        now = asyncio.get_running_loop().time()
        self._progress.close_step(now - carried_s)
        self._gov.new_epoch()
        self._progress.index = step.index
        if step.target_kmh < self._gov.commanded_kmh and not self._phases.holding:
            await self._lower_to(step)
        self._progress.enter(step.index, now, running=not self._phases.holding, carried_s=carried_s)
        self._check_live()
        if self._pulse is not None:
            self._pulse.begin_step(step)
        self._announced_index = step.index
        self._phases.fire(Trigger.STEP)
        running_kmh = self._running_kmh(step)
        self._emit(
            announce.segment_started(
                step, t=self._t(), total=len(self._steps), target_kmh=running_kmh
            )
        )
        nxt = self._next_step(step)
        self._update(
            segment=announce.view(step),
            next_segment=announce.view(nxt) if nxt is not None else None,
            target_kmh=running_kmh,
            remaining_unit="s" if step.duration_s is not None else "m",
            cue=step.cue or "",
        )
        if (cue := announce.step_cue(step, t=self._t())) is not None:
            self._emit(cue)
        if step.incline_pct is not None and self._link is not None:
            self._spawn(self._link.set_incline(step.incline_pct))
        self._set_goal(step.target_kmh)

    async def _turnaround(self, step: StepLike) -> None:
        """Slow to turnaround speed, then count down (>= 5 s) into the new direction -- only
        while the belt is at turnaround speed (``coach.turnaround``)."""
        loop = asyncio.get_running_loop()
        minimum = _belt_minimum(self._link) if self._link is not None else None
        slowest = turnaround.slowest_kmh(step.target_kmh, minimum)
        self._turn = gate = turnaround.TurnGate(
            step.target_kmh,
            slowest + self.config.watch.follow_tolerance_kmh,
            self.config.turnaround_settle_max_s,
            self._progress.elapsed(loop.time()),
        )
        try:
            await self._settled(gate)
            direction = announce.direction_after(self._next_step(step))
            countdown = self.config.turnaround_countdown_s
            total = max(float(countdown), step.duration_s or 0.0)
            start = self._progress.elapsed(loop.time())
            self._progress.countdown_end = start + total
            # Hold at turnaround speed until the countdown starts, then one cue per second.
            await self._wait_step_time(start + total - countdown)
            while True:
                # A pause during the countdown starts it again from the top after the resume:
                # never fewer than `countdown` seconds of warning before the direction changes.
                resumes = self._resumes
                await self._settled(gate)
                begin = self._progress.elapsed(loop.time())
                self._progress.countdown_end = begin + countdown
                for whole in range(countdown, 0, -1):
                    self._check_live()
                    self._emit(announce.countdown_cue(direction, whole, t=self._t()))
                    await self._wait_step_time(begin + countdown - (whole - 1))
                    if self._resumes != resumes:
                        break
                else:
                    break
        finally:
            self._turn = None
        self._progress.countdown_end = None

    async def _settled(self, gate: turnaround.TurnGate) -> None:
        """Return once the belt is at turnaround speed; stop the belt (and leave the walker)
        if it does not get there within the settle time, or sped up after it had."""
        loop = asyncio.get_running_loop()
        while True:
            if self._phases.holding:
                await self._resumed.wait()
                continue
            verdict = gate.judge(self._odometer.speed_kmh, self._progress.elapsed(loop.time()))
            if verdict.gate is turnaround.Gate.GO:
                return
            if verdict.gate is turnaround.Gate.STOP:
                self._turn_refused(verdict)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(verdict.wait_s):
                    await self._wait_telemetry()

    def _turn_refused(self, verdict: turnaround.TurnVerdict) -> None:
        """Never count down -- and never start the next step -- on a belt that is too fast:
        stop it and say which turnaround it would not slow for (invariant 4)."""
        self._fault(verdict.kind, verdict.detail)
        self.request_stop(StopReason.OVERSPEED, verdict.detail)
        self._check_live()

    async def _wait_step_time(self, until_s: float) -> None:
        """Wait until the step clock reads ``until_s``; the step clock stops while held."""
        loop = asyncio.get_running_loop()
        while True:
            if self._phases.holding:
                await self._resumed.wait()
                continue
            left = until_s - self._progress.elapsed(loop.time())
            if left <= EPSILON_S:  # below the clock's resolution: the boundary is here
                return
            self._held.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._held.wait()

    async def _wait_telemetry(self) -> None:
        self._telemetry_seen.clear()
        await self._telemetry_seen.wait()

    # --- pause, resume, and the console taking over ---------------------------------------

    def _hold_plan(self) -> None:
        """The plan clock stops and the walker wakes to wait for the resume."""
        self._resumed.clear()
        self._progress.clock.pause(asyncio.get_running_loop().time())
        self._held.set()

    async def _pause_belt(self, source: StopReason) -> None:
        assert self._link is not None
        self._own_stop_until = asyncio.get_running_loop().time() + _OWN_STOP_ECHO_S
        self._gov.new_epoch()
        try:
            await self._link.pause()
        except CommandSuperseded:
            return  # a Stop overtook the Pause: the stop path has the belt
        except Exception as exc:
            # A pause that did not happen must not leave the belt running unwatched: stop.
            if self._phases.can(Trigger.PAUSE_FAILED):
                self._phases.fire(Trigger.PAUSE_FAILED)
            self._fault("pause_failed", str(exc) or type(exc).__name__)
            self.request_stop(source, f"the treadmill refused Pause ({exc}); stopped instead")
            return
        if not self._phases.can(Trigger.PAUSE_DONE):
            return  # a stop (or 0xFF) came while the Pause was on its way: it has the belt
        self._phases.fire(Trigger.PAUSE_DONE)
        self._gov.belt_paused()
        self._commanded(0.0)
        self._update(cue="Paused")
        self._emit(Cue(t=self._t(), text=f"Paused ({source.value})", kind="info"))

    def _on_control_lost(self) -> None:
        if self._phases.phase is SessionPhase.HELD:
            return  # already holding for this loss
        detail = "the treadmill console or another app took control"
        self._fault("control_lost", detail)
        self._update(link=LinkState.NO_CONTROL)
        if self.config.end_on_control_lost or not self._phases.can(Trigger.CONTROL_LOST):
            self.request_stop(
                StopReason.CONTROL_LOST, f"{detail}; treadcoach stopped sending commands"
            )
            return
        # Hold the plan where it is and command nothing until the user takes control back.
        self._phases.fire(Trigger.CONTROL_LOST)
        self._hold_plan()
        if self._watch is not None:
            self._watch.disarm()
        self._update(cue=announce.CONTROL_LOST_HINT)
        self._emit(Cue(t=self._t(), text=announce.CONTROL_LOST_CUE, kind="info"))

    async def _take_control_back(self) -> None:
        link = self._link
        assert link is not None
        await link.request_control()
        if not self._phases.can(Trigger.CONTROL_BACK):
            return  # a stop came while Request Control was out
        # Carry on from wherever the console left the belt: the governor ramps from its speed
        # now (down to a lower cap at once), and the watchdog judges from there -- no instant
        # overspeed for a speed the console set, no belt left unwatched.
        speed = link.belt_speed_kmh
        self._gov.take_over(speed if speed is not None else self._odometer.speed_kmh)
        if self._watch is not None:
            self._watch.rearm(now=asyncio.get_running_loop().time())
        self._update(link=LinkState.CONNECTED)
        await self._resume(StopReason.KEY, Trigger.CONTROL_BACK)

    async def _resume(self, source: StopReason, trigger: Trigger) -> None:
        if not self._phases.can(trigger):
            return
        self._phases.fire(trigger)
        self._resumes += 1
        now = asyncio.get_running_loop().time()
        self._progress.clock.resume(now)
        if self._turn is not None:
            self._turn.restart(self._progress.elapsed(now))
        self._update(cue="")
        self._emit(Cue(t=self._t(), text=f"Resumed ({source.value})", kind="info"))
        self._resumed.set()
        self._goal_changed.set()

    # --- helpers --------------------------------------------------------------------------

    def _check_live(self) -> None:
        """The plan walker stops short of announcing anything once a stop was requested."""
        if self._phases.stopping:
            raise _Over

    def _step(self) -> StepLike | None:
        index = self._progress.index
        return self._steps[index] if 0 <= index < len(self._steps) else None

    def _next_step(self, step: StepLike) -> StepLike | None:
        return self._steps[step.index + 1] if step.index + 1 < len(self._steps) else None

    def _set_goal(self, kmh: float) -> None:
        self._gov.goal_kmh = kmh
        self._goal_changed.set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a one-off command in the session's group; a failed command is a fault."""

        async def guarded() -> None:
            try:
                await coro
            except LinkError as exc:
                self._fault("command_failed", str(exc))

        if self._tg is None or self._phases.stopping:
            coro.close()  # the session is over or stopping: nothing left to command
            return
        self._tg.create_task(guarded())

    def _fault(self, kind: str, detail: str) -> None:
        self._emit(Fault(t=self._t(), kind=kind, detail=detail))
        self._update(faults=(*self._fields.get("faults", ()), kind))

    def _t(self) -> float:
        if self._t0 is None:
            return 0.0
        return round(asyncio.get_running_loop().time() - self._t0, 3)

    def _update(self, **changes: Any) -> None:
        self._fields.update(changes)
        self._snapshot = None

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken renderer must never break the session
                log.exception("event listener failed")


def _belt_minimum(link: Link) -> float | None:
    minimum = getattr(getattr(link, "speed_range", None), "min_kmh", None)
    return float(minimum) if minimum is not None else None


def _first_leaf(error: BaseException) -> BaseException:
    """The first real exception inside (nested) task-group exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
