"""Round-3 red team: the dizzy stop (issue 16, CONTRACTS "dizzy stop inputs"), through the real
controller, link and simulator on virtual time."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from red3_helpers import (
    STOP_PAUSE,
    RecordingClient,
    Run,
    ScriptedHeart,
    console_keeps_control,
    hold_config,
    run_session,
)
from test_body_input import record

from sim import SimTreadmill
from treadcoach.coach.announce import USE_STOP_BUTTON_CUE
from treadcoach.coach.controller import SessionController
from treadcoach.coach.events import Event, Stop
from treadcoach.coach.progression import Suggestion, suggest_next
from treadcoach.history import Journal
from treadcoach.history.body_input import past_sessions
from treadcoach.inputs.pedal import DIZZY_HOLD_S
from treadcoach.safety.reasons import StopReason

DIZZY_CUE = "Dizzy: stopping the belt"


async def _dizzy_once_stopping(
    controller: SessionController, first: StopReason, *, after_s: float = 0.5
) -> None:
    """Once a stop with reason ``first`` is said, press dizzy ``after_s`` later (the belt is
    still running down: the walker feels it now)."""
    loop = asyncio.get_running_loop()

    def on_event(event: Event) -> None:
        if isinstance(event, Stop) and event.reason is first:
            loop.call_later(after_s, controller.request_stop, StopReason.DIZZY, "dizzy key")

    controller.add_listener(on_event)


def _next_session_after(run: Run, journal_path: Path) -> Suggestion:
    """What ``run --plan progression`` suggests tomorrow, with ``run`` as yesterday's session
    in a real journal (the events as the recorder journals them)."""
    assert run.summary is not None
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with Journal.open(journal_path) as journal:
        record(journal, run.events, yesterday, planned_s=run.summary.planned_backward_s)
        past = past_sessions(journal, date.today())
    return suggest_next(past, date.today())


@pytest.mark.parametrize(
    ("first", "faults"),
    [
        (StopReason.PLAN_END, ()),
        (StopReason.TARGET_IGNORED, ("ignore_speed@62",)),  # the belt will not slow: stopped
        (StopReason.DISCONNECT, ("disconnect@100",)),  # pressed while the link reconnects
    ],
    ids=["plan_end", "target_ignored", "during_reconnect"],
)
def test_dizzy_pressed_while_another_stop_runs_the_belt_down_steps_the_progression_back(
    first: StopReason, faults: tuple[str, ...], tmp_path: Path
) -> None:
    async def during(treadmill: SimTreadmill, controller: SessionController) -> None:
        await _dizzy_once_stopping(controller, first)

    run = run_session(during=during, faults=faults)
    assert run.summary is not None
    assert run.summary.planned_backward_s == 90
    # the dizzy press stopped the belt as surely as the first stop ...
    assert [w for w in run.writes if w.opcode == STOP_PAUSE]
    assert run.belt_speed_kmh == 0.0
    # ... but the walker's "I feel dizzy" must reach the next session: a step back
    suggestion = _next_session_after(run, tmp_path / "history.sqlite3")
    assert suggestion.backward_s < 90, suggestion.reason


def test_dizzy_pressed_during_an_hr_ceiling_stop_is_spoken() -> None:
    heart = ScriptedHeart(lambda t: 165 if t >= 80 else 110)  # 150 + 15 for 20 s: hr_ceiling

    async def during(treadmill: SimTreadmill, controller: SessionController) -> None:
        await _dizzy_once_stopping(controller, StopReason.HR_CEILING)

    run = run_session(heart=heart, during=during)
    assert run.summary is not None
    assert run.belt_target_kmh == 0.0
    # whatever reason is recorded (hr_ceiling already steps the progression back), the walker
    # who pressed dizzy must hear what to do
    assert any(DIZZY_CUE in c.text for c in run.cues()), [c.text for c in run.cues("stop")]


# --- attacks that did not break: the dizzy stop writes exactly what an ordinary stop writes ---


def _stop_in(combination: str, reason: StopReason) -> Run:
    """One session where ``reason`` is asked for in ``combination`` (rig plan: backward walk
    68-158 s at 4.8 km/h)."""

    async def during(treadmill: SimTreadmill, controller: SessionController) -> None:
        if combination == "after_0xff":
            await asyncio.sleep(100)  # the console took control at 80 s
        elif combination == "after_0xff_refusing":
            await asyncio.sleep(90)
            console_keeps_control(treadmill)
            await asyncio.sleep(10)
        elif combination == "during_reconnect":
            await asyncio.sleep(100.5)  # the link dropped at 100 s
        elif combination == "speed_in_flight":
            await asyncio.sleep(62)  # the turnaround: the governor is slowing the belt

            def on_write(data: bytes) -> None:
                if data[0] == 0x02:  # a Set Target Speed on its way to the treadmill
                    RecordingClient.before_write = None
                    controller.request_stop(reason, "stop")

            RecordingClient.before_write = on_write
            return
        elif combination == "while_stopping":
            await asyncio.sleep(30)
            controller.request_stop(StopReason.PEDAL, "pedal")
            await asyncio.sleep(0.5)
        elif combination == "twice":
            await asyncio.sleep(30)
            controller.request_stop(reason, "stop")
            await asyncio.sleep(0.2)
        controller.request_stop(reason, "stop")

    held = combination.startswith("after_0xff")
    faults = {"during_reconnect": ("disconnect@100",)}.get(
        combination, ("control_lost@80",) if held else ()
    )
    return run_session(during=during, faults=faults, config=hold_config() if held else None)


@pytest.mark.parametrize(
    "combination",
    [
        "after_0xff",
        "after_0xff_refusing",
        "during_reconnect",
        "speed_in_flight",
        "while_stopping",
        "twice",
    ],
)
def test_the_dizzy_stop_writes_exactly_what_an_ordinary_stop_writes(combination: str) -> None:
    key, dizzy = _stop_in(combination, StopReason.KEY), _stop_in(combination, StopReason.DIZZY)
    assert [(w.t, w.data) for w in dizzy.writes] == [(w.t, w.data) for w in key.writes]
    assert dizzy.belt_speed_kmh == key.belt_speed_kmh
    assert dizzy.summary is not None
    assert key.summary is not None
    assert dizzy.summary.belt_may_be_running == key.summary.belt_may_be_running


def _refused_pedal(hold_s: float | None) -> Run:
    """After 0xFF the console keeps control (every write answered 0x05); the pedal is pressed
    at 100 s and, when ``hold_s`` is given, held that long (its dizzy upgrade)."""

    async def during(treadmill: SimTreadmill, controller: SessionController) -> None:
        await asyncio.sleep(90)
        console_keeps_control(treadmill)
        await asyncio.sleep(10)
        controller.request_stop(StopReason.PEDAL, "pedal")  # written on press-down
        if hold_s is not None:
            await asyncio.sleep(hold_s)
            controller.request_stop(StopReason.DIZZY, "pedal held")

    return run_session(faults=("control_lost@80",), config=hold_config(), during=during)


def test_holding_the_pedal_for_dizzy_does_not_delay_the_refused_stop_warning() -> None:
    def warned_at(run: Run) -> float:
        return min(c.t for c in run.cues("stop") if c.text == USE_STOP_BUTTON_CUE)

    short, held = _refused_pedal(None), _refused_pedal(DIZZY_HOLD_S)
    assert held.summary is not None
    assert held.summary.belt_may_be_running  # said, in the end
    assert warned_at(held) <= warned_at(short), (warned_at(held), warned_at(short))
