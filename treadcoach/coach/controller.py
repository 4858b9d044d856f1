"""The session controller: the asyncio shell that runs a session's tasks.

The decisions live in pure modules -- ``phases`` (where the session is, which request is allowed
when), ``governor`` (the next speed and its bounds), ``progress`` (step clock, distance,
countdowns), ``turnaround`` (whether a countdown may run), ``pulse`` (what the heart rate does to
the speed), ``reactions`` (what each link event means), ``announce`` (what the stream says) and
``safety.watchdog``. The tasks that wait and act on them have a module each: ``walker`` (the
plan), ``driver`` (the governor loop and every speed command), ``reader`` (link events and the
watchdog), ``stopping`` (the stop path); they share a ``context.SessionContext`` and speak
through a ``board.Board``. This class owns the task tree and the requests.

Tasks and their owners: the stop group (outlives everything else: a failing or cancelled session
still gets its Stop out and confirmed) owns the stop path; the session group owns the link reader
and the plan; the plan group owns the walker, the governor and the watchdog, and ends at the first
stop. Every way out goes through :meth:`SessionController.request_stop`, which hands Stop to the
link in the caller's loop turn (DESIGN.md invariant 2).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from treadcoach.coach import announce, governor
from treadcoach.coach.board import Board
from treadcoach.coach.context import Over, SessionContext, belt_minimum
from treadcoach.coach.driver import BeltDriver
from treadcoach.coach.events import Connected, Cue, Summary
from treadcoach.coach.handle import EventListener
from treadcoach.coach.phases import Request, SessionPhase, Trigger, public_phase
from treadcoach.coach.ports import HeartPort, Link, SessionConfig, StepLike
from treadcoach.coach.reader import Reader
from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.coach.stopping import STANDSTILL_KMH, StopPath, Voice
from treadcoach.coach.walker import PlanWalker
from treadcoach.errors import CommandSuperseded
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch

__all__ = ["Link", "SessionConfig", "SessionController", "StepLike"]

log = logging.getLogger(__name__)

_REMOTE_SOURCES = frozenset({StopReason.MQTT})
#: what a remote may ask only when the user enabled remote control (invariant 5)
_REMOTE_NEEDS_CONSENT = frozenset({Request.RESUME, Request.SPEED})


async def _until(event: asyncio.Event) -> None:
    await event.wait()
    raise Over


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
        self.config = config = config or SessionConfig()
        self._planned_backward_s = planned_backward_s
        # what renderers read: display fields, frozen into a snapshot when read
        self._board = board = Board(plan_name=config.plan_name, segment_count=len(steps))
        self._ctx = ctx = SessionContext(
            steps,
            config,
            board,
            self.request_stop,
            planned_duration_s=planned_duration_s,
            heart=heart,
        )
        if ctx.pulse is not None:
            board.update(**ctx.pulse.fields())
        self._phases, self._progress = ctx.phases, ctx.progress
        self._driver = BeltDriver(ctx)
        self._walker = PlanWalker(ctx, self._driver)
        self._reader = Reader(ctx, self._driver, self._on_control_lost)
        self._summary: Summary | None = None
        self._stopping = StopPath(
            config,
            Voice(emit=board.emit, fault=board.fault, update=board.update, t=board.t),
            self._reader_at_standstill,
        )
        self._shown_phase: SessionPhase | None = None  # shown instead, until the stop path runs
        # task owners, and the events the tasks wait on
        self._stops: asyncio.TaskGroup | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._link_closed = False  # run() left the link's block: no write can go out
        self._done = asyncio.Event()
        self._plan_over = asyncio.Event()

    # --- SessionHandle --------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        board, progress = self._board, self._progress
        if board.t0 is not None and progress.step is not None and not self._stop_shown():
            now = asyncio.get_running_loop().time()
            position = progress.position(now)
            board.update(
                elapsed_s=now - board.t0,
                remaining=position.remaining,
                turnaround_countdown_s=position.countdown_s,
                progress=position.fraction,
            )
        return board.snapshot(self._public_phase)

    def _public_phase(self) -> Phase:
        plan_end = self._stopping.reason is StopReason.PLAN_END
        return public_phase(self._shown_phase or self._phases.phase, plan_end=plan_end)

    def _stop_shown(self) -> bool:
        return self._phases.stopping and self._shown_phase is None

    @property
    def summary(self) -> Summary | None:
        return self._summary

    def add_listener(self, listener: EventListener) -> Callable[[], None]:
        return self._board.add(listener)

    def add_recorder(self, recorder: EventListener) -> Callable[[], None]:
        """Like ``add_listener``, but called before every listener, so that whatever a renderer
        shows is already in the journal (invariant 6: a crash loses nothing already shown)."""
        return self._board.add(recorder, first=True)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        """Stop now. In this very loop turn the phase moves to stopping and ``link.stop()`` is
        called: the link's stop epoch moves and the Stop write is scheduled ahead of anything
        queued. The rest (events, waiting for standstill) is the stop group's task."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing is running, so nothing to stop
            return
        if self._link_closed:
            # run() is over and the link let go of the treadmill: nothing can be written, and
            # the summary already said whether the belt may be running
            log.info("stop (%s) after the session ended: the link is closed", reason)
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
        self._ctx.set_goal(0.0)
        self._plan_over.set()  # nothing after a stop may announce a segment or command the belt
        if self._ctx.watch is not None:
            self._ctx.watch.disarm()
        if reason is not StopReason.CONTROL_LOST:  # a parting 0xFF does not fight the console
            self._send_stop(reason)
        self._start_stop_path()
        if self._stop_task is None:
            self._show_stop()  # still connecting: no stop path yet to show it

    def _send_stop(self, reason: StopReason) -> None:
        link = self._ctx.link
        if link is None:
            return  # still connecting: run() sends it as soon as the link is up
        self._ctx.own_stop_now()
        self._stopping.send(link, reason)

    def _stop_again(self, reason: StopReason, detail: str) -> None:
        """A stop input while stopping: a user's writes Stop again (also after a parting stop
        at 0xFF); a dizzy one over an ordinary user stop becomes the recorded reason, over any
        other stop (a fault's, the plan's end) it is recorded and said beside it, once; any
        other only adds to the log."""
        first = self._stopping.reason
        stopping = self._phases.phase is SessionPhase.STOPPING
        # In every phase from stopping on, while the link is alive (the stop path may be over
        # and the link closing): someone may have started the belt at the console since
        if self._stopping.sends_again(reason):
            log.info("stop (%s) after %s: sending Stop, asking for control", reason, first)
            self._send_stop(reason)
        else:
            log.info("stop under way (%s); also asked: %s %s", first, reason, detail)
        if stopping and self._stopping.replaces(reason):
            self._stopping.replace(reason, detail)
        elif stopping and self._stopping.adds_dizzy(reason):
            self._stopping.add_dizzy(detail)

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
        self._ctx.spawn(self._pause_belt(source))

    def request_resume(self, source: StopReason) -> None:
        if not self._refused(Request.RESUME, source):
            self._ctx.spawn(self._resume(source, Trigger.RESUME))

    def request_control_back(self) -> None:
        """After the console took over (0xFF): ask for control again and carry on the plan.
        Only ever on the user's explicit request (a key in the TUI): never automatically."""
        if not self._refused(Request.CONTROL_BACK):
            self._ctx.spawn(self._take_control_back())

    def request_speed(self, kmh: float, source: StopReason) -> None:
        step = self._ctx.step()
        if self._refused(Request.SPEED, source) or step is None:
            return
        # Never above what the plan allowed for this step: its target is already capped
        # (invariant 1), so a manual change may go down freely but not above the step's cap.
        self._ctx.set_goal(max(0.0, min(kmh, step.target_kmh)))

    def report_fault(self, kind: str, detail: str) -> None:
        """Something beside the session went wrong (MQTT down, a stop input lost): tell the user."""
        self._board.fault(kind, detail)

    # --- the task tree --------------------------------------------------------------------

    async def run(self) -> Summary:
        self._board.t0 = asyncio.get_running_loop().time()
        ctx = self._ctx
        async with self._link_factory() as link:
            ctx.link = link
            governor.check_belt_can_follow(ctx.steps, belt_minimum(link), link.name)
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
        self._link_closed = True
        if not getattr(link, "belt_stopped_on_exit", True):
            self._stopping.belt_may_be_running(
                "belt_may_be_running",
                "treadcoach could not confirm the belt stopped before it let go of the treadmill",
            )
        now = asyncio.get_running_loop().time()
        self._summary = announce.summary(
            t=self._board.t(),
            plan=self.config.plan_name,
            completed=ctx.completed,
            stop_reason=self._stopping.reason,
            distance_m=ctx.odometer.distance_m,
            planned_backward_s=self._planned_backward_s,
            backward_s=self._progress.backward_s + self._progress.open_backward_s(now),
            backward_distance_m=self._progress.backward_distance_m,
            belt_may_be_running=self._stopping.belt_unsure,
        )
        self._board.emit(self._summary)
        return self._summary

    async def _session(self, link: Link) -> None:
        """The link reader and the plan, unless a stop came while connecting."""
        ctx, board = self._ctx, self._board
        # Created once connected: a slow scan and connect is not stale telemetry.
        ctx.watch = BeltWatch(self.config.watch, now=asyncio.get_running_loop().time())
        board.emit(
            Connected(
                t=board.t(),
                device=link.name,
                address=link.address or "",
                simulated=self.config.simulated,
            )
        )
        board.update(link=LinkState.CONNECTED)
        if self._phases.stopping:
            return  # stopped while connecting: the plan never starts
        self._phases.fire(Trigger.CONNECTED)
        try:
            async with asyncio.TaskGroup() as tg:
                ctx.tg = tg
                tg.create_task(self._reader.read(link), name="treadcoach-reader")
                tg.create_task(self._plan(link), name="treadcoach-plan")
                tg.create_task(_until(self._done), name="treadcoach-end")
        except* Over:
            pass
        except* Exception as group:
            # An exception in any task of the session is a way out like any other.
            failure = _first_leaf(group)
            log.error("session task failed: %s", _describe(failure))
            log.debug("session task failure", exc_info=failure)
            board.fault("error", announce.failure_text(failure))
            self.request_stop(StopReason.ERROR, announce.failure_text(failure))
        finally:
            ctx.tg = None

    async def _plan(self, link: Link) -> None:
        """The plan walker, the governor and the watchdog: over at the first stop."""
        try:
            async with asyncio.TaskGroup() as plan:
                plan.create_task(self._walker.walk(), name="treadcoach-walker")
                plan.create_task(self._driver.govern(link), name="treadcoach-governor")
                plan.create_task(self._reader.watchdog(), name="treadcoach-watchdog")
                plan.create_task(_until(self._plan_over), name="treadcoach-plan-end")
        except* Over:
            pass

    async def _stop_path(self) -> None:
        try:
            self._shown_phase = None
            await self._stopping.see_through(self._ctx.link)
        finally:
            plan_end = self._stopping.reason is StopReason.PLAN_END
            self._phases.fire(Trigger.FINISHED if plan_end else Trigger.STOPPED)
            self._board.update()
            self._done.set()

    async def _reader_at_standstill(self) -> None:
        """Let the reader (while it runs) put the standstill record in the stream too."""
        while self._ctx.tg is not None and self._ctx.odometer.speed_kmh > STANDSTILL_KMH:
            await self._ctx.wait_telemetry()

    # --- pause, resume, and the console taking over ---------------------------------------

    def _hold_plan(self) -> None:
        """The plan clock stops and the walker wakes to wait for the resume."""
        self._ctx.resumed.clear()
        self._progress.clock.pause(asyncio.get_running_loop().time())
        self._ctx.held.set()

    async def _pause_belt(self, source: StopReason) -> None:
        ctx = self._ctx
        assert ctx.link is not None
        ctx.own_stop_now()
        ctx.gov.new_epoch()
        try:
            await ctx.link.pause()
        except CommandSuperseded:
            return  # a Stop overtook the Pause: the stop path has the belt
        except Exception as exc:
            # A pause that did not happen must not leave the belt running unwatched: stop.
            if self._phases.can(Trigger.PAUSE_FAILED):
                self._phases.fire(Trigger.PAUSE_FAILED)
            self._board.fault("pause_failed", str(exc) or type(exc).__name__)
            self.request_stop(source, f"the treadmill refused Pause ({exc}); stopped instead")
            return
        if not self._phases.can(Trigger.PAUSE_DONE):
            return  # a stop (or 0xFF) came while the Pause was on its way: it has the belt
        self._phases.fire(Trigger.PAUSE_DONE)
        ctx.gov.belt_paused()
        ctx.commanded(0.0)
        self._board.update(cue="Paused")
        self._board.emit(Cue(t=self._board.t(), text=f"Paused ({source.value})", kind="info"))

    def _on_control_lost(self) -> None:
        if self._phases.phase is SessionPhase.HELD:
            return  # already holding for this loss
        board = self._board
        detail = "the treadmill console or another app took control"
        board.fault("control_lost", detail)
        board.update(link=LinkState.NO_CONTROL)
        if self.config.end_on_control_lost or not self._phases.can(Trigger.CONTROL_LOST):
            self.request_stop(
                StopReason.CONTROL_LOST, f"{detail}; treadcoach stopped sending commands"
            )
            return
        # Hold the plan where it is and command nothing until the user takes control back.
        self._phases.fire(Trigger.CONTROL_LOST)
        self._hold_plan()
        if self._ctx.watch is not None:
            self._ctx.watch.disarm()
        board.update(cue=announce.CONTROL_LOST_HINT)
        board.emit(Cue(t=board.t(), text=announce.CONTROL_LOST_CUE, kind="info"))

    async def _take_control_back(self) -> None:
        ctx = self._ctx
        link = ctx.link
        assert link is not None
        await link.request_control()
        if not self._phases.can(Trigger.CONTROL_BACK):
            return  # a stop came while Request Control was out
        # Carry on from wherever the console left the belt: the governor ramps from its speed
        # now (down to a lower cap at once), and the watchdog judges from there -- no instant
        # overspeed for a speed the console set, no belt left unwatched.
        speed = link.belt_speed_kmh
        ctx.gov.take_over(speed if speed is not None else ctx.odometer.speed_kmh)
        if ctx.watch is not None:
            ctx.watch.rearm(now=asyncio.get_running_loop().time())
        self._board.update(link=LinkState.CONNECTED)
        await self._resume(StopReason.KEY, Trigger.CONTROL_BACK)

    async def _resume(self, source: StopReason, trigger: Trigger) -> None:
        if not self._phases.can(trigger):
            return
        ctx = self._ctx
        self._phases.fire(trigger)
        ctx.resumes += 1
        now = asyncio.get_running_loop().time()
        self._progress.clock.resume(now)
        if ctx.turn is not None:
            ctx.turn.restart(self._progress.elapsed(now))
        self._board.update(cue="")
        self._board.emit(Cue(t=self._board.t(), text=f"Resumed ({source.value})", kind="info"))
        ctx.resumed.set()
        ctx.goal_changed.set()


def _first_leaf(error: BaseException) -> BaseException:
    """The first real exception inside (nested) task-group exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
