"""The session controller: walks the expanded plan on the loop clock and drives the belt.

The only place that joins the plan, the link and the safety rules. One ``asyncio.TaskGroup`` owns
the link reader, the coach (plan walker), the speed governor and the watchdog; leaving the group is
how a session ends. Every way out goes through :meth:`SessionController.request_stop`, which hands
Stop to the transport before anything else happens (DESIGN.md invariant 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from treadcoach.coach import governor
from treadcoach.coach.events import (
    Connected,
    Cue,
    Event,
    Fault,
    SegmentStarted,
    Stop,
    Summary,
    Telemetry,
)
from treadcoach.coach.handle import EventListener
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.phases import PhaseMachine, Request, SessionPhase, Trigger, public_phase
from treadcoach.coach.progress import EPSILON_S, Progress
from treadcoach.coach.schedule import kind_phrase
from treadcoach.coach.state import LinkState, SegmentView, SessionState
from treadcoach.errors import (
    CommandSuperseded,
    CommandTimeout,
    ControlLost,
    ControlRejected,
    LimitsError,
    LinkError,
    StopRefused,
)
from treadcoach.ftms import ResultCode
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import BeltWatch, WatchLimits

__all__ = ["Link", "SessionConfig", "SessionController", "StepLike"]

log = logging.getLogger(__name__)

_REMOTE_SOURCES = frozenset({StopReason.MQTT})
#: stops the user asked for: the link may request control to get them accepted (also after 0xFF)
_USER_STOPS = frozenset(
    {
        StopReason.KEY,
        StopReason.PEDAL,
        StopReason.MQTT,
        StopReason.QUIT,
        StopReason.SIGINT,
        StopReason.SIGTERM,
        StopReason.SIGHUP,
    }
)
#: what a remote may ask only when the user enabled remote control (invariant 5)
_REMOTE_NEEDS_CONSENT = frozenset({Request.RESUME, Request.SPEED})
_STANDSTILL_KMH = 0.2


class StepLike(Protocol):
    """What the controller needs of an expanded plan step (``coach.schedule.Step``)."""

    @property
    def index(self) -> int: ...
    @property
    def kind(self) -> SegmentKind: ...
    @property
    def target_kmh(self) -> float: ...
    @property
    def duration_s(self) -> float | None: ...
    @property
    def distance_m(self) -> float | None: ...
    @property
    def incline_pct(self) -> float | None: ...
    @property
    def label(self) -> str: ...
    @property
    def cue(self) -> str | None: ...


class Link(Protocol):
    """What the controller needs of ``treadcoach.link.TreadmillLink``."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def connected(self) -> bool: ...
    @property
    def belt_running(self) -> bool | None: ...
    @property
    def belt_speed_kmh(self) -> float | None: ...

    def events(self) -> AsyncIterator[Any]: ...
    async def start(self) -> bool: ...
    def stop(self, *, take_control: bool = False) -> Awaitable[None]: ...
    async def pause(self) -> None: ...
    async def set_speed(self, kmh: float, *, ceiling_kmh: float | None = None) -> float: ...
    async def set_incline(self, pct: float) -> float: ...
    async def request_control(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SessionConfig:
    plan_name: str = ""
    watch: WatchLimits = field(default_factory=WatchLimits)
    # Commanded speed moves toward each new target at these rates (invariant 4): a person on the
    # belt feels a ramp, never a jump.
    ramp_up_kmh_per_s: float = 1.0
    ramp_down_kmh_per_s: float = 2.0
    governor_interval_s: float = 1.0
    # Direction changes (invariant 3): slow to turnaround speed, then count down >= 5 s.
    turnaround_countdown_s: int = 5
    turnaround_settle_max_s: float = 20.0
    # After the link drops, how long to wait for it to come back and stop the belt.
    reconnect_grace_s: float = 30.0
    # Watchdog period; speed rules are also checked on every telemetry record.
    tick_s: float = 0.5
    # After Stop, how long to keep listening for the belt to report standstill.
    stop_confirm_s: float = 15.0
    # Invariant 5: a remote may stop or pause; resume/speed only when the user enabled it.
    remote_control: bool = False
    # A headless session ends when the console takes control (0xFF); the TUI instead holds the
    # plan and offers to take control back (request_control_back).
    end_on_control_lost: bool = True
    # "device": use the treadmill's Total Distance; "integrated": integrate speed (default:
    # some machines report a lifetime odometer, see ftms-quirks.md).
    distance_source: str = "integrated"
    simulated: bool = False


class _SessionOver(Exception):
    """Raised inside a task group to leave it once the session (or its plan) is over."""


async def _until(event: asyncio.Event) -> None:
    await event.wait()
    raise _SessionOver


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
    ) -> None:
        if not steps:
            raise ValueError("a session needs at least one step")
        self._link_factory = link_factory
        self._steps = list(steps)
        self.config = config = config or SessionConfig()
        self._planned_backward_s = planned_backward_s
        self._phases = PhaseMachine()
        self._progress = Progress(
            self._steps,
            countdown_s=config.turnaround_countdown_s,
            planned_total_s=planned_duration_s,
            distance_source=config.distance_source,
        )
        self._odometer = self._progress.odometer
        self._ramp = governor.Ramp(
            config.ramp_up_kmh_per_s, config.ramp_down_kmh_per_s, config.governor_interval_s
        )
        self._listeners: list[EventListener] = []
        # Renderers read ``state`` a few times a second while the controller changes fields on
        # every tick: keep the display fields mutable and build the frozen snapshot when read.
        self._fields: dict[str, Any] = {
            "plan_name": config.plan_name,
            "segment_count": len(self._steps),
        }
        self._snapshot: SessionState | None = None
        self._link: Link | None = None
        self._t0: float | None = None
        self._done = asyncio.Event()
        self._stop_reason: StopReason | None = None
        self._stop_detail = ""
        self._stop_task: asyncio.Task[None] | None = None
        self._stops: asyncio.TaskGroup | None = None  # owns the stop path
        self._stop_sent: Awaitable[None] | None = None  # the link's Stop, once asked for
        self._stop_asked_control = False
        self._belt_unsure = False  # the belt may still be running after the session
        self._plan_over = asyncio.Event()
        self._watch: BeltWatch | None = None
        # speed governor
        self._goal_kmh = 0.0
        self._commanded_kmh = 0.0
        self._goal_changed = asyncio.Event()
        # Bumped by every new step and pause: a speed command that was in flight across one
        # does not overwrite what the new step or the pause set.
        self._epoch = 0
        self._announced_index: int | None = None  # the step the event stream has announced
        self._belt_started = False
        # the plan walker's wake-ups
        self._resumed = asyncio.Event()
        self._held = asyncio.Event()
        self._telemetry_seen = asyncio.Event()
        self._resumes = 0  # counts resumes: a turnaround countdown restarts after one
        self._self_stop_until = 0.0  # status "stopped by user" before this is our own echo
        self._last_bad_frame_fault = -1e9
        self._completed = False
        self._summary: Summary | None = None
        self._tg: asyncio.TaskGroup | None = None

    # --- SessionHandle --------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        if self._t0 is not None and self._progress.step is not None and not self._phases.stopping:
            self._update(**self._live_fields(asyncio.get_running_loop().time()))
        if self._snapshot is None:
            self._snapshot = SessionState(
                phase=public_phase(
                    self._phases.phase, plan_end=self._stop_reason is StopReason.PLAN_END
                ),
                **self._fields,
            )
        return self._snapshot

    def _live_fields(self, now: float) -> dict[str, Any]:
        """Clock-derived fields, computed when read (the walker sleeps to boundaries)."""
        position = self._progress.position(now)
        return {
            "elapsed_s": now - (self._t0 or now),
            "remaining": position.remaining,
            "turnaround_countdown_s": position.countdown_s,
            "progress": position.fraction,
        }

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
        """Stop now. In this very loop turn: the phase moves to stopping and ``link.stop()`` is
        called, which moves the link's stop epoch and schedules the Stop write ahead of anything
        queued (invariant 2). The rest of the stop path (events, waiting for standstill) runs in
        a task of the stop group."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing is running, so nothing to stop
            return
        if self._phases.stopping:
            self._stop_again(reason, detail)
            return
        self._phases.fire(Trigger.STOP)
        self._stop_reason = reason
        self._stop_detail = detail
        self._update(stop_reason=reason, stop_detail=detail, target_kmh=0.0)
        self._set_goal(0.0)
        self._plan_over.set()  # nothing after a stop may announce a segment or command the belt
        if self._watch is not None:
            self._watch.disarm()
        if reason is not StopReason.CONTROL_LOST:  # a parting 0xFF does not fight the console
            self._send_stop(reason)
        self._start_stop_path()

    def _send_stop(self, reason: StopReason) -> None:
        link = self._link
        if link is None:
            return  # still connecting: run() sends it as soon as the link is up
        self._self_stop_until = asyncio.get_running_loop().time() + 5.0
        # The user asked (key, pedal, MQTT, signal, quit): the link may ask for control to get
        # this Stop accepted, also after 0xFF. Sent once: the link owns the retries.
        self._stop_asked_control = reason in _USER_STOPS
        self._stop_sent = link.stop(take_control=self._stop_asked_control)

    def _stop_again(self, reason: StopReason, detail: str) -> None:
        """A stop input while stopping. A user's stop after a parting one that did not ask for
        control (0xFF, or no Stop sent at all) is sent; any other only adds to the log."""
        if (
            self._phases.phase is SessionPhase.STOPPING
            and reason in _USER_STOPS
            and not self._stop_asked_control
            and self._link is not None
        ):
            log.info(
                "stop (%s) after %s: sending Stop, asking for control", reason, self._stop_reason
            )
            self._send_stop(reason)
            return
        log.info(
            "stop already under way (%s); also asked: %s %s", self._stop_reason, reason, detail
        )

    def _start_stop_path(self) -> None:
        if self._stops is not None and self._stop_task is None:
            self._stop_task = self._stops.create_task(self._stop_path(), name="treadcoach-stop")

    def _refused(self, request: Request, source: StopReason | None = None) -> bool:
        """Whether ``request`` may not be acted on now (the phase table, and invariant 5)."""
        if (
            source in _REMOTE_SOURCES
            and request in _REMOTE_NEEDS_CONSENT
            and not self.config.remote_control
        ):
            log.warning("refused remote %s from %s: remote control is not enabled", request, source)
            return True
        if self._phases.stopping or not self._phases.allows(request):
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
        if self._refused(Request.RESUME, source):
            return
        self._spawn(self._resume_belt(source, Trigger.RESUME))

    def request_control_back(self) -> None:
        """After the console took over (0xFF): ask for control again and carry on the plan.

        Only ever on the user's explicit request (a key in the TUI): never automatically.
        """
        if self._refused(Request.CONTROL_BACK):
            return
        self._spawn(self._take_control_back())

    def request_speed(self, kmh: float, source: StopReason) -> None:
        if self._refused(Request.SPEED, source):
            return
        step = self._step()
        if step is None:
            return
        # Never above what the plan allowed for this step: its target is already capped
        # (invariant 1), so a manual change may go down freely but not above the step's cap.
        self._set_goal(max(0.0, min(kmh, step.target_kmh)))

    def report_fault(self, kind: str, detail: str) -> None:
        """Something beside the session went wrong (MQTT down, a stop input lost): tell the user."""
        self._fault(kind, detail)

    # --- running --------------------------------------------------------------------------

    async def run(self) -> Summary:
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        async with self._link_factory() as link:
            self._link = link
            self._check_belt_can_follow(link)
            # The stop path's group outlives the session's tasks: a failing or cancelled
            # session still gets its Stop out and confirmed.
            async with asyncio.TaskGroup() as stops:
                self._stops = stops
                try:
                    await self._session(link)
                finally:
                    if not self._phases.stopping:
                        self.request_stop(StopReason.QUIT, "the session was cancelled")
                    elif (
                        self._stop_sent is None and self._stop_reason is not StopReason.CONTROL_LOST
                    ):
                        assert self._stop_reason is not None
                        self._send_stop(self._stop_reason)  # asked while connecting
                    self._start_stop_path()
                    assert self._stop_task is not None
                    await asyncio.shield(self._stop_task)
            self._stops = None
        if not getattr(link, "belt_stopped_on_exit", True):
            self._belt_may_be_running(
                "belt_may_be_running",
                "treadcoach could not confirm the belt stopped before it let go of the treadmill",
            )
        self._summary = self._make_summary()
        self._emit(self._summary)
        return self._summary

    async def _session(self, link: Link) -> None:
        """The session's tasks: the link reader, and the plan unless a stop came first."""
        loop = asyncio.get_running_loop()
        # Created once connected: a slow scan and connect is not stale telemetry.
        self._watch = BeltWatch(self.config.watch, now=loop.time())
        self._emit(
            Connected(
                t=self._t(),
                device=link.name,
                address=link.address or "",
                simulated=self.config.simulated,
            )
        )
        if self._phases.can(Trigger.CONNECTED):
            self._phases.fire(Trigger.CONNECTED)
        self._update(link=LinkState.CONNECTED)
        if self._phases.stopping:
            return  # stopped while connecting: the plan never starts
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self._read(link), name="treadcoach-reader")
                tg.create_task(self._plan(link), name="treadcoach-plan")
                tg.create_task(_until(self._done), name="treadcoach-end")
        except* _SessionOver:
            pass
        except* Exception as group:
            # An exception in any task of the session is a way out like any other.
            failure = group.exceptions[0]
            log.error("session task failed: %s", _describe(failure))
            log.debug("session task failure", exc_info=failure)
            self._fault("error", _describe(failure))
            self.request_stop(StopReason.ERROR, _describe(failure))
        finally:
            self._tg = None

    async def _plan(self, link: Link) -> None:
        """The plan walker, the speed governor and the watchdog: over at the first stop."""
        try:
            async with asyncio.TaskGroup() as plan:
                plan.create_task(self._coach(), name="treadcoach-coach")
                plan.create_task(self._governor(link), name="treadcoach-governor")
                plan.create_task(self._watchdog(), name="treadcoach-watchdog")
                plan.create_task(_until(self._plan_over), name="treadcoach-plan-end")
        except* _SessionOver:
            pass

    # --- the stop path --------------------------------------------------------------------

    async def _stop_path(self) -> None:
        reason = self._stop_reason
        assert reason is not None
        try:
            self._update(turnaround_countdown_s=None)
            self._emit(Stop(t=self._t(), reason=reason, detail=self._stop_detail))
            if reason is not StopReason.PLAN_END:
                self._emit(Cue(t=self._t(), text=_stop_cue(reason, self._stop_detail), kind="stop"))
            link = self._link
            if link is not None and self._stop_sent is not None:
                if await self._stop_accepted(link) and reason is not StopReason.STALE:
                    await self._await_belt_stopped(link)
            elif link is not None and reason is StopReason.DISCONNECT:
                await self._await_reconnect_stop(link)
        finally:
            self._phases.fire(
                Trigger.FINISHED if reason is StopReason.PLAN_END else Trigger.STOPPED
            )
            self._update()
            self._done.set()

    async def _stop_accepted(self, link: Link) -> bool:
        """Wait for the Stop the link is sending; True once the machine accepted it."""
        while True:
            sent = self._stop_sent
            assert sent is not None
            try:
                await sent
            except (StopRefused, ControlLost, ControlRejected, CommandTimeout) as exc:
                if sent is not self._stop_sent:
                    continue  # a user's stop replaced a parting one: wait for that
                refused = isinstance(exc, (StopRefused, ControlLost)) or (
                    isinstance(exc, ControlRejected)
                    and exc.result_code == ResultCode.CONTROL_NOT_PERMITTED
                )
                self._belt_may_be_running(
                    "stop_refused" if refused else "stop_failed",
                    f"the treadmill {'refused' if refused else 'did not confirm'} Stop ({exc})",
                )
                return False
            except LinkError as exc:
                if sent is not self._stop_sent:
                    continue
                # The link is down: it stops the belt first thing on reconnect. Wait for that.
                log.info("stop: %s", exc)
                await self._await_reconnect_stop(link)
                return link.connected  # then confirm the standstill like any other stop
            if sent is self._stop_sent:
                return True

    def _belt_may_be_running(self, kind: str, detail: str) -> None:
        """Say loudly that the belt may still be running: a fault, a stop cue, the stop detail
        and the summary."""
        self._belt_unsure = True
        self._fault(kind, f"{detail}: the belt may still be running")
        self._emit(
            Cue(
                t=self._t(),
                text="The treadmill did not stop: use the treadmill's stop button",
                kind="stop",
            )
        )
        stop_detail = "; ".join(
            part for part in (self._stop_detail, f"{detail}: the belt may still be running") if part
        )
        self._stop_detail = stop_detail
        self._update(stop_detail=stop_detail)

    async def _await_belt_stopped(self, link: Link) -> None:
        """Keep listening until the belt reports standstill, so the user (and the journal) see
        the stop confirmed rather than the last speed before it. Reads the link's own belief,
        which its notification callback keeps current even when the session's tasks are gone."""
        if not link.connected:
            await self._await_reconnect_stop(link)
        try:
            async with asyncio.timeout(self.config.stop_confirm_s):
                while link.connected:
                    speed = link.belt_speed_kmh
                    if speed is not None and speed <= _STANDSTILL_KMH:
                        if self._tg is not None:
                            # let the reader put the standstill record in the stream too
                            while self._odometer.speed_kmh > _STANDSTILL_KMH:
                                await self._wait_telemetry()
                        return
                    await asyncio.sleep(0.25)
        except TimeoutError:
            pass
        speed = link.belt_speed_kmh
        self._fault(
            "stop_unconfirmed",
            f"no standstill reported {self.config.stop_confirm_s:g} s after Stop"
            + (f" (belt at {speed:.1f} km/h)" if speed is not None else "")
            + ": check the treadmill",
        )

    async def _await_reconnect_stop(self, link: Link) -> None:
        """Wait (bounded) for the link to come back; reconnecting stops the belt before anything
        else. Reads the link itself: the reader may not have seen the drop yet."""
        try:
            async with asyncio.timeout(self.config.reconnect_grace_s):
                while not link.connected:  # noqa: ASYNC110 -- the link owns no event for this
                    await asyncio.sleep(0.25)
        except TimeoutError:
            self._fault(
                "link_lost", "could not reconnect to confirm the belt stopped: check the treadmill"
            )

    # --- tasks ----------------------------------------------------------------------------

    async def _read(self, link: Link) -> None:
        from treadcoach.ftms.enums import MachineStatusOp
        from treadcoach.link import events as le

        async for ev in link.events():
            now = asyncio.get_running_loop().time()
            if isinstance(ev, le.TelemetryEvent):
                # Judged by when the link received it, not when this task got round to it.
                self._on_telemetry(ev.data, ev.at)
            elif isinstance(ev, le.StatusEvent):
                op = ev.status.op
                if op == MachineStatusOp.STOPPED_BY_SAFETY_KEY:
                    self._fault("safety_key", "the treadmill's safety key was pulled")
                    self.request_stop(StopReason.SAFETY_KEY, "safety key pulled")
                elif (
                    op == MachineStatusOp.STOPPED_OR_PAUSED_BY_USER and now > self._self_stop_until
                ):
                    self.request_stop(StopReason.CONSOLE, "stopped at the treadmill console")
            elif isinstance(ev, le.ControlLostEvent):
                self._on_control_lost()
            elif isinstance(ev, le.LinkDownEvent):
                self._update(link=LinkState.RECONNECTING)
                self._fault("disconnect", f"link lost: {ev.reason}")
                self.request_stop(
                    StopReason.DISCONNECT,
                    "Bluetooth link lost; the belt is stopped as soon as it reconnects",
                )
            elif isinstance(ev, le.LinkUpEvent):
                self._update(link=LinkState.CONNECTED)
            elif isinstance(ev, le.BadFrameEvent) and now - self._last_bad_frame_fault >= 1.0:
                self._last_bad_frame_fault = now
                self._fault("garbage", f"skipped a malformed frame: {ev.error}")

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

    async def _governor(self, link: Link) -> None:
        """Moves the commanded speed toward the goal in ramp steps (invariant 4)."""
        while True:
            if self._phases.stopping:
                return
            # Cleared before looking, so a goal set from here on (even mid-command) wakes us.
            self._goal_changed.clear()
            if self._phases.holding or governor.settled(self._commanded_kmh, self._goal_kmh):
                await self._goal_changed.wait()
                continue
            nxt = governor.next_speed(self._commanded_kmh, self._goal_kmh, self._ramp)
            epoch = self._epoch
            try:
                if not self._belt_started:
                    await link.start()
                    self._belt_started = True
                    if self._phases.stopping or epoch != self._epoch or self._phases.holding:
                        continue  # a stop, pause or new step landed while Start was out
                sent = await self._command_speed(link, nxt)
            except ControlLost:
                # The console took over: the reader holds the plan (or stops the session). Wait
                # for what comes next -- control back, or the stop -- and command nothing.
                await self._goal_changed.wait()
                continue
            except CommandSuperseded:
                # A Stop or Pause overtook this command: after a Stop there is nothing left to
                # govern; after a Pause the loop waits for the resume.
                if self._phases.stopping:
                    return
                continue
            if self._phases.stopping:
                return
            if epoch == self._epoch:  # no new step, pause or 0xFF took over while we waited
                # Never above the step's ceiling: from a belt above the cap (the console's speed)
                # the first command is the cap itself, and the ramp is then done.
                self._commanded_kmh = min(nxt, self._ceiling(link))
                self._commanded(sent)
            if self._goal_changed.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ramp.interval_s):
                    await self._goal_changed.wait()

    def _commanded(self, kmh: float) -> None:
        if self._watch is not None:
            self._watch.commanded(kmh, now=asyncio.get_running_loop().time())

    def _ceiling(self, link: Link) -> float:
        step = self._step()
        if step is None:
            return math.inf
        return governor.speed_bounds(
            step.target_kmh, _safety_cap(step), _belt_minimum(link)
        ).ceiling_kmh

    async def _command_speed(self, link: Link, kmh: float) -> float:
        # The current step's target is its cap (invariant 1): the link's rounding to the belt's
        # increment may never land above it.
        step = self._step()
        if step is None:
            return await link.set_speed(kmh)
        bounds = governor.speed_bounds(step.target_kmh, _safety_cap(step), _belt_minimum(link))
        return await link.set_speed(governor.clamp(kmh, bounds), ceiling_kmh=bounds.ceiling_kmh)

    def _check_belt_can_follow(self, link: Link) -> None:
        """Before the belt moves: a step whose safety cap is below the belt's minimum speed
        could only be run by exceeding that cap, so the session does not start."""
        floor = _belt_minimum(link)
        if floor is None:
            return
        for step in self._steps:
            if _safety_cap(step) < floor:
                raise LimitsError(
                    "segment cap",
                    f"segment {step.index + 1} ({step.kind.value}) is capped at "
                    f"{_safety_cap(step):g} km/h, but {link.name} cannot run slower than "
                    f"{floor:g} km/h: raise the limit in devices.toml or pick another plan",
                )

    async def _lower_to(self, step: StepLike) -> None:
        """Entering a step whose cap is below the commanded speed: command it at once, before the
        step is announced, so nothing written in the new step exceeds its cap. A command still
        queued for the previous step is replaced; one in flight lands first. The belt's own
        deceleration does the slowing."""
        link = self._link
        if link is None or not self._belt_started or self._phases.stopping:
            return
        try:
            sent = await self._command_speed(link, step.target_kmh)
        except (CommandSuperseded, ControlLost):
            return
        self._commanded_kmh = step.target_kmh
        self._commanded(sent)

    # --- the plan walker ------------------------------------------------------------------

    async def _coach(self) -> None:
        overshoot = 0.0
        for step in self._steps:
            await self._enter_step(step, overshoot)
            if step.kind is SegmentKind.TURNAROUND:
                await self._turnaround(step)
            else:
                await self._walk_step(step)
            # A timed step ends a hair after its boundary (the loop wakes late); the next step's
            # clock starts at the boundary, so lateness never accumulates over a plan.
            overshoot = self._progress.overshoot(asyncio.get_running_loop().time())
        self._progress.close_step(asyncio.get_running_loop().time())
        self._check_live()
        self._completed = True
        self.request_stop(StopReason.PLAN_END, "plan complete")

    async def _enter_step(self, step: StepLike, carried_s: float = 0.0) -> None:
        now = asyncio.get_running_loop().time()
        self._progress.close_step(now - carried_s)
        self._epoch += 1
        self._progress.index = step.index
        if step.target_kmh < self._commanded_kmh and not self._phases.holding:
            await self._lower_to(step)
        self._progress.enter(step.index, now, running=not self._phases.holding, carried_s=carried_s)
        nxt = self._steps[step.index + 1] if step.index + 1 < len(self._steps) else None
        self._check_live()
        self._announced_index = step.index
        self._phases.fire(Trigger.STEP)
        self._emit(
            SegmentStarted(
                t=self._t(),
                index=step.index,
                kind=step.kind,
                target_kmh=step.target_kmh,
                duration_s=step.duration_s,
                distance_m=step.distance_m,
                incline_pct=step.incline_pct,
                label=step.label,
                total=len(self._steps),
            )
        )
        self._update(
            segment=_view(step),
            next_segment=_view(nxt) if nxt is not None else None,
            target_kmh=step.target_kmh,
            remaining_unit="s" if step.duration_s is not None else "m",
            cue=step.cue or "",
        )
        if step.cue:
            self._emit(
                Cue(
                    t=self._t(),
                    text=step.cue,
                    kind="turnaround" if step.kind is SegmentKind.TURNAROUND else "form",
                )
            )
        if step.incline_pct is not None and self._link is not None:
            self._spawn(self._link.set_incline(step.incline_pct))
        self._set_goal(step.target_kmh)

    async def _walk_step(self, step: StepLike) -> None:
        if step.duration_s is not None:
            await self._wait_step_time(step.duration_s)
            return
        assert step.distance_m is not None
        while self._progress.step_distance_m < step.distance_m:
            await self._wait_telemetry()

    async def _turnaround(self, step: StepLike) -> None:
        """Slow to turnaround speed, then count down (>= 5 s) into the new direction."""
        loop = asyncio.get_running_loop()
        if not await self._settled(step):
            # Never count down -- and never start the next step -- on a belt that is still
            # too fast: stop it and say which turnaround it would not slow for (invariant 4).
            limit = self.config.turnaround_settle_max_s
            detail = (
                f"the belt did not slow to the turnaround's {step.target_kmh:g} km/h within "
                f"{limit:g} s (still {self._odometer.speed_kmh:.1f} km/h): stopped before the turn"
            )
            self._fault("belt_did_not_slow", detail)
            self.request_stop(StopReason.OVERSPEED, detail)
            self._check_live()
        nxt = self._steps[step.index + 1] if step.index + 1 < len(self._steps) else None
        direction = kind_phrase(nxt.kind) if nxt is not None else "the next segment"
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
            begin = self._progress.elapsed(loop.time())
            self._progress.countdown_end = begin + countdown
            for whole in range(countdown, 0, -1):
                self._check_live()
                self._emit(
                    Cue(
                        t=self._t(),
                        text=f"Turn around: {direction} in {whole}",
                        kind="countdown",
                        countdown_s=whole,
                    )
                )
                await self._wait_step_time(begin + countdown - (whole - 1))
                if self._resumes != resumes:
                    break
            else:
                break
        self._progress.countdown_end = None

    async def _settled(self, step: StepLike) -> bool:
        """Wait (at most the settle time, on the step clock) for the belt to slow to the
        turnaround's speed; False if it did not."""
        loop = asyncio.get_running_loop()
        fast = step.target_kmh + self.config.watch.follow_tolerance_kmh
        until = self._progress.elapsed(loop.time()) + self.config.turnaround_settle_max_s
        while self._odometer.speed_kmh > fast:
            if self._phases.holding:
                await self._resumed.wait()
                continue
            left = until - self._progress.elapsed(loop.time())
            if left <= EPSILON_S:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._wait_telemetry()
        return True

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

    # --- what happened --------------------------------------------------------------------

    def _on_telemetry(self, data: Any, now: float) -> None:
        # While the console has the belt (0xFF) its metres are not the plan's: a distance
        # segment holds like a timed one.
        self._progress.telemetry(
            data.speed_kmh, data.distance_m, now, counts=self._phases.phase is not SessionPhase.HELD
        )
        speed = self._odometer.speed_kmh
        self._telemetry_seen.set()
        if self._watch is not None:
            self._watch.telemetry(speed, now=now)
        self._judge(now)
        self._update(
            speed_kmh=speed,
            distance_m=self._odometer.distance_m,
            incline_pct=data.inclination_pct,
            heart_rate_bpm=data.heart_rate_bpm,
        )
        remaining = self._progress.position(now).remaining
        self._emit(
            Telemetry(
                t=self._t(),
                speed_kmh=round(speed, 2),
                distance_m=round(self._odometer.distance_m, 1),
                target_kmh=self._fields.get("target_kmh"),
                incline_pct=data.inclination_pct,
                heart_rate_bpm=data.heart_rate_bpm,
                segment_index=self._announced_index,
                segment_remaining=None if remaining is None else round(remaining, 2),
            )
        )

    def _hold_plan(self) -> None:
        """The plan clock stops and the walker wakes to wait for the resume."""
        self._resumed.clear()
        self._progress.clock.pause(asyncio.get_running_loop().time())
        self._held.set()

    async def _pause_belt(self, source: StopReason) -> None:
        assert self._link is not None
        self._self_stop_until = asyncio.get_running_loop().time() + 5.0
        self._epoch += 1
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
        self._commanded_kmh = 0.0
        self._belt_started = False
        self._commanded(0.0)
        self._update(cue="Paused")
        self._emit(Cue(t=self._t(), text=f"Paused ({source.value})", kind="info"))

    def _on_control_lost(self) -> None:
        detail = "the treadmill console or another app took control"
        self._fault("control_lost", detail)
        self._update(link=LinkState.NO_CONTROL)
        if self.config.end_on_control_lost or self._phases.stopping:
            self.request_stop(
                StopReason.CONTROL_LOST, f"{detail}; treadcoach stopped sending commands"
            )
            return
        # Hold the plan where it is and command nothing until the user takes control back.
        if self._phases.can(Trigger.CONTROL_LOST):
            self._phases.fire(Trigger.CONTROL_LOST)
        self._hold_plan()
        if self._watch is not None:
            self._watch.disarm()
        self._update(cue="The console has control. Press C to take it back.")
        self._emit(
            Cue(
                t=self._t(),
                text="The treadmill console took control: treadcoach sends nothing until you "
                "take control back",
                kind="info",
            )
        )

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
        self._commanded_kmh = speed if speed is not None else self._odometer.speed_kmh
        self._belt_started = False  # start() itself never starts a belt that already runs
        self._epoch += 1  # a command from before 0xFF does not overwrite this
        if self._watch is not None:
            self._watch.rearm(now=asyncio.get_running_loop().time())
        self._update(link=LinkState.CONNECTED)
        await self._resume_belt(StopReason.KEY, Trigger.CONTROL_BACK)

    async def _resume_belt(self, source: StopReason, trigger: Trigger) -> None:
        if not self._phases.can(trigger):
            return
        self._phases.fire(trigger)
        self._resumes += 1
        self._progress.clock.resume(asyncio.get_running_loop().time())
        self._update(cue="")
        self._emit(Cue(t=self._t(), text=f"Resumed ({source.value})", kind="info"))
        self._resumed.set()
        self._goal_changed.set()

    # --- helpers --------------------------------------------------------------------------

    def _check_live(self) -> None:
        """The plan walker stops short of announcing anything once a stop was requested."""
        if self._phases.stopping:
            raise _SessionOver

    def _step(self) -> StepLike | None:
        index = self._progress.index
        return self._steps[index] if 0 <= index < len(self._steps) else None

    def _set_goal(self, kmh: float) -> None:
        self._goal_kmh = kmh
        self._goal_changed.set()

    def _spawn(self, coro: Any) -> None:
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

    def _make_summary(self) -> Summary:
        now = asyncio.get_running_loop().time()
        return Summary(
            t=self._t(),
            completed=self._completed and self._stop_reason is StopReason.PLAN_END,
            plan=self.config.plan_name,
            duration_s=self._t(),
            distance_m=round(self._odometer.distance_m, 1),
            planned_backward_s=self._planned_backward_s,
            backward_s=round(self._progress.backward_s + self._progress.open_backward_s(now), 1),
            backward_distance_m=round(self._progress.backward_distance_m, 1),
            stop_reason=self._stop_reason,
            belt_may_be_running=self._belt_unsure,
        )


def _belt_minimum(link: Link) -> float | None:
    speed_range = getattr(link, "speed_range", None)
    minimum = getattr(speed_range, "min_kmh", None)
    return float(minimum) if minimum is not None else None


def _safety_cap(step: StepLike) -> float:
    """The cap that applied to the step (``Step.cap_kmh``), or its target for other steps."""
    cap = getattr(step, "cap_kmh", None)
    return float(cap) if cap is not None and math.isfinite(cap) else step.target_kmh


def _view(step: StepLike) -> SegmentView:
    return SegmentView(
        index=step.index,
        kind=step.kind,
        target_kmh=step.target_kmh,
        duration_s=step.duration_s,
        distance_m=step.distance_m,
        label=step.label,
    )


def _stop_cue(reason: StopReason, detail: str) -> str:
    return f"Stop: {detail}" if detail else f"Stop ({reason.value})"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
