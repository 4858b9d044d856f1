"""The probe's asyncio driver: runs the steps of ``_record.Step`` over the public TreadmillLink API.

Thin on purpose: it commands, waits and records (``ProbeRecord``); every conclusion is drawn by
the pure ``_analysis`` afterwards. The one decision taken here -- run the keep-alive step only
after a revert was seen -- asks the analysis too.

Safety (nobody is on the belt, but the probe acts as if someone were):

* No command ever exceeds ``bound_kmh`` = the belt's minimum + 1 km/h (on a machine that reads
  targets as mph the probe commands so that the *belt* stays within it as well).
* Every way out goes through :meth:`Prober.request_stop`, the one stop path: the link's
  ``stop(take_control=True)`` is handed the Stop at once (ahead of anything queued), then the
  steps are cancelled. Keys, the pedal and signals call it (``treadcoach/commands/probe.py``
  wires the same input classes a session uses), and so do the probe's own checks: telemetry
  older than ``STALE_S``, the belt faster than the bound, the link dropping, the safety key.
* Control lost (0xFF) outside the console step ends the probe without commanding any more
  (DESIGN invariant 3): whoever took over at the console has the belt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol, TypeVar

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from treadcoach.coach.state import Phase
from treadcoach.errors import ControlRejected, FtmsDecodeError, TreadcoachError
from treadcoach.ftms import decode_speed_range, uuids
from treadcoach.ftms.enums import MachineStatusOp
from treadcoach.link import (
    DEFAULT_SPEED_RANGE,
    KMH_PER_MPH,
    ControlLostEvent,
    GenericProfile,
    LinkDownEvent,
    StatusEvent,
    TelemetryEvent,
    TreadmillLink,
)
from treadcoach.probe._analysis import detect_revert
from treadcoach.probe._gatt import survey
from treadcoach.probe._record import Command, ConsoleResult, ProbeRecord, Sample, Step, Survey
from treadcoach.safety.reasons import StopReason

__all__ = ["BOUND_ABOVE_MIN_KMH", "ConsoleTester", "ProbeAborted", "ProbeOptions", "Prober"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the belt never runs faster than its minimum + this during a probe
BOUND_ABOVE_MIN_KMH: Final = 1.0
#: telemetry older than this (loop seconds) while the belt may move stops the probe
STALE_S: Final = 2.0
#: the belt reported this much above the bound stops the probe (reporting jitter below it)
OVERSPEED_MARGIN_KMH: Final = 0.3
#: how long the raw survey listens to notifications
LISTEN_S: Final = 3.0
#: waiting, with a target set and no Start, to see whether the belt moves by itself
START_NEEDED_WAIT_S: Final = 3.0
#: how long after Start the belt may take to move before the probe calls it a failed start
MOVE_WAIT_S: Final = 12.0
#: settling: at most this long, and two records this close together
SETTLE_MAX_S: Final = 12.0
SETTLE_KMH: Final = 0.03
#: how long the belt is left alone to see whether it reverts a speed by itself
HOLD_S: Final = 10.0
#: the Stop step waits at most this long for standstill
STOP_WAIT_S: Final = 15.0
#: incline: how high, and how long to watch it move
INCLINE_TRY_PCT: Final = 1.0
INCLINE_WATCH_S: Final = 4.0
#: after the console prompt, how long to wait for 0xFF
CONSOLE_WATCH_S: Final = 10.0
#: how often the stale-telemetry check looks
_WATCH_PERIOD_S: Final = 0.25

#: the link as the probe drives it: nothing assumed, finest speed steps, no keep-alive, no
#: waiting for the belt before a speed (the probe measures those things instead)
PROBE_PROFILE: Final = GenericProfile(
    name="treadcoach probe",
    speed_increment_kmh=0.01,
    request_control="once",
    start_before_speed=False,
)
#: for the control step: no Request Control at all
NO_CONTROL_PROFILE: Final = replace(PROBE_PROFILE, request_control="never")


class ConsoleTester(Protocol):
    """Someone presses a button on the treadmill's console (the user, or the simulator)."""

    async def press(self) -> bool:
        """Ask for the press; True when it was (believed to be) pressed."""
        ...


class ProbeAborted(TreadcoachError):
    """The probe stopped early: a stop input, or one of its safety checks."""

    def __init__(self, reason: StopReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"the probe stopped early ({reason.value}): {detail}")


@dataclass(frozen=True, slots=True)
class _Running:
    phase: Phase = Phase.RUNNING


@dataclass(slots=True)
class ProbeOptions:
    target: str  # a BLE name or address
    client_backend: type[BaseBleakClient] | None = None
    scanner_backend: type[BaseBleakScanner] | None = None
    console: ConsoleTester | None = None
    #: told at the start of every step (progress lines; tests stop the probe here)
    on_step: Callable[[Step], None] = field(default=lambda step: None)
    say: Callable[[str], None] = field(default=lambda line: None)
    find_timeout_s: float = 10.0


class Prober:
    """One probe run. A ``KeyTarget``/``StopTarget``: the stop inputs hold it."""

    def __init__(self, options: ProbeOptions) -> None:
        self.options = options
        self.record: ProbeRecord | None = None
        self._link: TreadmillLink | None = None
        self._steps: asyncio.Task[None] | None = None
        self._step: Step | None = None
        self._stop_reason: tuple[StopReason, str] | None = None
        self._stop_future: asyncio.Future[None] | None = None
        self._moving = False  # the belt may move: from Start until standstill after Stop
        self._changed = asyncio.Event()  # replaced on every link event (see _pulse)
        self._floor_kmh: float | None = None  # the belt settled here at its minimum
        self._marks: dict[Step, float] = {}  # when each step began (the record's, once it exists)

    # --- the stop path (StopTarget) ----------------------------------------------------------

    @property
    def state(self) -> _Running:
        return _Running()

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        """Stop now: the link's Stop goes out in this loop turn, then the steps end."""
        if self._stop_reason is not None:
            log.info("probe: another stop request (%s): %s", reason, detail)
            return
        self._stop_reason = (reason, detail or reason.value)
        link = self._link
        # After 0xFF the belt is the console's (invariant 3). In the control step the belt has
        # not been started and the link may not ask for control: a Stop there would only be
        # refused.
        if (
            link is not None
            and reason is not StopReason.CONTROL_LOST
            and self._step is not Step.CONTROL
        ):
            self._stop_future = link.stop(take_control=True)
        # From another task, a signal handler or a key: cancel the steps. From the steps'
        # own task (a command failed) the caller raises instead.
        if self._steps is not None and self._steps is not asyncio.current_task():
            self._steps.cancel()

    # Every input stops during a probe: there is no plan to pause or resume.
    def request_pause(self, source: StopReason) -> None:
        self.request_stop(source, "pause input")

    def request_resume(self, source: StopReason) -> None:
        self.request_stop(source, "resume input")

    # --- running -----------------------------------------------------------------------------

    async def run(self) -> ProbeRecord:
        """Run every step; returns the record, or raises ProbeAborted (the belt told to stop)."""
        opts = self.options
        try:
            self._steps = asyncio.current_task()
            self._begin(Step.SURVEY)
            surveyed = await survey(
                opts.target,
                listen_s=LISTEN_S,
                client_backend=opts.client_backend,
                scanner_backend=opts.scanner_backend,
                find_timeout_s=opts.find_timeout_s,
            )
            without = await self._control_step(surveyed)
            await self._main(surveyed, without)
        except asyncio.CancelledError:
            if self._stop_reason is None:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            self._steps = None
        if self._stop_reason is not None:
            reason, detail = self._stop_reason
            if self.record is not None:
                self.record.aborted = f"{reason.value}: {detail}"
            raise ProbeAborted(reason, detail)
        assert self.record is not None
        return self.record

    def _begin(self, step: Step) -> None:
        self._step = step
        self._marks[step] = _now()
        if self.record is not None:
            self.record.marks[step] = self._marks[step]
        self.options.say(f"step: {step.value}")
        self.options.on_step(step)

    def _open(self, address: str, profile: GenericProfile) -> TreadmillLink:
        opts = self.options
        return TreadmillLink(
            address,
            profile=profile,
            client_backend=opts.client_backend,
            scanner_backend=opts.scanner_backend,
            find_timeout_s=opts.find_timeout_s,
        )

    async def _control_step(self, surveyed: Survey) -> str:
        """A Pause (harmless: the belt stands) without Request Control: is control needed?

        Pause, not Stop: a refused Stop is the link's alarm (it fails the link's task group),
        while a refused Pause is an answer like any other."""
        self._begin(Step.CONTROL)
        link = self._open(surveyed.address, NO_CONTROL_PROFILE)
        async with link:
            self._link = link
            try:
                await link.pause()
                return "ok"
            except ControlRejected as error:
                return f"refused 0x{error.result_code:02X}"
            except TreadcoachError as error:
                return f"failed: {error}"
            finally:
                self._link = None

    async def _main(self, surveyed: Survey, without: str) -> None:
        link = self._open(surveyed.address, PROBE_PROFILE)
        async with link:
            self._link = link
            r = link.speed_range
            i = link.incline_range
            # the machine's own step (the probe's link sends 0.01 steps to test it)
            raw = surveyed.reads.get(uuids.SPEED_RANGE_UUID)
            step = DEFAULT_SPEED_RANGE.increment_kmh
            if raw is not None:
                with contextlib.suppress(FtmsDecodeError):
                    step = decode_speed_range(raw).increment_kmh
            record = self.record = ProbeRecord(
                name=surveyed.name,
                address=surveyed.address,
                bound_kmh=round(r.min_kmh + BOUND_ABOVE_MIN_KMH, 2),
                speed_range=(r.min_kmh, r.max_kmh, step),
                incline_range=(i.min_pct, i.max_pct, i.increment_pct),
                survey=surveyed,
                without_request_control=without,
                control_granted=link.has_control,
            )
            record.marks.update(self._marks)  # the survey and control steps came before
            try:
                await self._run_steps(link, record)
            except Exception as error:
                # A bug or a failed task: through the one stop path, then out with the error.
                self.request_stop(StopReason.ERROR, f"the probe failed: {error!r}")
                raise
            finally:
                if self._stop_future is not None:
                    with contextlib.suppress(TreadcoachError):
                        await self._stop_future
                self._link = None

    async def _run_steps(self, link: TreadmillLink, record: ProbeRecord) -> None:
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(self._read(link, record), name="probe reader")
            watch = tg.create_task(self._watch(link, record), name="probe watch")
            try:
                await self._belt_steps(link, record)
                await self._still_steps(link, record)
            finally:
                record.ended_at = _now()
                reader.cancel()
                watch.cancel()

    # --- the steps ---------------------------------------------------------------------------

    async def _belt_steps(self, link: TreadmillLink, record: ProbeRecord) -> None:
        lo, _hi, inc = record.speed_range
        bound = record.bound_kmh

        self._begin(Step.START_NEEDED)
        await self._command(record, Step.START_NEEDED, "set_speed", lo, link.set_speed(lo))
        await asyncio.sleep(START_NEEDED_WAIT_S)

        self._begin(Step.START)
        self._moving = True
        await self._command(record, Step.START, "start", None, link.start())
        await self._command(record, Step.START, "set_speed", lo, link.set_speed(lo))
        await self._until(lambda: (link.belt_speed_kmh or 0.0) > 0.0, MOVE_WAIT_S)

        self._begin(Step.UNITS)
        r0 = await self._settle(link)
        self._floor_kmh = r0
        # The second speed: well above the first, yet the *belt* stays within the bound even
        # on a machine that reads targets as mph (then r0 came out ~1.6 x lo).
        ratio = max(1.0, r0 / lo) if lo > 0 else 1.0
        c1 = _floor(min(bound, lo + 0.6, bound / ratio), 0.1)
        if c1 <= lo:
            c1 = lo
        await self._command(record, Step.UNITS, "set_speed", c1, link.set_speed(c1))
        await self._settle(link)

        self._begin(Step.INCREMENT)
        c2 = round(max(lo, c1 - inc / 2), 2)
        await self._command(record, Step.INCREMENT, "set_speed", c2, link.set_speed(c2))
        await self._settle(link)

        self._begin(Step.HOLD)
        await asyncio.sleep(HOLD_S)

        revert = detect_revert(record)
        if revert is not None:
            self._begin(Step.KEEPALIVE)
            period = max(0.2, round(revert.after_s / 3, 1))
            record.keepalive_period_s = period
            await self._command(record, Step.KEEPALIVE, "set_speed", c2, link.set_speed(c2))
            end = _now() + max(HOLD_S, 2.5 * revert.after_s)
            while _now() < end:
                await asyncio.sleep(period)
                await self._command(
                    record, Step.KEEPALIVE, "request_control", None, link.request_control()
                )

        self._begin(Step.STOP)
        stopping = link.stop(take_control=True)
        await self._command(record, Step.STOP, "stop", None, stopping)
        await self._until(lambda: (link.belt_speed_kmh or 0.0) <= 0.0, STOP_WAIT_S)
        self._moving = False

    async def _still_steps(self, link: TreadmillLink, record: ProbeRecord) -> None:
        lo_i, hi_i, _step_i = record.incline_range
        self._begin(Step.INCLINE)
        if hi_i > lo_i:
            target = min(hi_i, max(lo_i, INCLINE_TRY_PCT))
            await self._command(
                record, Step.INCLINE, "set_incline", target, link.set_incline(target)
            )
            await asyncio.sleep(INCLINE_WATCH_S)
            flat = min(hi_i, max(lo_i, 0.0))
            await self._command(record, Step.INCLINE, "set_incline", flat, link.set_incline(flat))
            await asyncio.sleep(INCLINE_WATCH_S)

        self._begin(Step.CONSOLE)
        console = self.options.console
        if console is not None and await console.press():
            watched = await self._until(lambda: record.control_lost_at is not None, CONSOLE_WATCH_S)
            record.console = ConsoleResult.TOOK_CONTROL if watched else ConsoleResult.IGNORED

    # --- helpers -----------------------------------------------------------------------------

    async def _command(
        self, record: ProbeRecord, step: Step, op: str, value: float | None, aw: Awaitable[Any]
    ) -> None:
        """Await one link command and record how it ended (a refusal is a finding, not a
        failure; a lost link or a stop ends the probe through the stop path)."""
        at = _now()
        code: int | None = None
        try:
            answer = await aw
            result = "skipped" if answer is False and op == "start" else "ok"
        except ControlRejected as error:
            result, code = str(error), error.result_code
        except TreadcoachError as error:
            result = str(error)
            record.commands.append(Command(step, op, value, at, _now(), result))
            self.request_stop(StopReason.ERROR, f"{op} failed: {error}")
            raise asyncio.CancelledError from error
        record.commands.append(Command(step, op, value, at, _now(), result, code))

    async def _settle(self, link: TreadmillLink) -> float:
        """Wait until two telemetry records agree (or SETTLE_MAX_S); the speed it settled at."""
        end = _now() + SETTLE_MAX_S
        last: float | None = None
        await asyncio.sleep(1.0)
        while _now() < end:
            speed = link.belt_speed_kmh or 0.0
            if last is not None and abs(speed - last) <= SETTLE_KMH:
                return speed
            last = speed
            seen = link.last_telemetry_at

            def fresh(seen: float | None = seen) -> bool:
                return link.last_telemetry_at != seen

            await self._until(fresh, end - _now())
        return link.belt_speed_kmh or 0.0

    async def _until(self, condition: Callable[[], bool], within_s: float) -> bool:
        """Wait until ``condition()`` holds (checked after every link event) or ``within_s``."""
        end = _now() + within_s
        while True:
            changed = self._changed  # taken before looking: an event from here on wakes us
            if condition():
                return True
            left = end - _now()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await changed.wait()

    def _pulse(self) -> None:
        """A link event came: wake whoever waits in ``_until``."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _read(self, link: TreadmillLink, record: ProbeRecord) -> None:
        async for event in link.events():
            self._pulse()
            if isinstance(event, TelemetryEvent):
                data = event.data
                present = tuple(
                    name
                    for name in type(data).__dataclass_fields__
                    if name not in ("more_data", "extra", "reserved_flags")
                    and getattr(data, name) is not None
                )
                record.samples.append(
                    Sample(event.at, data.speed_kmh, data.distance_m, data.inclination_pct, present)
                )
                speed = data.speed_kmh or 0.0
                limit = self._belt_limit(record)
                if speed > limit:
                    known = record.survey is not None and (
                        uuids.SPEED_RANGE_UUID in record.survey.reads
                    )
                    self.request_stop(
                        StopReason.OVERSPEED,
                        f"belt at {speed:.2f} km/h, above the probe's limit of {limit:.2f} km/h"
                        + (
                            ""
                            if known
                            else " (it has no Supported Speed Range, so its minimum is not "
                            f"known; the probe assumed {record.speed_range[0]:.2f} km/h)"
                        ),
                    )
            elif isinstance(event, StatusEvent):
                op = event.status.op
                name = op.name.lower() if isinstance(op, MachineStatusOp) else f"0x{op:02X}"
                record.statuses.append((event.at, name))
                if op == MachineStatusOp.STOPPED_BY_SAFETY_KEY:
                    self.request_stop(StopReason.SAFETY_KEY, "the safety key was pulled")
            elif isinstance(event, ControlLostEvent):
                record.control_lost_at = event.at
                if self._step is not Step.CONSOLE:
                    self.request_stop(
                        StopReason.CONTROL_LOST,
                        "control was taken at the console or by another app; the probe sends "
                        "nothing more (use the console's stop)",
                    )
            elif isinstance(event, LinkDownEvent):
                self.request_stop(StopReason.DISCONNECT, event.reason)

    def _belt_limit(self, record: ProbeRecord) -> float:
        """The fastest the belt may report: the bound, or the slowest this machine runs.

        Until the belt settled at its minimum that is the minimum read as mph (the worst
        misreading of a target seen in the wild); from then on, what it settled at.
        """
        floor = self._floor_kmh
        if floor is None:
            floor = record.speed_range[0] * KMH_PER_MPH
        return max(record.bound_kmh, floor) + OVERSPEED_MARGIN_KMH

    async def _watch(self, link: TreadmillLink, record: ProbeRecord) -> None:
        while True:
            await asyncio.sleep(_WATCH_PERIOD_S)
            age = link.telemetry_age_s()
            if self._moving and age > STALE_S:
                self.request_stop(StopReason.STALE, f"no treadmill data for {age:.1f} s")


def _now() -> float:
    return asyncio.get_running_loop().time()


def _floor(value: float, step: float) -> float:
    return round(math.floor(value / step + 1e-9) * step, 2)
