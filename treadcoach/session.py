"""A whole session as the user runs it: treadmill (or simulator), controller, journal, MQTT, signals.

:class:`Session` is what ``treadcoach run`` (headless) and the TUI hold. It implements
:class:`~treadcoach.coach.handle.SessionHandle` by delegating to the controller, and its
:meth:`Session.run` owns everything the session needs while it lasts: the simulated treadmill,
the journal entry, the heart-rate strap (``hr_feed``), the MQTT bridge, and SIGINT/SIGTERM/SIGHUP
handlers that go through the stop path.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, Summary
from treadcoach.coach.handle import EventListener
from treadcoach.coach.plan import Plan
from treadcoach.coach.schedule import Caps, backward_time_s, expand, planned_duration_s
from treadcoach.coach.state import SessionState
from treadcoach.config import MqttSettings, Settings
from treadcoach.errors import ConfigError, HistoryError, SessionBusy, TreadcoachError
from treadcoach.heap import settle_heap
from treadcoach.hr_feed import SIM_STRAP, HeartRateFeed, heart_rate_feed
from treadcoach.priority import PriorityGrant, claim_stop_priority
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.watchdog import WatchLimits

if TYPE_CHECKING:
    from sim import SimTreadmill
    from treadcoach.history.checkin import CheckIn
    from treadcoach.history.recorder import JournalRecorder

__all__ = ["SIM_DEVICE", "Session", "SessionLock", "SessionOptions", "caps_from"]

log = logging.getLogger(__name__)

SIM_DEVICE = "sim"  # the device value that means "the bundled simulator"

_SIGNALS: tuple[tuple[signal.Signals, StopReason], ...] = (
    (signal.SIGINT, StopReason.SIGINT),
    (signal.SIGTERM, StopReason.SIGTERM),
    (signal.SIGHUP, StopReason.SIGHUP),
)


@dataclass(frozen=True, slots=True)
class SessionOptions:
    plan: Plan
    device: str | None = None  # name or address; SIM_DEVICE or None with sim=True: simulator
    sim: bool = False
    sim_faults: tuple[str, ...] = ()  # KIND@SECONDS
    sim_strap_faults: tuple[str, ...] = ()  # KIND@SECONDS of the simulated strap (--hr sim)
    sim_profile: str = "standard"
    sim_notify_hz: float = 1.0
    journal_path: Path | None = None
    record: bool = True  # write the journal
    mqtt: MqttSettings | None = None
    handle_signals: bool = True
    # TUI: when the console takes control, hold the plan and let the user take it back.
    # Headless: the session ends with reason control_lost.
    hold_on_control_lost: bool = False
    # Headless with a terminal: read the stop/pause keys from stdin (the TUI owns keys itself).
    terminal_keys: bool = False
    ble: str | None = None  # "bumble:TRANSPORT": bleak over bumble (treadcoach.link.bumble.cli)
    # The process is ours (run, serve): before the belt moves, freeze the start-up heap so the
    # collector's full passes stay short beside the stop path (treadcoach.heap), and ask the
    # kernel to run the stop path promptly on a busy machine (treadcoach.priority).
    own_process: bool = False


class SessionLock:
    """One session at a time on a data dir, or on a treadmill: an exclusive ``flock`` on a file
    that says who holds it (pid, start time, plan). The kernel drops the lock when its process
    dies, so a crashed session never leaves a stale one behind."""

    def __init__(self, path: Path, what: str, hint: str, *, required: bool = True) -> None:
        self.path = path
        self.what = what  # "the history in /x" / "the treadmill AA:BB"
        self.hint = hint
        # a lock that cannot even be created: an error (the data dir is unusable anyway), or
        # for the treadmill's lock in the runtime dir a warning and no lock
        self.required = required
        self._file: IO[str] | None = None

    def acquire(self, holder: dict[str, Any]) -> None:
        """Take the lock for ``holder`` (written into the file), or raise :class:`SessionBusy`
        naming the session that has it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            if not self.required:
                log.warning(
                    "no session lock for %s: cannot create %s (%s)", self.what, self.path, exc
                )
                return
            raise HistoryError(f"cannot create the session lock {self.path} ({exc})") from exc
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            busy = SessionBusy(self.what, _holder_words(file.read()), self.hint)
            file.close()
            raise busy from None
        file.seek(0)
        file.truncate()
        file.write(json.dumps(holder))
        file.flush()
        self._file = file

    def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.seek(0)
                file.truncate()
            file.close()  # closing drops the flock

    @contextlib.contextmanager
    def held(self, holder: dict[str, Any]) -> Iterator[None]:
        self.acquire(holder)
        try:
            yield
        finally:
            self.release()


def _holder_words(text: str) -> str:
    try:
        holder = json.loads(text)
        started = datetime.fromisoformat(holder["started_at"]).strftime("%Y-%m-%d %H:%M:%S")
        return f"pid {holder['pid']}, started {started} (plan {holder.get('plan', '?')})"
    except (ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"


def _probe_system_bus() -> None:
    """No D-Bus system bus means no BlueZ: that much is known at once (a connect to its socket),
    before a screen opens. Anything subtler (no adapter, powered off) the link reports when it
    scans."""
    if not sys.platform.startswith("linux"):
        return
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")
    if address and not address.startswith("unix:path="):
        return  # another transport: leave it to bleak
    path = address.removeprefix("unix:path=").split(",", 1)[0] or "/run/dbus/system_bus_socket"
    import socket

    from treadcoach.link import bluetooth_unavailable

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError as exc:
        unavailable = bluetooth_unavailable(exc)
        if unavailable is not None:
            raise unavailable from exc
    finally:
        probe.close()


def _runtime_dir() -> Path:
    """Where the treadmill locks live: the user's runtime dir (tmpfs, emptied at boot), or a
    per-user folder in the temp dir where there is none (containers, cron)."""
    import tempfile
    import warnings

    import platformdirs

    with warnings.catch_warnings():
        # no XDG_RUNTIME_DIR (a cron job, a container): platformdirs warns and falls back to a
        # folder in /tmp, which serves as well; the warning would only clutter the screen
        warnings.simplefilter("ignore")
        runtime = Path(platformdirs.user_runtime_dir("treadcoach"))
    try:
        runtime.mkdir(parents=True, exist_ok=True)
        return runtime
    except OSError:
        return Path(tempfile.gettempdir()) / f"treadcoach-{os.getuid()}"


def caps_from(settings: Settings) -> Caps:
    limits = settings.limits
    return Caps(
        max_kmh=limits.max_kmh,
        backward_max_kmh=limits.backward_max_kmh,
        turnaround_kmh=max(limits.turnaround_kmh, 0.5),
        turnaround_s=limits.turnaround_s,
    )


class Session:
    """One coached session; see the module docstring."""

    def __init__(self, options: SessionOptions, settings: Settings) -> None:
        self.options = options
        self.settings = settings
        self.steps = expand(options.plan, caps_from(settings))
        self.planned_backward_s = backward_time_s(self.steps)
        self.planned_duration_s = planned_duration_s(self.steps)
        # distance steps as planned, timed steps at their target speed
        self.planned_distance_m = sum(
            s.distance_m if s.distance_m is not None else s.target_kmh / 3.6 * (s.duration_s or 0)
            for s in self.steps
        )
        # the journal's id of this session once it has run (None: not recorded)
        self.saved_as: int | None = None
        # what the kernel granted the stop path (own_process sessions; None: not asked)
        self.priority: PriorityGrant | None = None
        self.recording = options.record
        self.treadmill: SimTreadmill | None = None
        target, client_backend, scanner_backend = self._target()
        # the strap is reached through the treadmill's backends (the simulator's, one bumble
        # controller), so both share one radio
        self._backends: tuple[Any, Any] = (client_backend, scanner_backend)
        self._platform_radio = client_backend is None  # bleak's own backend (BlueZ on Linux)
        # The link resolves the profile again from the advertised name once connected; this
        # early look-up (by what the user typed) sets the watchdog's acceleration and distance.
        self.device_label = self.treadmill.name if self.treadmill is not None else target
        profile = settings.profile_for(self.device_label, target)
        limits = settings.limits
        config = SessionConfig(
            plan_name=options.plan.name,
            watch=WatchLimits(
                stale_after_s=limits.stale_after_s,
                overspeed_tolerance_kmh=limits.overspeed_tolerance_kmh,
                follow_tolerance_kmh=limits.overspeed_tolerance_kmh,
                follow_margin_s=limits.target_deadline_s,
                accel_kmh_per_s=profile.accel_kmh_per_s,
            ),
            turnaround_countdown_s=5,
            remote_control=bool(options.mqtt and options.mqtt.remote_control),
            distance_source=profile.distance_source,
            simulated=options.sim,
            end_on_control_lost=not options.hold_on_control_lost,
        )

        def link() -> Any:
            from treadcoach.link import TreadmillLink

            return TreadmillLink(
                target,
                profile=settings.profile_for,
                client_backend=client_backend,
                scanner_backend=scanner_backend,
            )

        if settings.hr_strap == SIM_STRAP and not options.sim:
            raise ConfigError(
                "--hr", SIM_STRAP, "a simulated strap needs the simulated treadmill (--sim)"
            )
        if options.sim_strap_faults and settings.hr_strap != SIM_STRAP:
            raise ConfigError(
                "--sim-strap-fault",
                options.sim_strap_faults[0],
                "needs the simulated strap (--hr sim)",
            )
        #: the heart-rate strap and its coaching (None: no strap configured); it exists before
        #: the strap is reached, so the session never waits for it (hr_feed)
        self.heart: HeartRateFeed | None = heart_rate_feed(settings, options.plan)
        self.controller = SessionController(
            link,
            self.steps,
            config,
            planned_backward_s=self.planned_backward_s,
            planned_duration_s=planned_duration_s(self.steps),
            heart=self.heart,  # None: no HR rules at all
        )
        self.mqtt_connected: bool | None = None
        self.recorder: JournalRecorder | None = None
        self._closing_bridge = False  # the session is closing the MQTT bridge (not a fault)
        self.locks = self._locks()
        self.check_can_start()

    @property
    def session_id(self) -> int | None:
        """The journal's id of this session once it has run (None: not recorded)."""
        return self.saved_as

    def save_checkin(self, checkin: CheckIn) -> None:
        """Store the after-session check-in with this session; nothing for an empty one.

        Raises :class:`HistoryError` (one line) when the session was not saved or the journal
        cannot be written.
        """
        if checkin.empty:
            return
        if self.session_id is None:
            raise HistoryError("the session was not saved")
        from treadcoach.history import checkin_store  # type: ignore[attr-defined, unused-ignore]

        checkin_store.save_checkin(self._journal_path(), self.session_id, checkin)

    @property
    def saved(self) -> bool:
        """Whether the journal holds the whole session (True when not recording: nothing lost)."""
        return not self.options.record or (self.recorder is not None and self.recorder.saved)

    def _locks(self) -> list[SessionLock]:
        locks = []
        if self.options.record:
            journal = self._journal_path()
            locks.append(
                SessionLock(
                    journal.with_name(journal.name + ".lock"),
                    f"the history in {journal.parent}",
                    "Only one session at a time can write it: end that one first, or pass "
                    "--no-history (or another --db) for this one.",
                )
            )
        if self.treadmill is None:
            # A simulator is every session's own; a real treadmill takes one coach at a time.
            target = re.sub(r"[^A-Za-z0-9_.-]", "_", self.device_label)
            locks.append(
                SessionLock(
                    _runtime_dir() / f"treadmill-{target}.lock",
                    f"the treadmill {self.device_label}",
                    "A treadmill takes commands from one session: end that one first.",
                    required=False,
                )
            )
        return locks

    def _journal_path(self) -> Path:
        if self.options.journal_path is not None:
            return self.options.journal_path
        from treadcoach.history.journal import default_journal_path

        return default_journal_path()

    def check_can_start(self) -> None:
        """What can be known before a screen opens or a belt moves: the history opens for
        writing and no other session holds the data dir or the treadmill (one line each)."""
        if self.options.record:
            from treadcoach.history import Journal

            Journal.open(self.options.journal_path).close()
        for lock in self.locks:
            with lock.held(self._holder()):
                pass
        from treadcoach.link.bluetooth import platform_backend_is_bluez

        if self._platform_radio and platform_backend_is_bluez():
            _probe_system_bus()

    def _holder(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "plan": self.options.plan.name,
            "device": self.device_label,
        }

    def _target(self) -> tuple[str, Any, Any]:
        opts = self.options
        if opts.sim:
            from sim import SimTreadmill
            from sim.bleak_backend import SimBleakClient, SimBleakScanner

            self.treadmill = SimTreadmill(
                name="treadcoach-sim",
                profile=opts.sim_profile,
                faults=opts.sim_faults,
                notify_hz=opts.sim_notify_hz,
                # the console's own pulse reading, unless the simulated person wears the
                # simulated strap: one heart, not two models disagreeing on the screen
                runner=self.settings.hr_strap != SIM_STRAP,
            )
            if opts.ble:  # bumble:air[:MS]: the simulator over real ATT, in this process
                from treadcoach.link.bumble.cli import ble_backends

                return (self.treadmill.address, *ble_backends(opts.ble))
            return self.treadmill.address, SimBleakClient, SimBleakScanner
        target = opts.device or self.settings.default_device
        if not target or target == SIM_DEVICE:
            raise ConfigError(
                "devices.toml",
                "default_device",
                "no treadmill chosen: pass --device NAME|ADDRESS, save one with "
                "'treadcoach scan --save ADDRESS', or try the simulator with --sim",
            )
        if opts.ble:
            from treadcoach.link.bumble.cli import ble_backends

            return (target, *ble_backends(opts.ble))
        return target, None, None

    # --- SessionHandle ----------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self.controller.state

    def add_listener(self, listener: EventListener) -> Callable[[], None]:
        return self.controller.add_listener(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        self.controller.request_stop(reason, detail)

    def request_pause(self, source: StopReason) -> None:
        self.controller.request_pause(source)

    def request_resume(self, source: StopReason) -> None:
        self.controller.request_resume(source)

    def request_speed(self, kmh: float, source: StopReason) -> None:
        self.controller.request_speed(kmh, source)

    def request_control_back(self) -> None:
        self.controller.request_control_back()

    async def run(self) -> Summary:
        began = datetime.now().astimezone()
        async with contextlib.AsyncExitStack() as stack:
            holder = self._holder()
            for lock in self.locks:
                stack.enter_context(lock.held(holder))
            if self.treadmill is not None:
                await stack.enter_async_context(self.treadmill)
            if self.heart is not None:
                # returns at once: the strap is looked for (once the treadmill is connected)
                # and reconnected beside the session; its failures stay inside, the belt never
                # waits for it. Let go of at the stop (the treadmill's link, which may have to
                # reconnect to send Stop, gets the radio to itself), closed before the simulated
                # treadmill it follows.
                treadmill_up = asyncio.Event()
                heart = self.heart

                def on_event(event: Event) -> None:
                    if event.event == "connected":
                        treadmill_up.set()
                    elif event.event == "stop":
                        heart.close_strap()

                stack.callback(self.controller.add_listener(on_event))
                client_backend, scanner_backend = self._backends
                await stack.enter_async_context(
                    self.heart.connected(
                        sim_treadmill=self.treadmill,
                        client_backend=client_backend,
                        scanner_backend=scanner_backend,
                        start_after=treadmill_up.wait,
                        strap_faults=self.options.sim_strap_faults,
                    )
                )
            if self.options.record:
                await self._journal(stack)
            if self.options.handle_signals:
                stack.enter_context(self._signals())
            # Stop inputs and the bridge live beside the session, never inside its task group:
            # a pedal unplugged or a broker down is reported, not a reason to crash the session.
            helpers = [t for t in (self._start_pedal(stack), self._start_terminal_keys()) if t]
            bridge_task = self._start_bridge()
            if self.options.own_process:
                settle_heap()
                # A sped-up simulation runs flat out: realtime would give it a whole core for
                # ever, and there is no belt to stop in real time.
                if clock.is_real_time():
                    self.priority = claim_stop_priority()
                    log.info("%s", self.priority.describe())
            try:
                return await self.controller.run()
            finally:
                if self.options.record:
                    self.saved_as = self._newest_session_id(began)
                if bridge_task is not None:
                    # Let the bridge publish the final state before it says offline.
                    await asyncio.sleep(0)
                    self._closing_bridge = True
                    helpers.append(bridge_task)
                for task in helpers:
                    task.cancel()
                for task in helpers:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _newest_session_id(self, began: datetime) -> int | None:
        """This session's id in the journal: the newest entry if it began after ``began``, read
        while this session still holds the data dir's lock (so no other session can have begun
        one since). A session that never reached the treadmill has no entry."""
        from treadcoach.history import Journal

        try:
            with Journal.open(self.options.journal_path, create=False) as journal:
                newest = journal.sessions(limit=1)
        except HistoryError as exc:
            log.warning("cannot read back the session's id: %s", exc)
            return None
        if not newest or newest[0].started_at < began.replace(microsecond=0):
            return None
        return newest[0].id

    # --- what a session owns while it runs ---------------------------------------------------

    async def _journal(self, stack: contextlib.AsyncExitStack) -> None:
        from treadcoach.history.recorder import JournalRecorder, SessionInfo

        info = SessionInfo(
            plan=self.options.plan.name,
            device=self.device_label,
            address=self.options.device or "",
            simulated=self.options.sim,
            planned_backward_s=self.planned_backward_s,
            planned_duration_s=planned_duration_s(self.steps),
        )
        report = functools.partial(self.controller.report_fault, "journal")
        self.recorder = await stack.enter_async_context(
            JournalRecorder(self.options.journal_path, info, on_fault=report)
        )
        stack.callback(self.controller.add_recorder(self.recorder.record))

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig, reason in _SIGNALS:
            try:
                loop.add_signal_handler(sig, self.controller.request_stop, reason, sig.name)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                log.debug("cannot handle %s here", sig.name)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _start_pedal(self, stack: contextlib.AsyncExitStack) -> asyncio.Task[None] | None:
        inputs = self.settings.inputs
        if not inputs.pedal_device:
            return None
        from treadcoach.inputs.pedal import PedalInput

        def lost(detail: str) -> None:
            # The hands-free stop is gone: pause (a controlled stop that keeps the plan) and
            # say so; the keyboard resumes.
            self.controller.report_fault("pedal_lost", detail)
            self.controller.request_pause(StopReason.PEDAL)

        pedal = PedalInput(
            self.controller,
            device=inputs.pedal_device,
            key=inputs.pedal_key,
            action=inputs.pedal_action,
            on_lost=lost,
        )
        pedal.open()  # a missing or unreadable pedal is an error before the belt moves
        stack.callback(pedal.close)
        return asyncio.get_running_loop().create_task(pedal.run(), name="treadcoach-pedal")

    def _start_terminal_keys(self) -> asyncio.Task[None] | None:
        if not self.options.terminal_keys or not sys.stdin.isatty():
            return None
        from treadcoach.inputs.keys import TerminalKeys

        inputs = self.settings.inputs
        keys = TerminalKeys(
            self.controller,
            stop_key=inputs.stop_key,
            pause_key=inputs.pause_key,
            on_lost=lambda detail: self.controller.report_fault("keys_lost", detail),
        )

        async def run_keys() -> None:
            try:
                await keys.run()
            except TreadcoachError as exc:
                self.controller.report_fault("keys_unavailable", str(exc))

        return asyncio.get_running_loop().create_task(run_keys(), name="treadcoach-keys")

    def _start_bridge(self) -> asyncio.Task[None] | None:
        settings = self.options.mqtt
        if settings is None:
            return None
        from treadcoach.mqtt.bridge import MqttBridge
        from treadcoach.mqtt.connection import make_tls_context

        def on_status(connected: bool, detail: str) -> None:
            if connected != self.mqtt_connected:
                self.mqtt_connected = connected
                # The bridge says "stopped" when the session closes it: that is no fault.
                if not connected and not self._closing_bridge:
                    self.controller.report_fault("mqtt_down", detail)

        bridge = MqttBridge(
            self,
            hostname=settings.hostname,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            tls_context=(
                make_tls_context(settings.ca_file, insecure=settings.tls_insecure)
                if settings.tls
                else None
            ),
            device_id=settings.device_id,
            discovery_prefix=settings.discovery_prefix,
            discovery=settings.discovery,
            remote_control=settings.remote_control,
            buttons=[(b.topic, b.payload_spec) for b in settings.buttons],
            on_status=on_status,
        )

        async def run_bridge() -> None:
            # The broker is optional: a bridge failure is reported, never a session failure.
            try:
                await bridge.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("MQTT bridge stopped: %s", exc)
                self.controller.report_fault("mqtt_failed", str(exc))

        return asyncio.get_running_loop().create_task(run_bridge(), name="treadcoach-mqtt")
