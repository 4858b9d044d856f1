"""The after-session check-in: how hard it felt (Borg RPE 6-20) and pain (0-10).

Asked at the end of a session (TUI screen; headless: ``run --rpe/--pain`` or a prompt), stored
with the session in the journal, shown by ``history show``, written to the FIT file and read by the
progression (issue 16). Either answer may be skipped (None); a given one must be on its scale.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadcoach.errors import CheckInError

__all__ = ["PAIN_MAX", "PAIN_MIN", "RPE_MAX", "RPE_MIN", "CheckIn", "parse_pain", "parse_rpe"]

RPE_MIN, RPE_MAX = 6, 20  # Borg's rating of perceived exertion: 6 "no exertion" .. 20 "maximal"
PAIN_MIN, PAIN_MAX = 0, 10  # numeric pain rating: 0 none .. 10 worst imaginable


@dataclass(frozen=True, slots=True)
class CheckIn:
    rpe: int | None = None
    pain: int | None = None

    def __post_init__(self) -> None:
        _check("RPE", self.rpe, RPE_MIN, RPE_MAX)
        _check("pain", self.pain, PAIN_MIN, PAIN_MAX)

    @property
    def empty(self) -> bool:
        return self.rpe is None and self.pain is None


def _check(name: str, value: int | None, low: int, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CheckInError(f"{name} must be a whole number from {low} to {high}, not {value!r}")


def _parse(name: str, text: str | int | None, low: int, high: int) -> int | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None  # skipped
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise CheckInError(
                f"{name} must be a whole number from {low} to {high}, not {text!r}"
            ) from None
    _check(name, value, low, high)
    return value


def parse_rpe(text: str | int | None) -> int | None:
    """A typed RPE answer: None when skipped (empty), else 6..20; CheckInError otherwise."""
    return _parse("RPE", text, RPE_MIN, RPE_MAX)


def parse_pain(text: str | int | None) -> int | None:
    """A typed pain answer: None when skipped (empty), else 0..10; CheckInError otherwise."""
    return _parse("pain", text, PAIN_MIN, PAIN_MAX)
