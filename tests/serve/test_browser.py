"""``treadcoach serve`` in a real browser: headless Debian Chromium driven by selenium.

The whole path a tablet takes: the page from the web server, xterm.js, the websocket, a view
process started by textual-serve, the channel, the session, the simulated treadmill -- and the
stop checked where it matters, at the simulator (``08 01`` written, belt target 0).

Skips (with the reason) when Chromium, its driver or selenium is missing; the test command should
install ``chromium chromium-driver`` (apt) so CI runs them.

What the screen shows is read from the bytes the page received over its websocket (a hook
installed before the page's own scripts): xterm.js draws on a canvas, with no text in the DOM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN, Served, served_session

from treadcoach.coach.state import Phase
from treadcoach.serve.bench import BROWSER_FLAGS, browser_stop_click_latency
from treadcoach.serve.web import ViewServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the dev extra installs it
    webdriver = None  # type: ignore[assignment]

_MISSING = CHROMIUM is None or DRIVER is None or webdriver is None
_WHY = "needs Debian's chromium + chromium-driver (apt) and selenium (pip, dev extra)"
if _MISSING and os.environ.get("TREADCOACH_REQUIRE_BROWSER"):
    # scripts/test installs them and sets this: there a missing browser is a failure, not a skip
    raise RuntimeError(f"the browser tests {_WHY}")

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(_MISSING, reason=_WHY),
]

# Screenshots go to pytest's tmp dir; TREADCOACH_SCREENS_DIR=docs/screens regenerates the docs' ones.
SCREENS_ENV = "TREADCOACH_SCREENS_DIR"
TABLET = (1280, 800)
PHONE = (390, 844)

# Installed before the page's scripts: keeps the websocket URL and every byte it receives.
_HOOK = """
window.__tc = {url: null, chunks: []};
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = protocols ? new Native(url, protocols) : new Native(url);
  window.__tc.url = url;
  window.__tc.socket = socket;
  socket.addEventListener("message", (e) => {
    if (typeof e.data !== "string") {
      window.__tc.chunks.push(new TextDecoder().decode(e.data, {stream: true}));
    }
  });
  return socket;
};
window.WebSocket.prototype = Native.prototype;
"""
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")


@dataclass
class Page:
    driver: Any
    served: Served

    def text(self) -> str:
        """Everything the page received, escape codes stripped (what xterm.js drew, in order)."""
        chunks = self.driver.execute_script("return window.__tc.chunks.join('')")
        return _ANSI.sub("", chunks)

    def rows(self) -> int:
        url = self.driver.execute_script("return window.__tc.url + ''")
        sizes = self.driver.execute_script("const s = window.__tc.socket; return s ? s.url : null")
        match = re.search(r"height=(\d+)", sizes or url or "")
        assert match, f"no terminal size in {sizes or url!r}"
        return int(match.group(1))

    def click_at(self, x_fraction: float, y_fraction: float) -> None:
        screen = self.driver.find_element(By.CSS_SELECTOR, ".xterm-screen")
        width, height = screen.size["width"], screen.size["height"]
        ActionChains(self.driver).move_to_element_with_offset(
            screen, int(width * (x_fraction - 0.5)), int(height * (y_fraction - 0.5))
        ).click().perform()

    def click_stop(self) -> None:
        width = self.driver.execute_script("return window.innerWidth")
        if width >= 900:  # the tablet layout: controls in the right 40 %, stop above the buttons
            self.click_at(0.8, 0.35)
        else:  # the phone layout: stop (9 rows) above the buttons (5) and the status line (1)
            rows = self.rows()
            self.click_at(0.5, (rows - 11) / rows)

    def click_pause(self) -> None:
        rows = self.rows()
        width = self.driver.execute_script("return window.innerWidth")
        x = 0.7 if width >= 900 else 0.25  # the left of the two buttons under stop
        self.click_at(x, (rows - 3.5) / rows)

    def press_space(self) -> None:
        # xterm.js reads keys from its hidden textarea (a tap on the page focuses it)
        self.driver.execute_script("document.querySelector('.xterm-helper-textarea').focus()")
        ActionChains(self.driver).send_keys(" ").perform()


async def _until(what: str, condition: Callable[[], Any], timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while not await asyncio.to_thread(condition):  # noqa: ASYNC110 -- a browser has no event to await
            await asyncio.sleep(0.1)
    del what


def _driver(size: tuple[int, int]) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='tc-chromium-')}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    service = webdriver.ChromeService(executable_path=DRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _HOOK})
    # --window-size includes no browser chrome in headless mode, but set the viewport exactly
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


@contextlib.asynccontextmanager
async def _browser(size: tuple[int, int], token: str | None) -> AsyncIterator[Page]:
    async with served_session() as served:
        view = [sys.executable, "-m", "treadcoach.serve.view", "--socket", str(served.path)]
        server = ViewServer(shlex.join(view), host="127.0.0.1", port=0)
        await server.start()
        os.environ.setdefault("PYTHONPATH", os.getcwd())
        driver = await asyncio.to_thread(_driver, size)
        try:
            query = "" if token is None else f"?token={token}"
            url = f"http://127.0.0.1:{server.bound_port}/{query}"
            await asyncio.to_thread(driver.get, url)
            page = Page(driver, served)
            await served.wait_moving()
            await _until("the session screen", lambda: "stop" in page.text().lower())
            yield page
        finally:
            await asyncio.to_thread(driver.quit)
            await server.stop()


async def _stopped(served: Served) -> None:
    async with asyncio.timeout(30):
        await served.session
    assert served.stops_written() >= 1
    assert served.treadmill.server.target_speed_kmh == 0.0


@pytest.mark.parametrize(("size", "name"), [(TABLET, "tablet"), (PHONE, "phone")])
async def test_the_page_shows_the_countdown_and_its_stop_button_stops_the_belt(
    size: tuple[int, int], name: str, tmp_path: Path
) -> None:
    screens = Path(os.environ.get(SCREENS_ENV) or tmp_path)
    async with _browser(size, TOKEN) as page:
        await _until("the countdown label", lambda: "left" in page.text())
        text = page.text()
        assert "WARM-UP" in text
        assert "█" in text  # the big countdown's glyphs
        assert "controls unlocked" in text
        await asyncio.to_thread(screens.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(page.driver.save_screenshot, str(screens / f"serve-{name}.png"))
        await asyncio.to_thread(page.click_stop)
        await _stopped(page.served)
        await _until("the stop on screen", lambda: "STOPPED" in page.text())


async def test_the_space_key_in_the_page_stops_the_belt() -> None:
    async with _browser(TABLET, None) as page:
        await asyncio.to_thread(page.press_space)
        await _stopped(page.served)
    assert not [w for w in page.served.treadmill.writes if w.data == b"\x08\x02"]


async def test_a_wrong_token_is_refused_for_pause_in_the_page_and_stop_still_works() -> None:
    async with _browser(TABLET, "wrong-token") as page:
        await _until("the locked status", lambda: "stop only (no valid token)" in page.text())
        await asyncio.to_thread(page.click_pause)
        await _until("the refusal", lambda: "refused: needs the token" in page.text())
        assert page.served.controller.state.phase is Phase.RUNNING
        assert page.served.treadmill.belt_speed_kmh > 0.5
        await asyncio.to_thread(page.click_stop)
        await _stopped(page.served)


async def test_the_browser_click_benchmark_measures_every_click_at_the_simulator() -> None:
    result = await browser_stop_click_latency(2)
    assert result["path"] == "browser"
    assert result["n"] == 2
