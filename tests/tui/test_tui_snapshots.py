"""Snapshots of the session screen at 80x24 and 160x48: forward, turnaround, stopped; the
backward walk (with its safety sentence) at 60x18; the summary at 200x60.

Fixed states, no clock: the scripted session never moves unless told. After a deliberate change,
regenerate with ``pytest --snapshot-update tests/tui`` and look at the SVGs before committing.
"""

from __future__ import annotations

import pytest
from doubles import FakeSessionHandle
from textual.pilot import Pilot
from tui_double import BACKWARD, TURN_IN, WARMUP, RecordingSpeaker, running

from treadcoach.coach.state import Phase, SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.tui import TreadcoachApp, TuiSettings

STATES: dict[str, SessionState] = {
    "forward": running(WARMUP, TURN_IN, remaining=247.0, speed_kmh=4.4),
    "turnaround": running(
        TURN_IN,
        BACKWARD,
        remaining=4.2,
        turnaround_countdown_s=5,
        speed_kmh=1.6,
        cue="Turn around: face away from the console",
    ),
    "stopped": running(
        BACKWARD,
        None,
        remaining=88.0,
        phase=Phase.STOPPED,
        stop_reason=StopReason.KEY,
        speed_kmh=0.0,
        target_kmh=0.0,
        cue="",
    ),
}
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


async def _settled(pilot: Pilot[object]) -> None:
    await pilot.pause()
    # the steady screen, without the session-start notice ("cues: ..."), which fades anyway
    pilot.app.clear_notifications()
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", STATES)
def test_session_screen_snapshot(snap_compare, name: str, size: str) -> None:  # type: ignore[no-untyped-def]
    app = TreadcoachApp(
        session=FakeSessionHandle(STATES[name]),
        settings=TuiSettings(summary_delay_s=60),
        speaker=RecordingSpeaker(),
    )
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_settled)


STARTER_CUE = (
    "Hands on the side rails until confident. Shorten your stride, keep your torso tall. "
    "Stop immediately if dizzy or strained."
)


def test_backward_walk_at_60x18_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    state = running(BACKWARD, None, remaining=95.0, cue=STARTER_CUE)
    app = TreadcoachApp(
        session=FakeSessionHandle(state),
        settings=TuiSettings(summary_delay_s=60),
        speaker=RecordingSpeaker(),
    )
    assert snap_compare(app, terminal_size=(60, 18), run_before=_settled)


async def _stopped_to_summary(pilot: Pilot[object]) -> None:
    await pilot.press("space")
    for _ in range(200):  # up to 10 s on a loaded box
        await pilot.pause(0.05)
    await _settled(pilot)


def test_summary_at_200x60_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = TreadcoachApp(
        session=FakeSessionHandle(running(BACKWARD, None, remaining=95.0)),
        settings=TuiSettings(summary_delay_s=0),
        speaker=RecordingSpeaker(),
    )
    assert snap_compare(app, terminal_size=(200, 60), run_before=_stopped_to_summary)
