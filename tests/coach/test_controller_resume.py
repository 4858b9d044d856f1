"""Resume on a ``start_toggles`` machine (Start pauses a running belt, TM11GY): Start is sent
only to a belt seen at rest, so a resume while the belt still coasts after a pause waits for it
(bounded) instead of ending the session, and a belt that never comes to rest stops it with a
plain reason."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from treadcoach import clock
from treadcoach.coach import announce
from treadcoach.coach.events import Event
from treadcoach.coach.library import find_plan
from treadcoach.config import load_settings
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions

TOGGLES = (
    '[[device]]\nname = "sim toggles"\nmatch = "treadcoach-sim*"\nstart_toggles = true\n'
    "target_speed_in_mph = true\n"
)


def _pause_then_resume(tmp_path: Path, faults: tuple[str, ...]) -> list[Event]:
    (tmp_path / "devices.toml").write_text(TOGGLES)
    session = Session(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
            sim_profile="start_toggle",
            sim_faults=faults,
            journal_path=tmp_path / "history.sqlite",
            handle_signals=False,
            record=False,
        ),
        load_settings(tmp_path / "devices.toml"),
    )
    shown: list[Event] = []
    session.add_listener(shown.append)

    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(60)
        session.request_pause(StopReason.KEY)
        await asyncio.sleep(0.5)
        session.request_resume(StopReason.KEY)
        await asyncio.sleep(60)
        session.request_stop(StopReason.KEY)
        await run

    clock.run(scenario(), speedup=math.inf)
    return shown


def test_resume_while_the_belt_coasts_waits_for_rest_then_starts_the_belt(
    tmp_path: Path,
) -> None:
    shown = _pause_then_resume(tmp_path, ())
    [stop] = [e for e in shown if e.event == "stop"]
    assert stop.reason is StopReason.KEY, stop.detail
    cues = [e.text for e in shown if e.event == "cue"]
    assert announce.WAIT_FOR_BELT_CUE in cues
    resumed = next(e.t for e in shown if e.event == "cue" and e.text.startswith("Resumed"))
    # the belt runs again after the resume (Start was sent once it was at rest)
    assert any(e.speed_kmh > 2.0 for e in shown if e.event == "telemetry" and e.t > resumed + 5)


def test_a_belt_that_never_comes_to_rest_after_a_pause_stops_with_a_plain_reason(
    tmp_path: Path,
) -> None:
    # slow_belt: the motor slows at 0.2 km/h per second, ~25 s from walking speed to rest:
    # the watchdog (a paused belt must come to rest) or the governor's bounded wait for rest
    # stops the session -- never the exception of a Start that was rightly not sent
    shown = _pause_then_resume(tmp_path, ("slow_belt@59",))
    [stop] = [e for e in shown if e.event == "stop"]
    assert stop.reason in (StopReason.OVERSPEED, StopReason.TARGET_IGNORED), stop.detail
    assert "Unknown" not in stop.detail, stop.detail
    assert "Error" not in stop.detail, stop.detail
