"""``treadcoach bench stop-latency``: from a stop input to the Stop opcode handed to bleak's write.

Each sample is a whole session against the simulator (telemetry at 10 Hz) on the real clock, with
the Textual session screen rendering it and an MQTT bridge publishing its state to a real mosquitto
(DESIGN.md: "p99 < 5 ms with TUI and MQTT telemetry running"): the belt is brought up, then -- at a
random moment -- a stop input fires. The time is taken when ``write_gatt_char`` is called with
``08 01``; the simulator is reached through a bleak backend that only adds that timestamp (bleak's
own seam, not a mock of our transport).

Three inputs, each measured alone and then again beside a CPU hog (one busy process per core,
:mod:`treadcoach.bench.hog`; ``--no-hog`` skips that round):

- ``direct``: ``request_stop`` called, as the pedal, the terminal key and the signal handlers do
  (the top-level ``n``/``p50_ms``/``p99_ms`` are this one, without the hog: DESIGN.md contract);
- ``tui_key``: the stop key pressed in the Textual app showing the session (headless driver);
- ``mqtt``: a separate long-lived client publishes ``stop`` on the command topic (QoS 0, a Home
  Assistant button's default); the clock starts as its PUBLISH goes into its socket
  (:mod:`treadcoach.bench.button`: the publisher is another machine's process in real life, so
  its own wait for this loop is not counted).

How it fits in about a minute a round (n=1000: 2,000 samples): a session takes ~0.3 s to start
and to wind down after its Stop (it listens for standstill), so one session after another would need minutes for n=1000.
Instead ``SLOTS`` sessions, each on its own simulated treadmill with its own MQTT bridge, run side
by side on the one loop, and a lock lets only one of them be stopped at a time. One headless app
renders one long session (on a slot of its own, never measured) as a real screen would, and its
stop key is routed to the session being measured: the key takes the app's real path (driver,
message queue, ``on_event``, ``action_stop``) but needs no new screen per sample. Each measured stop shares the loop with the other
sessions starting, running and winding down, their bridges and the app rendering -- more load than
one real session has, so the numbers err on the slow side, never the fast one. (One app, not
several: a Textual app is the heaviest thing in the loop, and a real session has one.)

The process claims the stop priority first, as ``treadcoach run`` does (:mod:`treadcoach.priority`;
``priority`` in the output says what it got); the hog, started after, is an ordinary process. The
broker shares the cores with the hog, so it gets the same priority (``broker`` in the output), as
README "Stop priority" tells a user whose broker is on the same machine; ``--ordinary-broker``
leaves it ordinary, and then its wake-ups may wait a scheduler tick for a core that the hog
holds (measured: MQTT p99 beside the hog 6.8-11.6 ms instead of 1.6 ms). That load has a price
of its own: sessions started and stopped ~40 times a second keep the process ~25 % busy (one
real session: ~2 %). ``--slots 3`` measures nearly alone, at ~6 samples a second: the
cross-check for a hog p99 that looks too high. ``timer_lag`` (how late a 10 ms timer
fired meanwhile) tells the machine's share of any latency apart from ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from bleak.backends.characteristic import BleakGATTCharacteristic
from textual import events

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach.bench import BenchOptions
from treadcoach.bench.button import ButtonPublisher
from treadcoach.bench.hog import cpu_hog
from treadcoach.bench.stats import latency_summary
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, Summary
from treadcoach.coach.library import find_plan
from treadcoach.coach.schedule import Caps, Step, expand
from treadcoach.coach.state import Phase, SessionState
from treadcoach.errors import MqttBridgeError
from treadcoach.heap import settle_heap
from treadcoach.link import TreadmillLink
from treadcoach.mqtt import topics
from treadcoach.mqtt.bridge import MqttBridge
from treadcoach.mqtt.localbroker import LocalMosquitto
from treadcoach.priority import claim_stop_priority
from treadcoach.safety.reasons import StopReason
from treadcoach.tui import TreadcoachApp, TuiSettings

__all__ = ["bench", "bench_fleet"]

DEFAULT_N = 1000
# The TUI and MQTT paths get half of n each (at least MIN_PATH_N, at most n): they share the
# direct path's hand-off and only add the key dispatch or the broker hop. Not less: the p99 of 200
# samples is the second-worst one, and one stall decided it (round 3: 3-10 ms from run to run).
PATH_SHARE = 2
MIN_PATH_N = 100
SLOTS = 20  # sessions side by side
FLEET_SIZE = 20
NOTIFY_HZ = 10.0
STOP_WRITE_TIMEOUT_S = 5.0  # a Stop that takes this long is a failure, counted as "missed"
_POLL_S = 0.02  # how often a slot looks whether its session is up yet
_RANDOM_WAIT_S = 0.1  # land anywhere between two telemetry records
_LAG_TICK_S = 0.01
_PLAN = "gentle-intro"
_STOP = b"\x08\x01"
_TUI_SETTINGS = TuiSettings(audio="none")

Path = Literal["direct", "tui_key", "mqtt"]


class _StopStampingClient(SimBleakClient):
    """The simulator's bleak backend, stamping the moment the first Stop is handed to it."""

    # address -> the future of the sample being measured on that treadmill
    armed: ClassVar[dict[str, asyncio.Future[float]]] = {}

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        if bytes(data[:2]) == _STOP:
            stamp = _StopStampingClient.armed.pop(self.address, None)
            if stamp is not None and not stamp.done():
                stamp.set_result(time.perf_counter())
        await super().write_gatt_char(characteristic, data, response)


def _arm(address: str) -> asyncio.Future[float]:
    stamp: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    _StopStampingClient.armed[address] = stamp
    return stamp


@dataclass
class _Samples:
    want: int
    taken: list[float]
    missed: int = 0

    @property
    def done(self) -> bool:
        return len(self.taken) + self.missed >= self.want

    def summary(self) -> dict[str, Any]:
        return {**latency_summary(self.taken), "missed": self.missed}


class _CurrentSession:
    """A ``SessionHandle`` that shows the controller attached last and passes requests on.

    A real session keeps its MQTT bridge and its screen for its whole life; here a slot's bridge
    serves one controller after another, so it connects once, not once per sample (that would be
    most of a sample's CPU). Forwarding costs one Python call on the stop path. ``route`` sends the
    requests (stop, pause, ...) to another controller than the one shown: the app keeps rendering
    one long session, as a real one does, while its stop key stops the session being measured.
    ``run()`` lasts until ``close()``.
    """

    def __init__(self) -> None:
        self._shown: SessionController | None = None
        self._controller: SessionController | None = None  # where requests go
        self._listeners: list[Callable[[Event], None]] = []
        self._detach: Callable[[], None] | None = None
        self._closed = asyncio.Event()

    def attach(self, controller: SessionController) -> None:
        if self._detach is not None:
            self._detach()
        self._shown = self._controller = controller
        self._detach = controller.add_listener(self._forward)

    def route(self, controller: SessionController) -> None:
        self._controller = controller

    def close(self) -> None:
        self._closed.set()

    def _forward(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    @property
    def state(self) -> SessionState:
        return SessionState() if self._shown is None else self._shown.state

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        if self._controller is not None:
            self._controller.request_stop(reason, detail)

    def request_pause(self, source: StopReason) -> None:
        if self._controller is not None:
            self._controller.request_pause(source)

    def request_resume(self, source: StopReason) -> None:
        if self._controller is not None:
            self._controller.request_resume(source)

    def request_speed(self, kmh: float, source: StopReason) -> None:
        if self._controller is not None:
            self._controller.request_speed(kmh, source)

    def request_control_back(self) -> None:
        if self._controller is not None:
            self._controller.request_control_back()

    async def run(self) -> Summary:
        await self._closed.wait()
        return Summary(t=0.0, completed=False, stop_reason=StopReason.QUIT)


@dataclass
class _Screen:
    """The headless app and the session it shows."""

    session: _CurrentSession
    app: TreadcoachApp

    def press(self, key: str) -> None:
        """A key as the terminal driver delivers it: a Key event on the app's message queue.

        (Textual's driver posts it from its input thread; ``Pilot.press`` posts the same event
        and then waits for the screen to settle, which a stop does not need.)
        """
        event = events.Key(key, " " if key == "space" else None)
        event.set_sender(self.app)
        self.app.post_message(event)


@dataclass
class _Slot:
    """One simulated treadmill that sessions run on one after another, with its MQTT bridge."""

    treadmill: SimTreadmill
    device_id: str
    session: _CurrentSession
    bridge: MqttBridge | None


class _Rig:
    """The plan, the broker, the slots and screens, and the one-stop-at-a-time ``window``."""

    def __init__(self, steps: list[Step], broker: LocalMosquitto | None) -> None:
        self.steps = steps
        self.broker = broker
        self.slots: list[_Slot] = []
        self.screen: _Screen | None = None
        self.window = asyncio.Lock()

    def controller(self, slot: _Slot) -> SessionController:
        treadmill = slot.treadmill
        controller = SessionController(
            lambda: TreadmillLink(
                treadmill.address,
                client_backend=_StopStampingClient,
                scanner_backend=SimBleakScanner,
            ),
            self.steps,
            SessionConfig(plan_name="latency", simulated=True),
        )
        slot.session.attach(controller)
        return controller

    async def until_running(self, controller: SessionController, slot: _Slot) -> None:
        while (  # noqa: ASYNC110 -- polling the sim is the point
            controller.state.phase is not Phase.RUNNING
            or slot.treadmill.belt_speed_kmh <= 0
            or (slot.bridge is not None and not slot.bridge.connected)
        ):
            await asyncio.sleep(_POLL_S)

    async def measure(self, slot: _Slot, samples: _Samples, fire: Callable[[], None]) -> None:
        """Fire one stop input on ``slot``, alone in the loop's stop window.

        ``fire`` must not wait: it hands the input over (a PUBLISH written to the broker's socket,
        a Key event posted to the app) and the session takes it from there while this waits for
        the Stop alone.
        """
        async with self.window:
            if samples.done:
                return
            stamp = _arm(slot.treadmill.address)
            start = time.perf_counter()
            fire()
            try:
                async with asyncio.timeout(STOP_WRITE_TIMEOUT_S):
                    at = await stamp
            except TimeoutError:
                samples.missed += 1
                return
            samples.taken.append(at - start)


async def _samples(rig: _Rig, samples: _Samples, path: Path) -> None:
    """Sessions on every slot, each stopped through ``path``, until ``samples`` is full."""

    async def one_session(slot: _Slot, publisher: ButtonPublisher | None) -> None:
        controller = rig.controller(slot)
        screen = rig.screen
        assert screen is not None
        async with asyncio.TaskGroup() as tg:

            def fire() -> None:
                if path == "mqtt":
                    assert publisher is not None
                    command = topics.command_topic(slot.device_id)
                    publisher.press(command, b"stop")
                elif path == "tui_key":
                    screen.session.route(controller)
                    screen.press(_TUI_SETTINGS.stop_key)
                else:
                    controller.request_stop(StopReason.KEY, "benchmark")

            session = tg.create_task(controller.run())
            await rig.until_running(controller, slot)
            await asyncio.sleep(random.uniform(0.0, _RANDOM_WAIT_S))
            await rig.measure(slot, samples, fire)
            controller.request_stop(StopReason.KEY, "benchmark")  # if the sample was skipped
            await session

    async def slot_loop(slot: _Slot, publisher: ButtonPublisher | None) -> None:
        while not samples.done:
            await one_session(slot, publisher)

    async def on_screen(slot: _Slot) -> None:
        """The session the app renders meanwhile: one long plan on its own slot, never measured."""
        assert rig.screen is not None
        controller = rig.controller(slot)
        rig.screen.session.attach(controller)
        async with asyncio.TaskGroup() as tg:
            session = tg.create_task(controller.run())
            while not samples.done:  # noqa: ASYNC110 -- it runs as long as the sampling does
                await asyncio.sleep(_POLL_S)
            controller.request_stop(StopReason.KEY, "benchmark over")
            await session

    with contextlib.ExitStack() as stack:
        # One long-lived publisher, as a Home Assistant button or zigbee2mqtt is.
        publisher = None
        if path == "mqtt":
            assert rig.broker is not None
            publisher = stack.enter_context(
                ButtonPublisher(rig.broker.host, rig.broker.port, "bench-button")
            )
        shown, *measured = rig.slots
        async with asyncio.TaskGroup() as tg:
            tg.create_task(on_screen(shown))
            for slot in measured:
                tg.create_task(slot_loop(slot, publisher))


async def _all_paths(rig: _Rig, n: int) -> dict[str, Any]:
    path_n = min(n, max(MIN_PATH_N, n // PATH_SHARE))
    result: dict[str, Any] = {}
    start = time.perf_counter()
    lags: list[float] = []
    paths: tuple[tuple[Path, int], ...] = (("direct", n), ("tui_key", path_n), ("mqtt", path_n))
    async with asyncio.TaskGroup() as tg:
        watch = tg.create_task(_watch_loop_lag(lags))
        for path, want in paths:
            samples = _Samples(want, [])
            await _samples(rig, samples, path)
            result[path] = samples.summary()
        watch.cancel()
    direct = result.pop("direct")
    return {
        **direct,
        **result,
        "wall_s": round(time.perf_counter() - start, 2),
        # How late a 10 ms timer fired meanwhile: the machine's share of any latency above.
        "timer_lag": latency_summary(lags),
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }


async def _watch_loop_lag(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + _LAG_TICK_S
        await asyncio.sleep(_LAG_TICK_S)
        lags.append(max(0.0, loop.time() - due))


@contextlib.asynccontextmanager
async def _rig(slots: int, *, screen: bool, mqtt: bool) -> AsyncIterator[_Rig]:
    """``slots`` simulated treadmills, bridges to a throwaway mosquitto, the app."""
    broker = None
    if mqtt:
        try:
            broker = LocalMosquitto()
        except MqttBridgeError as exc:  # a benchmark that cannot measure MQTT says so
            raise MqttBridgeError(f"stop-latency needs mosquitto: {exc}") from exc
    rig = _Rig(expand(find_plan(_PLAN), Caps()), broker)
    async with contextlib.AsyncExitStack() as stack:
        if broker is not None:
            stack.enter_context(broker)
        if screen:
            shown = _CurrentSession()
            app = TreadcoachApp(session=shown, settings=_TUI_SETTINGS)
            await stack.enter_async_context(app.run_test(size=(100, 30)))
            stack.callback(shown.close)  # LIFO: the session ends before the app exits
            rig.screen = _Screen(shown, app)
        for i in range(slots):
            treadmill = await stack.enter_async_context(
                SimTreadmill(name=f"latency{i}", notify_hz=NOTIFY_HZ)
            )
            session = _CurrentSession()
            bridge = None
            if broker is not None:
                bridge = MqttBridge(
                    session,
                    hostname=broker.host,
                    port=broker.port,
                    device_id=f"latency{i}",
                    # Discovery is a burst of retained configs at connect, long before any stop;
                    # the 1 Hz state and the command topic are the load that matters here.
                    discovery=False,
                )
            rig.slots.append(_Slot(treadmill, f"latency{i}", session, bridge))
        async with asyncio.TaskGroup() as bridges:
            tasks = [bridges.create_task(s.bridge.run()) for s in rig.slots if s.bridge]
            try:
                yield rig
            finally:
                for task in tasks:  # bridges serve until cancelled, as a session's does
                    task.cancel()


async def _bench(
    n: int,
    *,
    hog: bool,
    slots: int = SLOTS,
    hogs: int | None = None,
    ordinary_broker: bool = False,
) -> dict[str, Any]:
    async with _rig(slots, screen=True, mqtt=True) as rig:
        # As `treadcoach run` does once its session is built (treadcoach.heap, .priority); the
        # hog, started after, is an ordinary process. The broker shares these cores with the
        # hog: run as README tells a user whose broker is on the same machine, unless asked.
        settle_heap()
        grant = claim_stop_priority()
        broker = "ordinary"
        if not ordinary_broker and rig.broker is not None and rig.broker.pid is not None:
            broker = claim_stop_priority(pid=rig.broker.pid).level
        result: dict[str, Any] = {"slots": slots, "priority": grant.level, "broker": broker}
        result.update(await _all_paths(rig, n))
        if hog:
            with cpu_hog(hogs) as report:
                hogged = await _all_paths(rig, n)
            result["hog"] = {"processes": report.processes, **hogged, "hog_cpu_s": report.cpu_s}
    return result


def bench(options: BenchOptions) -> dict[str, Any]:
    slots = max(2, options.slots or SLOTS)  # one slot is the session on screen, never measured
    return asyncio.run(
        _bench(
            options.n or DEFAULT_N,
            hog=options.hog,
            slots=slots,
            ordinary_broker=options.ordinary_broker,
        )
    )


def bench_fleet(options: BenchOptions) -> dict[str, Any]:
    """``stop-latency-fleet``: 20 simulated treadmills in one process, stops at random moments.

    Unlike ``stop-latency`` the stops are not serialised and nothing renders: all twenty sessions
    start together and each is stopped at its own random moment, so stops overlap.
    """
    return asyncio.run(_fleet(options.n or DEFAULT_N, size=FLEET_SIZE))


async def _fleet(n: int, *, size: int) -> dict[str, Any]:
    async with _rig(size, screen=False, mqtt=False) as rig:
        samples = _Samples(n, [])

        async def one(slot: _Slot) -> None:
            controller = rig.controller(slot)
            async with asyncio.TaskGroup() as tg:
                session = tg.create_task(controller.run())
                await rig.until_running(controller, slot)
                await asyncio.sleep(random.uniform(0.0, 2 * _RANDOM_WAIT_S))
                stamp = _arm(slot.treadmill.address)
                start = time.perf_counter()
                controller.request_stop(StopReason.KEY, "benchmark")
                try:
                    async with asyncio.timeout(STOP_WRITE_TIMEOUT_S):
                        samples.taken.append(await stamp - start)
                except TimeoutError:
                    samples.missed += 1
                await session

        while not samples.done:
            async with asyncio.TaskGroup() as tg:
                for slot in rig.slots:
                    tg.create_task(one(slot))
    samples.taken = samples.taken[:n]
    return {"treadmills": size, **samples.summary()}
