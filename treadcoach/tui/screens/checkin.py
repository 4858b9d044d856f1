"""After the session: how hard it felt (Borg RPE 6-20) and pain (0-10), both skippable.

Shown over the summary once the session has ended (the belt is stopped), when the app was given
``save_checkin``. One question at a time: type a number and Enter, or Enter on an empty field (or
Esc) to skip it. A number off the scale is answered inline with the model's own message
(:class:`~treadcoach.errors.CheckInError` from ``treadcoach.history.checkin``) and asked again. The
screen returns the :class:`CheckIn` (the app saves it); quitting (``q``, ``ctrl+q``) still works
from here, since the answer fields take digits only.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from treadcoach.errors import CheckInError
from treadcoach.history.checkin import (
    PAIN_MAX,
    PAIN_MIN,
    RPE_MAX,
    RPE_MIN,
    CheckIn,
    parse_pain,
    parse_rpe,
)

__all__ = ["PAIN_ANCHORS", "RPE_ANCHORS", "CheckInScreen", "NumberInput", "scale_text"]

# Borg's words for the RPE scale (the numbers between them have none).
RPE_ANCHORS: tuple[tuple[int, str], ...] = (
    (6, "no exertion"),
    (9, "very light"),
    (11, "light"),
    (13, "somewhat hard"),
    (15, "hard"),
    (17, "very hard"),
    (19, "extremely hard"),
    (20, "maximal"),
)
PAIN_ANCHORS: tuple[tuple[int, str], ...] = (
    (0, "no pain"),
    (5, "moderate"),
    (10, "worst imaginable"),
)


def scale_text(anchors: tuple[tuple[int, str], ...]) -> Text:
    """``6 no exertion · 9 very light · ...``, numbers in bold."""
    text = Text()
    for i, (number, words) in enumerate(anchors):
        if i:
            text.append(" · ", "dim")
        text.append(str(number), "bold")
        text.append(f" {words}")
    return text


class NumberInput(Input):
    """An answer field: digits only, and it lets every other printable key through to the
    app's bindings (an ordinary Input swallows them all, so ``q`` would not quit)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character.isdigit()


class CheckInScreen(ModalScreen[CheckIn]):
    """RPE, then pain; dismissed with the answers (a field skipped is None)."""

    DEFAULT_CSS = """
    CheckInScreen { align: center middle; }
    CheckInScreen #checkin-box {
        width: 100%;
        max-width: 90;
        height: auto;
        padding: 1 2;
        background: $panel;
        border: tall $accent;
    }
    CheckInScreen #checkin-title { text-style: bold; height: auto; margin: 0 0 1 0; }
    CheckInScreen .question { text-style: bold; height: auto; }
    CheckInScreen .scale { height: auto; color: $text-muted; }
    CheckInScreen .error { height: auto; color: #ef5350; text-style: bold; }
    CheckInScreen NumberInput { width: 24; margin: 0 0 1 0; }
    CheckInScreen #checkin-keys { height: 1; color: $text-muted; }
    """

    BINDINGS = [Binding("escape", "skip", "Skip", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self._rpe: int | None = None
        self._asking = "rpe"

    def compose(self) -> ComposeResult:
        with Vertical(id="checkin-box"):
            yield Static(Text("How was it? Both questions may be skipped."), id="checkin-title")
            yield Static(
                Text(f"How hard did it feel? (RPE, {RPE_MIN}-{RPE_MAX})"), classes="question"
            )
            yield Static(scale_text(RPE_ANCHORS), classes="scale")
            yield NumberInput(
                placeholder=f"{RPE_MIN}-{RPE_MAX}", restrict=r"\d{0,2}", max_length=2, id="rpe"
            )
            yield Static("", id="rpe-error", classes="error")
            yield Static(
                Text(f"Any pain? ({PAIN_MIN}-{PAIN_MAX})"), classes="question", id="pain-question"
            )
            yield Static(scale_text(PAIN_ANCHORS), classes="scale")
            yield NumberInput(
                placeholder=f"{PAIN_MIN}-{PAIN_MAX}",
                restrict=r"\d{0,2}",
                max_length=2,
                id="pain",
                disabled=True,
            )
            yield Static("", id="pain-error", classes="error")
            yield Static(
                Text("Enter: answer (empty: skip) · Esc: skip · Q / ctrl+q: quit"),
                id="checkin-keys",
            )

    def on_mount(self) -> None:
        self.query_one("#rpe", NumberInput).focus()

    @property
    def asking(self) -> str:
        """Which question is open: ``rpe`` or ``pain`` (tests read it)."""
        return self._asking

    @on(Input.Submitted, "#rpe")
    def _rpe_given(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            rpe = parse_rpe(event.value)
        except CheckInError as exc:
            self._error("#rpe-error", str(exc))
            return
        self._rpe_done(rpe)

    @on(Input.Submitted, "#pain")
    def _pain_given(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            pain = parse_pain(event.value)
        except CheckInError as exc:
            self._error("#pain-error", str(exc))
            return
        self.dismiss(CheckIn(rpe=self._rpe, pain=pain))

    def action_skip(self) -> None:
        if self._asking == "rpe":
            self._rpe_done(None)
        else:
            self.dismiss(CheckIn(rpe=self._rpe, pain=None))

    def _rpe_done(self, rpe: int | None) -> None:
        self._rpe = rpe
        self._asking = "pain"
        self._error("#rpe-error", "")
        self.query_one("#rpe", NumberInput).disabled = True
        pain = self.query_one("#pain", NumberInput)
        pain.disabled = False
        pain.focus()

    def _error(self, selector: str, message: str) -> None:
        self.query_one(selector, Static).update(Text(message))
