"""Round-3 red team: the headless dizzy key (CONTRACTS "dizzy stop inputs"), through the real
``inputs.keys.TerminalKeys`` byte parser."""

from __future__ import annotations

from typing import Any

import pytest

from treadcoach.coach.state import Phase
from treadcoach.inputs.keys import TerminalKeys
from treadcoach.safety.reasons import StopReason


class _Running:
    phase = Phase.RUNNING


class Target:
    """The far end of the key input: records each request (a session would act on it)."""

    state = _Running()

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        self.calls.append(("stop", reason))

    def request_pause(self, source: StopReason) -> None:
        self.calls.append(("pause", source))

    def request_resume(self, source: StopReason) -> None:
        self.calls.append(("resume", source))


# What a terminal sends for keys a walker may touch by accident (xterm / VT100 sequences)
ARROW_LEFT = b"\x1b[D"
CTRL_LEFT = b"\x1b[1;5D"


@pytest.mark.parametrize("sequence", [ARROW_LEFT, CTRL_LEFT], ids=["left", "ctrl_left"])
def test_the_left_arrow_is_not_a_dizzy_stop(sequence: bytes) -> None:
    target = Target()
    keys = TerminalKeys(target, fd=0)
    keys.feed(sequence)
    assert ("stop", StopReason.DIZZY) not in target.calls, target.calls


def test_the_dizzy_key_typed_with_the_stop_key_in_one_read_still_stops() -> None:
    # Attack that did not break: "d" typed with the stop key in one read is one stop (dizzy)
    target = Target()
    keys = TerminalKeys(target, fd=0)
    keys.feed(b"d")
    keys.feed(b" d")
    assert target.calls == [("stop", StopReason.DIZZY), ("stop", StopReason.DIZZY)]
