"""Measurements of ``treadcoach serve`` (the lead wires them into ``treadcoach bench``).

:func:`stop_click_latency`: from a click on the view's STOP button to ``08 01`` arriving at the
simulated treadmill, one fresh session per sample. The view app runs under Textual's Pilot in
this process; the touch is a MouseDown posted on the app's message queue as textual-serve's web
driver posts it, and the time runs from that post to the simulator recording the Stop write (a
``write_observers`` hook): the app's queue, the screen's hit test, the button's handler, the
channel's socket (a real Unix socket), the channel's read and ``request_stop``, the link, bleak's
write and the simulator. It does
*not* cover the browser, xterm.js, the websocket and textual-serve's pipe into a separate view
process (the browser tests check that path works; 100 browser round trips would take minutes).

:func:`served_footprint`: CPU and memory of a served session (simulator, controller, channel and
the textual-serve web server, all in this process) with one view attached -- a real view process
started by textual-serve, its terminal output read by a websocket client in place of a browser.
CPU is from ``/proc`` (utime + stime) over the measured window, as a percentage of one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shlex
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from sim.treadmill import ControlPointWrite
from treadcoach.bench.stats import latency_summary
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, expand
from treadcoach.coach.state import Phase
from treadcoach.link import TreadmillLink
from treadcoach.safety.reasons import StopReason
from treadcoach.serve.channel import ViewChannel
from treadcoach.serve.view import ViewApp
from treadcoach.serve.web import ViewServer

__all__ = ["main", "served_footprint", "stop_click_latency"]

_PLAN = parse_plan(
    """
name = "bench"
title = "Bench"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 600
speed = 3.0
""",
    "bench.toml",
)
_STOP = b"\x08\x01"
_TABLET = (133, 42)
_WAIT_S = 20.0  # per step of a sample; far above a healthy run, so only a hang trips it


def _controller(treadmill: SimTreadmill) -> SessionController:
    return SessionController(
        lambda: TreadmillLink(
            treadmill.address, client_backend=SimBleakClient, scanner_backend=SimBleakScanner
        ),
        expand(_PLAN, Caps()),
        SessionConfig(plan_name="bench", simulated=True),
    )


@contextlib.asynccontextmanager
async def _session(
    path: Path, joined: asyncio.Event | None = None
) -> AsyncIterator[tuple[SimTreadmill, SessionController, ViewChannel]]:
    """A session on the simulator with its channel on ``path``; stopped and closed on exit."""
    async with SimTreadmill(name="bench-sim", notify_hz=10) as treadmill:
        controller = _controller(treadmill)
        channel = ViewChannel(
            controller,
            path,
            token="",
            on_view_joined=None if joined is None else (lambda _detail: joined.set()),
        )
        async with asyncio.TaskGroup() as tasks:
            session = tasks.create_task(controller.run())
            channel_task = tasks.create_task(channel.run())
            try:
                yield treadmill, controller, channel
            finally:
                controller.request_stop(StopReason.QUIT)
                async with asyncio.timeout(_WAIT_S):
                    await asyncio.wait([session])
                channel_task.cancel()


async def stop_click_latency(samples: int = 100, *, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tc-bench-") as folder:
        path = Path(folder) / "session.sock"
        app = ViewApp(path, reconnect_s=0.02)
        async with app.run_test(size=_TABLET) as pilot:
            for _ in range(samples):
                latencies.append(await _one_click(pilot, app, path, rng))
    return {"bench": "serve_stop_click", "path": "pilot", **latency_summary(latencies)}


async def _one_click(pilot: Pilot[None], app: ViewApp, path: Path, rng: random.Random) -> float:
    """One fresh session, the view reconnected to it, one click: seconds to ``08 01``."""
    async with _session(path) as (treadmill, controller, channel):
        watch = _StopWatch(treadmill)
        async with asyncio.timeout(_WAIT_S):
            while not (
                channel.view_count == 1
                and controller.state.phase is Phase.RUNNING
                and app.session_state is not None
                and app.session_state.phase is Phase.RUNNING
            ):
                app.updated.clear()
                await app.updated.wait()
        await pilot.pause()  # the screen settled after the reconnect
        # at a random moment in the telemetry cycle, as a walker would
        await asyncio.sleep(rng.uniform(0.0, 0.2))
        clicked_at = _touch(app, "#stop")
        stopped_at = await watch.wait()
        await pilot.pause()
    return stopped_at - clicked_at


class _StopWatch:
    """When the first ``08 01`` reached the simulated treadmill (``perf_counter``)."""

    def __init__(self, treadmill: SimTreadmill) -> None:
        self._reached = asyncio.Event()
        self._at: float | None = None
        treadmill.write_observers.append(self._observe)

    def _observe(self, write: ControlPointWrite) -> None:
        if write.data == _STOP and self._at is None:
            self._at = time.perf_counter()
            self._reached.set()

    async def wait(self) -> float:
        async with asyncio.timeout(_WAIT_S):
            await self._reached.wait()
        assert self._at is not None
        return self._at


async def _until_running(controller: SessionController) -> None:
    running = asyncio.Event()

    def check(_event: object = None) -> None:
        if controller.state.phase is Phase.RUNNING:
            running.set()

    remove = controller.add_listener(check)
    try:
        check()
        await running.wait()
    finally:
        remove()


def _touch(app: ViewApp, selector: str) -> float:
    """A touch-down on ``selector`` as the web driver delivers it: a MouseDown event on the app's
    message queue (``Pilot.click`` first waits for the CPU to go idle, ~20 ms, which a walker's
    finger does not), then the MouseUp. Returns when the MouseDown was posted."""
    region = app.query_one(selector).region
    x, y = region.x + region.width // 2, region.y + region.height // 2
    args: dict[str, Any] = {"widget": None, "x": x, "y": y, "delta_x": 0, "delta_y": 0}
    args |= {"button": 1, "shift": False, "meta": False, "ctrl": False}
    args |= {"screen_x": x, "screen_y": y}
    down, up = events.MouseDown(**args), events.MouseUp(**args)
    for event in (down, up):
        event.set_sender(app)
    posted = time.perf_counter()
    app.post_message(down)
    app.post_message(up)
    return posted


def _ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with (
                contextlib.suppress(OSError, IndexError, ValueError),
                open(f"/proc/{entry}/stat") as stat,
            ):
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


async def served_footprint(duration_s: float = 20.0, settle_s: float = 3.0) -> dict[str, Any]:
    import aiohttp

    with tempfile.TemporaryDirectory(prefix="tc-bench-") as folder:
        path = Path(folder) / "session.sock"
        joined = asyncio.Event()
        async with _session(path, joined) as (_, controller, _channel):
            view = [sys.executable, "-m", "treadcoach.serve.view", "--socket", str(path)]
            server = ViewServer(shlex.join(view), host="127.0.0.1", port=0)
            await server.start()
            received = 0
            try:
                async with aiohttp.ClientSession() as http:
                    url = f"http://127.0.0.1:{server.bound_port}/ws?width=133&height=42"
                    async with http.ws_connect(url) as socket:

                        async def read() -> None:
                            nonlocal received
                            async for message in socket:
                                if message.type == aiohttp.WSMsgType.BINARY:
                                    received += len(message.data)

                        async with asyncio.TaskGroup() as tasks:
                            reader = tasks.create_task(read())
                            async with asyncio.timeout(_WAIT_S):
                                await joined.wait()  # the view process has started
                            await asyncio.sleep(settle_s)
                            me, views = os.getpid(), _descendants(os.getpid())
                            ticks = {pid: _ticks(pid) for pid in (me, *views)}
                            bytes_before, started = received, time.monotonic()
                            await asyncio.sleep(duration_s)
                            elapsed = time.monotonic() - started
                            used = {pid: _ticks(pid) - t for pid, t in ticks.items()}
                            rss = {pid: _rss_mb(pid) for pid in ticks}
                            phase = controller.state.phase
                            reader.cancel()
            finally:
                await server.stop()
    hz = os.sysconf("SC_CLK_TCK")
    view_pids = [pid for pid in used if pid != me]
    return {
        "bench": "serve_footprint",
        "duration_s": round(elapsed, 1),
        "session_phase": phase.value,
        "session_cpu_pct": round(100 * used[me] / hz / elapsed, 1),
        "session_rss_mb": rss[me],
        "view_processes": len(view_pids),
        "view_cpu_pct": round(100 * sum(used[p] for p in view_pids) / hz / elapsed, 1),
        "view_rss_mb": round(sum(rss[p] for p in view_pids), 1),
        "terminal_kb_per_s": round((received - bytes_before) / 1024 / elapsed, 1),
    }


async def browser_stop_click_latency(samples: int = 30) -> dict[str, Any]:
    """The whole tablet path, in headless Chromium: a mouse press on STOP (CDP
    ``Input.dispatchMouseEvent``) to ``08 01`` at the simulator. The time includes the WebDriver
    round trip to Chromium (an upper bound), xterm.js, the websocket, textual-serve's pipe, the
    view process and the channel. One fresh session per sample; the page's view reconnects."""
    import shutil

    from selenium import webdriver

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        return {"bench": "serve_stop_click", "path": "browser", "skipped": "no chromium"}
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tc-bench-") as folder:
        path = Path(folder) / "session.sock"
        view = [sys.executable, "-m", "treadcoach.serve.view", "--socket", str(path)]
        server = ViewServer(shlex.join([*view, "--reconnect-s", "0.05"]), host="127.0.0.1", port=0)
        await server.start()
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in BROWSER_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={Path(folder) / 'chromium'}")
        options.add_argument("--window-size=1280,800")
        service = webdriver.ChromeService(executable_path=driver_path)
        driver = await asyncio.to_thread(webdriver.Chrome, options=options, service=service)
        try:
            await asyncio.to_thread(driver.get, f"http://127.0.0.1:{server.bound_port}/")
            rect = await asyncio.to_thread(
                driver.execute_script,
                "const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
                "return [r.left, r.top, r.width, r.height];",
            )
            x, y = rect[0] + rect[2] * 0.8, rect[1] + rect[3] * 0.35  # the tablet's STOP

            def press() -> float:
                event = {"x": x, "y": y, "button": "left", "clickCount": 1}
                pressed = time.perf_counter()
                driver.execute_cdp_cmd(
                    "Input.dispatchMouseEvent", {"type": "mousePressed", **event}
                )
                driver.execute_cdp_cmd(
                    "Input.dispatchMouseEvent", {"type": "mouseReleased", **event}
                )
                return pressed

            for _ in range(samples):
                joined = asyncio.Event()
                async with _session(path, joined) as (treadmill, controller, _channel):
                    watch = _StopWatch(treadmill)
                    async with asyncio.timeout(_WAIT_S):
                        await joined.wait()
                        await _until_running(controller)
                    await asyncio.sleep(0.3)  # the view has drawn this session
                    pressed = await asyncio.to_thread(press)
                    latencies.append(await watch.wait() - pressed)
        finally:
            await asyncio.to_thread(driver.quit)
            await server.stop()
    return {"bench": "serve_stop_click", "path": "browser", **latency_summary(latencies)}


# Headless Chromium on a build machine (no GPU, no sandbox in containers, nothing phoning home).
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def main(samples: int = 100, footprint_s: float = 20.0, browser_samples: int = 30) -> None:
    """Print one JSON line per measurement."""
    measures = [stop_click_latency(samples), served_footprint(footprint_s)]
    if browser_samples:
        measures.append(browser_stop_click_latency(browser_samples))
    for measure in measures:
        print(json.dumps(asyncio.run(measure)), flush=True)


if __name__ == "__main__":
    counts = [int(arg) for arg in sys.argv[1:3]]
    main(
        samples=counts[0] if counts else 100,
        browser_samples=counts[1] if len(counts) > 1 else 30,
    )
