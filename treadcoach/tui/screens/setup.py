"""Before a session: pick the treadmill and the plan."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from treadcoach.tui.choices import Choice, SessionRequest, SetupChoices
from treadcoach.tui.settings import TuiSettings

__all__ = ["SetupScreen", "unique"]


def _option(choice: Choice, *, suggested: bool = False) -> Option:
    prompt = Text()
    if suggested:
        prompt.append("★ ", "bold yellow")
    prompt.append(choice.label, "bold")
    if suggested:
        prompt.append("  (suggested)", "yellow")
    if choice.detail:
        prompt.append(f"\n  {choice.detail}", "dim")
    return Option(prompt, id=choice.value)


def unique(choices: Sequence[Choice]) -> list[Choice]:
    """``choices`` without repeated values, the first of each kept (the caller's order is its
    preference): an OptionList refuses two options with one id, and two rows that start the same
    thing would only confuse."""
    seen: set[str] = set()
    kept = []
    for choice in choices:
        if choice.value not in seen:
            seen.add(choice.value)
            kept.append(choice)
    return kept


class SetupScreen(Screen[None]):
    """Offers the caller's :class:`SetupChoices`; posts :class:`Chosen` when the user starts."""

    DEFAULT_CSS = """
    SetupScreen { layout: vertical; padding: 0 1; }
    SetupScreen #setup-title { height: 1; text-style: bold; margin-bottom: 1; }
    SetupScreen #lists { height: 1fr; }
    SetupScreen .column { width: 1fr; height: 1fr; }
    SetupScreen .column OptionList { height: 1fr; }
    SetupScreen #plan-file { margin-top: 1; }
    SetupScreen #suggestion { height: auto; color: $text-muted; }
    SetupScreen #setup-error { height: auto; color: $error; text-style: bold; }
    SetupScreen #actions { height: 3; }
    SetupScreen #setup-keys { width: 1fr; content-align: right middle; color: $text-muted; }
    """

    class Chosen(Message):
        """The user picked a device and a plan."""

        def __init__(self, request: SessionRequest) -> None:
            super().__init__()
            self.request = request

    def __init__(self, choices: SetupChoices, settings: TuiSettings, *, error: str = "") -> None:
        super().__init__()
        self._choices = choices
        self._settings = settings
        self._error = error

    def compose(self) -> ComposeResult:
        choices = self._choices
        yield Static("treadcoach — choose a treadmill and a plan", id="setup-title")
        with Horizontal(id="lists"):
            with Vertical(classes="column"):
                yield Label("Treadmill")
                yield OptionList(*(_option(c) for c in unique(choices.devices)), id="devices")
            with Vertical(classes="column"):
                yield Label("Plan")
                yield OptionList(
                    *(
                        _option(c, suggested=c.value == choices.suggested_plan)
                        for c in unique(choices.plans)
                    ),
                    id="plans",
                )
        yield Input(placeholder="…or a plan file path (TOML)", id="plan-file")
        yield Static(choices.suggested_reason, id="suggestion")
        yield Static(Text(self._error), id="setup-error")
        with Horizontal(id="actions"):
            yield Button("Start", id="start", variant="success")
            yield Static(
                f"{self._settings.stop_key.upper()} stops the belt on every screen · ctrl+q quits",
                id="setup-keys",
            )

    def on_mount(self) -> None:
        self._highlight("#devices", self._choices.default_device)
        self._highlight("#plans", self._choices.suggested_plan)
        self.query_one("#devices", OptionList).focus()

    def _highlight(self, selector: str, value: str | None) -> None:
        options = self.query_one(selector, OptionList)
        if options.option_count == 0:
            return
        index = 0
        if value is not None:
            try:
                index = options.get_option_index(value)
            except OptionDoesNotExist:  # the saved default is not offered this time
                index = 0
        options.highlighted = index

    def show_error(self, message: str) -> None:
        """Show why the pick cannot start (a bad plan file, no device)."""
        self.query_one("#setup-error", Static).update(Text(message))

    @on(Button.Pressed, "#start")
    @on(Input.Submitted, "#plan-file")
    @on(OptionList.OptionSelected, "#plans")
    def _start(self) -> None:
        device = self._picked("#devices")
        plan = self.query_one("#plan-file", Input).value.strip() or self._picked("#plans")
        if device is None:
            self.show_error("Pick a treadmill first (or the simulator).")
            return
        if not plan:
            self.show_error("Pick a plan, or type the path of a plan file.")
            return
        self.show_error("")
        self.post_message(self.Chosen(SessionRequest(device=device, plan=plan)))

    @on(OptionList.OptionSelected, "#devices")
    def _device_picked(self) -> None:
        self.query_one("#plans", OptionList).focus()

    def _picked(self, selector: str) -> str | None:
        options = self.query_one(selector, OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id
