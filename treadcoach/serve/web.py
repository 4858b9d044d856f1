"""The web side: textual-serve's server, in the session's own loop, with the token as a cookie.

textual-serve 1.1.3 (read before writing this) is an aiohttp app: ``/`` renders a page running
xterm.js, which opens ``/ws``; each websocket starts the app *command* in a new process
(``AppService``) and pipes the terminal between the two. Its ``serve()`` owns the event loop, so
we build its aiohttp app (``_make_app``, pinned version) and run it on our loop with an
``AppRunner`` beside the session, and override three things:

- ``/`` with ``?token=T`` stores ``T`` in an HttpOnly, SameSite=Strict cookie and redirects to
  ``/`` (the token does not linger in the address bar or a screenshot). The page's own URLs are
  built from the request's Host, so a tablet reaching us as ``http://192.168.1.5:8080`` gets
  websocket URLs it can reach (textual-serve would use the bind address, ``0.0.0.0``).
- ``/ws`` refuses a cross-site Origin (another web page must not start views on this machine)
  and more than ``MAX_VIEWS`` views at once (each is a process), and hands the cookie's token to
  the view process in its environment. The view passes it to the channel, which alone decides
  (:mod:`treadcoach.serve.channel`); this layer grants nothing.
- the start-up banner is ours (the serve command prints the URL and QR code).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from treadcoach.errors import ServeError
from treadcoach.serve.view import TOKEN_ENV

__all__ = ["COOKIE", "FONT_SIZE", "MAX_VIEWS", "ViewServer"]

log = logging.getLogger(__name__)

COOKIE = "treadcoach_token"
MAX_VIEWS = 6  # browsers at once: each is a Python process of its own (~60 MB)
FONT_SIZE = 16  # textual-serve's default; ?fontsize=N on the page changes it per device
SHUTDOWN_S = 3.0  # how long leaving waits for the views to quit
VIEW_QUIT_S = 2.0  # how long a view process may take to quit before it is killed


class _ViewService(AppService):
    """One view process, told the browser's token through its environment (never its argv)."""

    def __init__(self, command: str, *, token: str, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self._token = token

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment[TOKEN_ENV] = self._token
        return environment

    async def stop(self) -> None:
        # textual-serve asks the app to quit and reads its output to the end, but never reaps the
        # process: wait for it (kill it if it hangs) so no view outlives its browser.
        await super().stop()
        process = self._process
        if process is None or process.returncode is not None:
            return
        try:
            async with asyncio.timeout(VIEW_QUIT_S):
                await process.wait()
        except TimeoutError:
            log.warning("view process %d did not quit: killing it", process.pid)
            process.kill()
            await process.wait()


class ViewServer(Server):
    def __init__(self, command: str, *, host: str, port: int, title: str = "treadcoach") -> None:
        super().__init__(command, host=host, port=port, title=title)
        self._views = 0
        self._runner: web.AppRunner | None = None

    @property
    def views(self) -> int:
        return self._views

    @property
    def bound_port(self) -> int:
        """The port really listened on (``port=0`` picks a free one: tests)."""
        assert self._runner is not None, "not started"
        for address in self._runner.addresses:
            if isinstance(address, tuple):
                return int(address[1])
        raise ServeError("the web server is not listening on TCP")

    async def start(self) -> None:
        """Listen; a port in use or an address we do not have is a one-line :class:`ServeError`."""
        runner = web.AppRunner(
            await self._make_app(), handle_signals=False, shutdown_timeout=SHUTDOWN_S
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ServeError(
                f"cannot serve on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def on_startup(self, app: web.Application) -> None:
        pass  # no textual-serve logo: the serve command prints what the user needs

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token is not None:
            query = {k: v for k, v in request.query.items() if k != "token"}
            found = web.HTTPFound(request.rel_url.with_query(query).path_qs)
            found.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            raise found
        base = f"http://{request.host}"
        context = {
            "font_size": to_int(request.query.get("fontsize", str(FONT_SIZE)), FONT_SIZE),
            "app_websocket_url": f"ws://{request.host}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            log.warning("refused a view from another site (Origin %s)", origin)
            raise web.HTTPForbidden(text="cross-site view refused")
        if self._views >= MAX_VIEWS:
            raise web.HTTPServiceUnavailable(text=f"at most {MAX_VIEWS} views at once")
        self._views += 1
        try:
            return await self._serve_view(request, request.cookies.get(COOKIE, ""))
        finally:
            self._views -= 1

    async def _serve_view(self, request: web.Request, token: str) -> web.WebSocketResponse:
        # textual-serve's handle_websocket, with our AppService (same messages, same shutdown).
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        service: _ViewService | None = None
        try:
            await websocket.prepare(request)
            service = _ViewService(
                self.command,
                token=token,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
            raise
        except Exception:
            log.exception("a view failed")
        finally:
            if service is not None:
                await service.stop()
        return websocket
