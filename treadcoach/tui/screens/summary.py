"""After a session: planned against done, and whether it was saved."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Static

from treadcoach.coach.events import Summary
from treadcoach.tui.present import format_clock, format_distance, format_speed, stop_words
from treadcoach.tui.settings import TuiSettings
from treadcoach.tui.widgets.countdown import Countdown

__all__ = ["SummaryExtras", "SummaryScreen", "saved_words", "summary_rows", "summary_title"]

# Terminals at least this tall show the session's time in big digits too.
TALL_ROWS = 40


@dataclass(frozen=True, slots=True)
class SummaryExtras:
    """What the app knows beyond the ``Summary`` event (None: not known)."""

    planned_duration_s: float | None = None
    planned_distance_m: float | None = None
    heart_rate_avg_bpm: int | None = None
    heart_rate_max_bpm: int | None = None
    saved_as: int | None = None
    recorded: bool = False  # the session was journaled (not --no-history)
    not_saved: bool = False  # a journal fault was seen


def summary_title(summary: Summary) -> str:
    if summary.completed:
        return "PLAN COMPLETE"
    return f"STOPPED — {stop_words(summary.stop_reason).upper()}"


def saved_words(extras: SummaryExtras) -> str:
    if extras.not_saved:
        return "NOT SAVED — the history could not be written (see the log)"
    if extras.saved_as is not None:
        return f"saved as session {extras.saved_as}"
    if extras.recorded:
        return "not saved: the session never reached the treadmill"
    return "not recorded (history off)"


def summary_rows(
    summary: Summary, settings: TuiSettings, extras: SummaryExtras | None = None
) -> list[tuple[str, str, str]]:
    """(what, planned, done) rows; planned is blank where the plan states nothing."""
    extras = extras or SummaryExtras()
    units = settings.units

    def planned(value: float | None, fmt: str) -> str:
        if value is None:
            return ""
        return format_clock(value) if fmt == "clock" else format_distance(value, units)

    average = (
        format_speed(summary.distance_m / summary.duration_s * 3.6, units)
        if summary.duration_s > 0
        else "--"
    )
    if extras.heart_rate_avg_bpm is not None:
        heart = f"{extras.heart_rate_avg_bpm} bpm average, {extras.heart_rate_max_bpm} max"
    else:
        heart = "-- (not reported)"
    return [
        ("Plan", "", summary.plan or "—"),
        ("Time", planned(extras.planned_duration_s, "clock"), format_clock(summary.duration_s)),
        (
            "Distance",
            planned(extras.planned_distance_m, "distance"),
            format_distance(summary.distance_m, units),
        ),
        ("Average speed", "", average),
        (
            "Backward time",
            format_clock(summary.planned_backward_s),
            format_clock(summary.backward_s),
        ),
        ("Backward distance", "", format_distance(summary.backward_distance_m, units)),
        ("Heart rate", "", heart),
        ("Ended by", "", stop_words(summary.stop_reason) if summary.stop_reason else "plan end"),
        ("History", "", saved_words(extras)),
    ]


class SummaryScreen(Screen[None]):
    DEFAULT_CSS = """
    SummaryScreen { align: center middle; padding: 1 2; }
    SummaryScreen #summary-box { width: 100%; max-width: 110; height: auto; }
    SummaryScreen #summary-title {
        height: 3;
        content-align: center middle;
        text-style: bold;
        background: #1b5e20;
        color: #ffffff;
    }
    SummaryScreen.-tall #summary-title { height: 5; }
    SummaryScreen.-stopped #summary-title { background: #b71c1c; }
    SummaryScreen #not-saved {
        display: none;
        height: 3;
        content-align: center middle;
        text-style: bold;
        background: #ffd600;
        color: #000000;
    }
    SummaryScreen.-not-saved #not-saved { display: block; }
    SummaryScreen #summary-time {
        display: none;
        height: 9;
        width: 100%;
        text-align: center;
        color: $foreground;
    }
    SummaryScreen.-tall #summary-time { display: block; }
    SummaryScreen DataTable { height: auto; width: 100%; margin: 1 0; }
    SummaryScreen #summary-keys { height: 1; color: $text-muted; content-align: center middle; }
    """

    def __init__(
        self,
        summary: Summary,
        settings: TuiSettings,
        *,
        can_start_again: bool,
        extras: SummaryExtras | None = None,
    ) -> None:
        super().__init__()
        self._summary = summary
        self._settings = settings
        self._can_start_again = can_start_again
        self._extras = extras or SummaryExtras()

    def compose(self) -> ComposeResult:
        with Vertical(id="summary-box"):
            yield Static(Text(summary_title(self._summary)), id="summary-title")
            yield Static(
                Text("NOT SAVED — this session is not (wholly) in the history"), id="not-saved"
            )
            yield Countdown(format_clock(self._summary.duration_s), id="summary-time")
            yield DataTable(id="summary-table", cursor_type="row", zebra_stripes=True)
            keys = "N new session · Q / ctrl+q quit" if self._can_start_again else "Q / ctrl+q quit"
            yield Static(keys, id="summary-keys")

    def on_mount(self) -> None:
        self.set_class(not self._summary.completed, "-stopped")
        self.set_class(self._extras.not_saved, "-not-saved")
        table = self.query_one(DataTable)
        # columns share the box's width (the box is centred, at most 110 wide)
        width = max(40, min(self.app.size.width - 6, 110))
        what, planned = 19, 12
        table.add_column("", width=what)
        table.add_column("planned", width=planned)
        table.add_column("done", width=max(16, width - what - planned - 8))
        table.add_rows(summary_rows(self._summary, self._settings, self._extras))
        table.focus()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.height >= TALL_ROWS, "-tall")
        # drawn for the size it had while hidden: draw it again for the one it has now
        self.call_after_refresh(self.query_one(Countdown).refresh)
