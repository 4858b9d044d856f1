"""After a session: planned against done."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from treadcoach.coach.events import Summary
from treadcoach.tui.present import format_clock, format_distance, stop_words
from treadcoach.tui.settings import TuiSettings

__all__ = ["SummaryScreen", "summary_rows", "summary_title"]


def summary_title(summary: Summary) -> str:
    if summary.completed:
        return "PLAN COMPLETE"
    return f"STOPPED — {stop_words(summary.stop_reason).upper()}"


def summary_rows(summary: Summary, settings: TuiSettings) -> list[tuple[str, str, str]]:
    """(what, planned, done) rows; planned is blank where the plan states nothing."""
    return [
        ("Plan", summary.plan or "—", ""),
        ("Time", "", format_clock(summary.duration_s)),
        ("Distance", "", format_distance(summary.distance_m, settings.units)),
        (
            "Backward time",
            format_clock(summary.planned_backward_s),
            format_clock(summary.backward_s),
        ),
        ("Backward distance", "", format_distance(summary.backward_distance_m, settings.units)),
        ("Ended by", "", stop_words(summary.stop_reason) if summary.stop_reason else "plan end"),
    ]


class SummaryScreen(Screen[None]):
    DEFAULT_CSS = """
    SummaryScreen { layout: vertical; padding: 1 2; }
    SummaryScreen #summary-title {
        height: 3;
        content-align: center middle;
        text-style: bold;
        background: #1b5e20;
        color: #ffffff;
    }
    SummaryScreen.-stopped #summary-title { background: #b71c1c; }
    SummaryScreen DataTable { height: auto; margin: 1 0; }
    SummaryScreen #summary-keys { height: 1; color: $text-muted; }
    """

    def __init__(self, summary: Summary, settings: TuiSettings, *, can_start_again: bool) -> None:
        super().__init__()
        self._summary = summary
        self._settings = settings
        self._can_start_again = can_start_again

    def compose(self) -> ComposeResult:
        yield Static(Text(summary_title(self._summary)), id="summary-title")
        yield DataTable(id="summary-table", cursor_type="row", zebra_stripes=True)
        keys = "N new session · Q quit" if self._can_start_again else "Q quit"
        yield Static(keys, id="summary-keys")

    def on_mount(self) -> None:
        self.set_class(not self._summary.completed, "-stopped")
        table = self.query_one(DataTable)
        table.add_columns("", "planned", "done")
        table.add_rows(summary_rows(self._summary, self._settings))
        table.focus()
