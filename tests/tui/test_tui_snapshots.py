"""Snapshots of the session screen at 80x24 and 160x48: forward, turnaround, stopped.

Fixed states, no clock: the scripted session never moves unless told. After a deliberate change,
regenerate with ``pytest --snapshot-update tests/tui`` and look at the SVGs before committing.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from tui_double import BACKWARD, TURN_IN, WARMUP, RecordingSpeaker, ScriptedSession, running

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
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", STATES)
def test_session_screen_snapshot(snap_compare, name: str, size: str) -> None:  # type: ignore[no-untyped-def]
    app = TreadcoachApp(
        session=ScriptedSession(STATES[name]),
        settings=TuiSettings(summary_delay_s=60),
        speaker=RecordingSpeaker(),
    )
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_settled)
