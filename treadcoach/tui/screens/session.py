"""The session screen: what the user reads from the belt, one glance at a time."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Label, ProgressBar, Static

from treadcoach.tui.present import SessionView
from treadcoach.tui.settings import TuiSettings
from treadcoach.tui.widgets.countdown import Countdown

__all__ = ["TONES", "SessionScreen", "key_hints"]

TONES = ("forward", "backward", "turnaround", "stopped", "paused", "idle")

# Terminals at least this tall get the roomier layout.
TALL_ROWS = 40
# Narrower terminals get the short footer (no mute, "Q quit"): an 80-column terminal still shows
# the link and the elapsed time beside the stop and dizzy keys.
NARROW_COLUMNS = 90


def key_hints(
    settings: TuiSettings,
    *,
    paused: bool = False,
    no_control: bool = False,
    leaving: bool = False,
    narrow: bool = False,
) -> Text:
    """The footer's keys, as they work right now (``narrow``: without mute and ctrl+q, so the
    link state and the elapsed time still fit beside them)."""
    text = Text.assemble((f" {settings.stop_key.upper()} ", "bold reverse"), " stop  ")
    dizzy = settings.active_dizzy_key
    if dizzy is not None:
        text.append_text(Text.assemble((dizzy.upper(), "bold"), " dizzy  "))
    if no_control:
        text.append_text(Text.assemble(("C", "bold yellow"), " take control  "))
    text.append_text(
        Text.assemble(
            (settings.pause_key.upper(), "bold"),
            " resume  " if paused else " pause  ",
            ("" if narrow else settings.mute_key.upper(), "bold"),
            "" if narrow else " mute  ",
            ("Q", "bold"),
            "" if narrow else "/",
            ("" if narrow else "ctrl+q", "bold"),
            " leave now" if leaving else " quit",
        )
    )
    return text


class SessionScreen(Screen[None]):
    """Renders a :class:`SessionView`; the app calls :meth:`show` (it owns the session)."""

    DEFAULT_CSS = """
    SessionScreen {
        layout: vertical;
        background: $background;
        overflow: hidden;  /* never a scrollbar: everything must be on screen at once */
    }
    SessionScreen #banner {
        height: 3;
        width: 100%;
        content-align: center middle;
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    SessionScreen.-tall #banner { height: 7; }
    SessionScreen.-forward #banner { background: #1b5e20; color: #ffffff; }
    SessionScreen.-backward #banner { background: #0d47a1; color: #ffffff; }
    SessionScreen.-turnaround #banner { background: #ffd600; color: #000000; }
    SessionScreen.-stopped #banner { background: #b71c1c; color: #ffffff; }
    SessionScreen.-paused #banner { background: #e65100; color: #ffffff; }
    SessionScreen #countdown { color: $foreground; padding: 0 1; }
    SessionScreen.-forward #countdown { color: #66bb6a; }
    SessionScreen.-backward #countdown { color: #64b5f6; }
    SessionScreen.-turnaround #countdown { color: #ffd600; }
    SessionScreen.-stopped #countdown { color: #ef5350; }
    SessionScreen.-paused #countdown { color: #ffa726; }
    SessionScreen #countdown-label {
        width: 1fr;
        height: 1;
        content-align: center middle;
        color: $text-muted;
    }
    SessionScreen #readouts { height: 2; margin: 0 1; }
    SessionScreen.-tall #readouts { height: 4; margin: 1 2; }
    SessionScreen .readout {
        width: 1fr;
        height: 100%;
        content-align: center middle;
    }
    /* the pulse with its zone ("128 · zone 115-130 ↑") or the strap's trouble needs the room;
       no heart rate at all (no strap, the belt reports none): not shown */
    SessionScreen #heart { width: 2fr; }
    SessionScreen.-no-heart #heart { display: none; }
    SessionScreen.-hr-alert #heart { color: #ffd600; }
    SessionScreen #next, SessionScreen #cue {
        height: 1;
        width: 1fr;
        padding: 0 1;
    }
    /* form cues are sentences, ending with the safety one ("Stop immediately if dizzy or
       strained"): never cut, so as tall as they wrap; the countdown gives up the rows */
    SessionScreen #cue { height: auto; min-height: 2; }
    SessionScreen.-tall #next { height: 2; padding: 0 2; }
    SessionScreen.-tall #cue { padding: 0 2; }
    SessionScreen #cue { text-style: bold; color: $warning; }
    SessionScreen #progress-row { height: 1; padding: 0 1; }
    SessionScreen.-tall #progress-row { padding: 0 2; }
    SessionScreen #progress { width: 1fr; }
    SessionScreen #progress Bar { width: 1fr; }
    SessionScreen #segment-of { width: auto; padding: 0 0 0 1; color: $text-muted; }
    SessionScreen #plan { width: auto; max-width: 40%; padding: 0 1 0 0; color: $text-muted; }
    SessionScreen #status {
        dock: bottom;
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    SessionScreen #status-left { width: 1fr; }
    SessionScreen #not-saved { width: auto; display: none; background: #ffd600; color: #000000; }
    SessionScreen.-not-saved #not-saved { display: block; }
    SessionScreen #status-keys { width: auto; }
    """

    def __init__(self, settings: TuiSettings) -> None:
        super().__init__()
        self._settings = settings
        self._view: SessionView | None = None
        self._muted = False
        self._narrow = False

    def compose(self) -> ComposeResult:
        yield Static("", id="banner")
        yield Countdown("", id="countdown")
        yield Label("", id="countdown-label")
        with Horizontal(id="readouts"):
            yield Static("", id="target", classes="readout")
            yield Static("", id="actual", classes="readout")
            yield Static("", id="distance", classes="readout")
            yield Static("", id="heart", classes="readout")
        yield Static("", id="next")
        with Horizontal(id="progress-row"):
            yield Label("", id="plan")
            yield ProgressBar(total=100, show_eta=False, show_percentage=True, id="progress")
            yield Label("", id="segment-of")
        yield Static("", id="cue")
        with Horizontal(id="status"):
            yield Static("", id="status-left")
            yield Static(Text(" NOT SAVED ", "bold"), id="not-saved")
            yield Static(key_hints(self._settings), id="status-keys")

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.height >= TALL_ROWS, "-tall")
        narrow = event.size.width < NARROW_COLUMNS
        if narrow != self._narrow:
            self._narrow = narrow
            self._show_keys()

    def _show_keys(self) -> None:
        view = self._view
        keys = key_hints(
            self._settings,
            paused=view is not None and view.paused,
            no_control=view is not None and view.no_control,
            leaving=view is not None and view.leaving,
            narrow=self._narrow,
        )
        self.query_one("#status-keys", Static).update(keys)

    @property
    def view(self) -> SessionView | None:
        """The view shown last (tests and the app read it)."""
        return self._view

    def show(self, view: SessionView, *, muted: bool) -> None:
        """Repaint only what changed since the last view (an idle screen must cost ~nothing)."""
        old, self._view = self._view, view
        muted_changed, self._muted = muted != self._muted, muted

        def changed(*fields: str) -> bool:
            return old is None or any(getattr(old, f) != getattr(view, f) for f in fields)

        if changed("tone"):
            for tone in TONES:
                self.set_class(tone == view.tone, f"-{tone}")
        # Fixed-size widgets repaint without a layout pass (layout=False).
        if changed("banner"):
            self.query_one("#banner", Static).update(Text(view.banner), layout=False)
        if changed("countdown"):
            self.query_one(Countdown).update(view.countdown)
        if changed("countdown_label"):
            self.query_one("#countdown-label", Label).update(
                Text(view.countdown_label), layout=False
            )
        if changed("target"):
            self._readout("#target", "TARGET", view.target)
        if changed("actual"):
            self._readout("#actual", "BELT", view.actual)
        if changed("distance"):
            self._readout("#distance", "DISTANCE", view.distance)
        if changed("heart_rate", "heart_alert"):
            self.set_class(not view.heart_rate, "-no-heart")
            self.set_class(view.heart_alert, "-hr-alert")
            self._readout("#heart", "HEART", view.heart_rate)
        if changed("next_up"):
            next_text = Text.assemble(("NEXT  ", "dim"), (view.next_up or "—", "bold"))
            self.query_one("#next", Static).update(next_text, layout=False)
        if changed("progress_pct"):
            self.query_one(ProgressBar).update(progress=view.progress_pct)
        # these two are sized to their text, so they keep the layout pass
        if changed("segment_of"):
            self.query_one("#segment-of", Label).update(Text(view.segment_of))
        if changed("plan"):
            self.query_one("#plan", Label).update(Text(view.plan))
        if changed("cue"):
            # sized to its text (it wraps), so it keeps the layout pass
            self.query_one("#cue", Static).update(Text(view.cue))
        if changed("paused", "no_control", "leaving"):
            self._show_keys()
        if changed("not_saved"):
            self.set_class(view.not_saved, "-not-saved")
        if muted_changed or changed("link", "link_ok", "elapsed"):
            self.query_one("#status-left", Static).update(self._status(view, muted), layout=False)

    def _readout(self, selector: str, label: str, value: str) -> None:
        text = Text.assemble((label, "dim"), "\n", (value, "bold"))
        text.justify = "center"
        self.query_one(selector, Static).update(text, layout=False)

    def _status(self, view: SessionView, muted: bool) -> Text:
        link_style = "bold green" if view.link_ok else "bold red"
        text = Text.assemble(
            ("● ", link_style),
            (view.link, link_style),
            "  ",
            (view.elapsed, "bold"),
            " elapsed",
        )
        if muted:
            text.append("  MUTED", "bold yellow")
        return text
