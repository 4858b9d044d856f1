"""The served view: one Textual app per browser connection, a window onto the one session.

textual-serve runs ``python -m treadcoach.serve.view --socket PATH`` for every browser that opens
the page; the app connects to the session's channel (:mod:`treadcoach.serve.channel`) and shows
the session screen, sized for a 10" tablet in landscape or a phone in portrait, read at arm's
length from the belt: the segment banner, the big countdown, belt and target speed, the heart rate
(with the zone, or what is wrong with the strap), the cue, and a
**large STOP button** (the stop fires on touch-down, not on release: a finger that slides off still
stops), a DIZZY button (the dizzy stop: the same stop, recorded as dizzy; also on touch-down),
pause/resume and mute. Space is stop and D the dizzy stop, as in the terminal app; P pauses, M
mutes.

The view holds no authority: the channel checks the token (from the page's cookie, handed to this
process in ``TREADCOACH_VIEW_TOKEN`` by the web server) for everything but stop. If the channel
goes away the view says so in red -- its stop button cannot reach the belt then -- and reconnects.

What the screen shows comes from :func:`treadcoach.tui.present.present`, the terminal app's own
presenter (one owner of the words), and its :class:`~treadcoach.tui.widgets.countdown.Countdown`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from rich.align import Align
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, RenderResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.renderables.digits import DIGITS
from textual.widgets import Button, Label, Static

from treadcoach.coach.state import Phase, SessionState
from treadcoach.errors import ServeError
from treadcoach.serve.client import ChannelClient
from treadcoach.serve.protocol import (
    Command,
    EventUpdate,
    Result,
    ServerMessage,
    StateUpdate,
    Welcome,
)
from treadcoach.tui.present import SessionView, present
from treadcoach.tui.screens.session import TONES
from treadcoach.tui.settings import Units
from treadcoach.tui.widgets.countdown import Countdown, GlyphScale, fit_scale, scaled_lines

__all__ = [
    "RECONNECT_S",
    "TOKEN_ENV",
    "DizzyButton",
    "PhoneCountdown",
    "StopButton",
    "ViewApp",
    "main",
]

TOKEN_ENV = "TREADCOACH_VIEW_TOKEN"
RECONNECT_S = 1.0
# At least this many columns: the controls go beside the session instead of under it.
WIDE_COLUMNS = 100

_LOST = "NOT CONNECTED TO THE SESSION — this STOP cannot reach the belt: stop at the computer"


class PhoneCountdown(Countdown):
    """The TUI's countdown, plus narrow glyphs for a phone in portrait (~43 columns).

    The TUI's smallest scaled glyphs need 12 columns a digit, 60 for "09:56": a phone would fall
    back to 3-row digits. Here, below that, digits two columns a stroke-cell wide and three rows
    tall (30 columns, 9 rows for "09:56") keep the seconds readable at arm's length.
    """

    def render(self) -> RenderResult:
        size = self.content_size
        if fit_scale(self.value, size.width, size.height) is None:
            scale = _narrow_scale(self.value, size.width, size.height)
            if scale is not None:
                body = Text("\n".join(scaled_lines(self.value, scale)), no_wrap=True)
                style = self.rich_style + Style(bold=True)
                return Align(body, "center", style, vertical="middle", height=size.height)
        return super().render()


def _narrow_scale(value: str, width: int, height: int) -> GlyphScale | None:
    if not value or any(ch not in DIGITS or ch in "^x" for ch in value):
        return None
    cell_w = min(3, width // (3 * len(value)))
    cell_h = min(cell_w + 1, height // 3)
    if cell_w < 2 or cell_h < 2:
        return None
    return GlyphScale(cell_w=cell_w, cell_h=cell_h, stroke_w=1 if cell_w == 2 else 2, stroke_h=1)


class StopButton(Button):
    """Stops on mouse/touch *down*: the quickest moment, and it works if the finger slides off."""

    #: what it sends (the dizzy button sends the dizzy stop)
    command = Command.STOP

    def on_mouse_down(self, event: events.MouseDown) -> None:
        event.stop()
        app = self.app
        assert isinstance(app, ViewApp)
        app.send_stop(self.command)


class DizzyButton(StopButton):
    command = Command.STOP_DIZZY


class ViewApp(App[None]):
    TITLE = "treadcoach"
    CSS = """
    Screen { layout: vertical; overflow: hidden; }
    #main { layout: vertical; height: 1fr; }
    Screen.-wide #main { layout: horizontal; }
    #session { height: 1fr; width: 1fr; }
    #controls { height: auto; width: 100%; }
    Screen.-wide #controls { width: 40%; height: 100%; }
    #banner {
        height: 3; width: 100%; content-align: center middle; text-style: bold;
        background: $panel;
    }
    Screen.-forward #banner { background: #1b5e20; color: #ffffff; }
    Screen.-backward #banner { background: #0d47a1; color: #ffffff; }
    Screen.-turnaround #banner { background: #ffd600; color: #000000; }
    Screen.-stopped #banner { background: #b71c1c; color: #ffffff; }
    Screen.-paused #banner { background: #e65100; color: #ffffff; }
    #countdown { height: 1fr; min-height: 3; padding: 0 1; }
    Screen.-forward #countdown { color: #66bb6a; }
    Screen.-backward #countdown { color: #64b5f6; }
    Screen.-turnaround #countdown { color: #ffd600; }
    Screen.-stopped #countdown { color: #ef5350; }
    Screen.-paused #countdown { color: #ffa726; }
    #countdown-label { width: 100%; height: 1; content-align: center middle; color: $text-muted; }
    #readouts { height: 3; }
    .readout { width: 1fr; height: 3; content-align: center middle; }
    /* the pulse with its zone, or the strap's trouble (as in the terminal app); none: hidden */
    #heart { height: 1; width: 100%; content-align: center middle; }
    Screen.-no-heart #heart { display: none; }
    Screen.-hr-alert #heart { color: #ffd600; }
    #cue { height: 2; width: 100%; content-align: center middle; color: $text; }
    #lost { height: auto; width: 100%; background: #b71c1c; color: #ffffff; text-style: bold;
            padding: 0 1; display: none; }
    Screen.-lost #lost { display: block; }
    #stop {
        width: 100%; height: 9; min-height: 5; background: #c62828; color: #ffffff;
        text-style: bold; border: tall #ff8a80;
    }
    Screen.-wide #stop { height: 1fr; }
    #stop:hover, #stop:focus { background: #d32f2f; }
    #buttons { height: 5; }
    #buttons Button { width: 1fr; min-width: 8; height: 5; text-style: bold; }
    #buttons #dizzy { background: #b71c1c; color: #ffffff; }
    #status { height: 1; width: 100%; color: $text-muted; }
    """

    BINDINGS = [
        # priority: a focused button must not turn space into "press the pause button"
        Binding("space", "stop", "stop", priority=True),
        Binding("d", "stop_dizzy", "dizzy stop", priority=True),
        Binding("p", "pause", "pause / resume"),
        Binding("m", "mute", "mute"),
    ]

    def __init__(
        self, socket: Path, token: str = "", units: Units = "kmh", reconnect_s: float = RECONNECT_S
    ) -> None:
        super().__init__()
        self._reconnect_s = reconnect_s
        self._socket = socket
        self._token = token
        self._units = units
        self._client: ChannelClient | None = None
        self.view_number: int | None = None
        self.authorised = False
        self.muted = False
        self.session_state: SessionState | None = None
        self.shown: SessionView | None = None
        self.last_result: Result | None = None
        #: set whenever a message from the session was applied (tests wait on it)
        self.updated = asyncio.Event()

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="session"):
                yield Static("CONNECTING…", id="banner")
                yield PhoneCountdown("", id="countdown")
                yield Label("", id="countdown-label")
                with Horizontal(id="readouts"):
                    yield Static("", id="target", classes="readout")
                    yield Static("", id="actual", classes="readout")
                    yield Static("", id="segment-of", classes="readout")
                # its own line: beside three readouts a phone in portrait has no room for it
                yield Static("", id="heart")
                yield Static("", id="cue")
            with Vertical(id="controls"):
                yield Static(_LOST, id="lost")
                yield StopButton("STOP  (space)", id="stop")
                with Horizontal(id="buttons"):
                    yield Button("PAUSE", id="pause")
                    yield Button("MUTE", id="mute")
                    # last: a slip of the finger from mute lands on a stop, never the reverse
                    yield DizzyButton("DIZZY (d)", id="dizzy")
        yield Static("", id="status")

    def on_mount(self) -> None:
        self.screen.set_class(True, "-lost")
        # The worker belongs to the app: it ends when the app does.
        self.run_worker(self._follow(), exclusive=True, name="channel")

    def on_resize(self, event: events.Resize) -> None:
        self.screen.set_class(event.size.width >= WIDE_COLUMNS, "-wide")

    # --- the channel ---------------------------------------------------------------------------

    async def _follow(self) -> None:
        while True:
            try:
                client = await ChannelClient.connect(self._socket, self._token)
            except ServeError as exc:
                self._set_lost(True, str(exc))
                await asyncio.sleep(self._reconnect_s)
                continue
            self._client = client
            try:
                async for message in client.messages():
                    self._apply(message)
            finally:
                self._client = None
                await client.aclose()
            self._set_lost(True, "the session closed the connection")
            await asyncio.sleep(self._reconnect_s)

    def _set_lost(self, lost: bool, detail: str = "") -> None:
        self.screen.set_class(lost, "-lost")
        if lost:
            self.query_one("#status", Static).update(Text(detail))
        self.updated.set()

    def _apply(self, message: ServerMessage) -> None:
        if isinstance(message, Welcome):
            self.view_number = message.view
            self.authorised = message.authorised
            self._set_lost(False)
            self._status()
        elif isinstance(message, StateUpdate):
            self.session_state = message.state
            self.muted = message.muted
            self._show(present(message.state, self._units))
            self._status(views=message.views)
        elif isinstance(message, Result):
            self.last_result = message
            if not message.ok:
                self.notify(f"{message.command or 'message'} refused: {message.detail}")
        elif isinstance(message, EventUpdate):
            pass  # the state that follows at once carries what the screen shows
        self.updated.set()

    def _show(self, view: SessionView) -> None:
        old, self.shown = self.shown, view
        if old is None or old.tone != view.tone:
            for tone in TONES:
                self.screen.set_class(tone == view.tone, f"-{tone}")
        self.query_one("#banner", Static).update(Text(view.banner))
        self.query_one(Countdown).update(view.countdown)
        self.query_one("#countdown-label", Label).update(Text(view.countdown_label))
        self._readout("#target", "TARGET", view.target)
        self._readout("#actual", "BELT", view.actual)
        self._readout("#segment-of", view.plan, view.segment_of or view.elapsed)
        self.screen.set_class(not view.heart_rate, "-no-heart")
        self.screen.set_class(view.heart_alert, "-hr-alert")
        heart = Text.assemble(("HEART  ", "dim"), (view.heart_rate, "bold"))
        self.query_one("#heart", Static).update(heart)
        self.query_one("#cue", Static).update(Text(view.cue))
        paused = self.session_state is not None and self.session_state.phase is Phase.PAUSED
        self.query_one("#pause", Button).label = "RESUME" if paused else "PAUSE"
        self.query_one("#mute", Button).label = "UNMUTE" if self.muted else "MUTE"

    def _readout(self, selector: str, label: str, value: str) -> None:
        text = Text.assemble((label, "dim"), "\n", (value, "bold"))
        text.justify = "center"
        self.query_one(selector, Static).update(text)

    def _status(self, views: int | None = None) -> None:
        access = "controls unlocked" if self.authorised else "stop only (no valid token)"
        parts = [f"view {self.view_number}", access]
        if views is not None:
            parts.append(f"{views} view{'s' if views != 1 else ''} connected")
        if self.muted:
            parts.append("MUTED")
        self.query_one("#status", Static).update(Text(" · ".join(parts)))

    # --- input ---------------------------------------------------------------------------------

    def _send(self, command: Command) -> bool:
        client = self._client
        if client is None or not client.send(command):
            self.notify(_LOST, severity="error")
            return False
        return True

    def action_stop(self) -> None:
        self._send(Command.STOP)

    def action_stop_dizzy(self) -> None:
        self._send(Command.STOP_DIZZY)

    def send_stop(self, command: Command) -> None:
        """A stop button's touch-down: the stop it names."""
        self._send(command)

    def action_pause(self) -> None:
        phase = self.session_state.phase if self.session_state else None
        self._send(Command.RESUME if phase is Phase.PAUSED else Command.PAUSE)

    def action_mute(self) -> None:
        self._send(Command.UNMUTE if self.muted else Command.MUTE)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if isinstance(event.button, StopButton):
            # already sent on mouse-down; a second stop only adds detail
            self.send_stop(event.button.command)
        elif event.button.id == "pause":
            self.action_pause()
        elif event.button.id == "mute":
            self.action_mute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="treadcoach-view")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--units", choices=("kmh", "mph"), default="kmh")
    parser.add_argument("--reconnect-s", type=float, default=RECONNECT_S, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    units: Units = "mph" if args.units == "mph" else "kmh"
    token = os.environ.get(TOKEN_ENV, "")
    ViewApp(args.socket, token=token, units=units, reconnect_s=args.reconnect_s).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
