"""Red team, the whole session (controller + link + simulator + journal) on virtual time, driven
with ``--sim-fault`` combinations as the CLI passes them (``SessionOptions.sim_faults``)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from treadcoach import clock
from treadcoach.coach.events import Event
from treadcoach.coach.library import find_plan
from treadcoach.config import load_settings
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions


def _run(tmp_path: Path, faults: tuple[str, ...]) -> list[Event]:
    (tmp_path / "devices.toml").write_text("")
    session = Session(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
            journal_path=tmp_path / "history.sqlite",
            handle_signals=False,
            sim_faults=faults,
        ),
        load_settings(tmp_path / "devices.toml"),
    )
    shown: list[Event] = []
    session.add_listener(shown.append)
    clock.run(session.run(), speedup=math.inf)
    return shown


def test_stop_unconfirmed_does_not_claim_a_wait_that_did_not_happen(tmp_path: Path) -> None:
    """Invariant 8 spirit (one clear, true message) / misleading output on the stop path.

    ``--sim-fault disconnect@130 --sim-fault disconnect@130.4 --sim-fault disconnect@131
    --sim-fault disconnect@132``: the link drops, the Stop lands on reconnect, the link drops
    again. ``SessionController._await_belt_stopped`` loops ``while link.connected``, so a drop
    ends the wait at once and falls into the timeout's message: the fault says "no standstill
    reported 15 s after Stop (belt at 1.0 km/h)" one second after the Stop, while the belt (the
    simulator is in STOPPED) is coasting down. The user is told to check a treadmill that did
    stop, with a wait that never happened."""
    shown = _run(
        tmp_path, ("disconnect@130", "disconnect@130.4", "disconnect@131", "disconnect@132")
    )
    [stop] = [e for e in shown if e.event == "stop"]
    unconfirmed = [e for e in shown if e.event == "fault" and e.kind == "stop_unconfirmed"]
    for fault in unconfirmed:
        if "15 s after Stop" in fault.detail:
            assert fault.t - stop.t >= 15.0 - 1e-6, (stop.t, fault.t, fault.detail)


def test_one_transient_nack_on_a_speed_command_does_not_end_the_session(tmp_path: Path) -> None:
    """Invariant 5 ("values are clamped, never rejected mid-session") and invariant 8 (a clear
    message, not an exception's repr).

    ``--sim-fault nack@100``: the simulator answers the next control-point write 0x04
    *Operation Failed* once -- the fault its docs call "a transient failure ... a retrying
    client must ride out". The next write is the next step's speed change (t=120 here);
    ``decide_command`` fails any result but 0x05 at once, ``set_speed`` raises
    ControlRejected, the governor task dies and the session stops with reason ``error`` and
    the detail "ControlRejected: treadcoach-sim refused SET_TARGET_SPEED with result 0x04
    (failed)" -- a Python class name, spoken as the stop cue. No telemetry follows the Stop
    in the stream either (in the CLI run, its last record says 4.8 km/h)."""
    shown = _run(tmp_path, ("nack@100",))
    [stop] = [e for e in shown if e.event == "stop"]
    assert stop.reason != "error", stop.detail
    assert not stop.detail.startswith("ControlRejected"), stop.detail


def _refused_stop(tmp_path: Path, refusals: int) -> tuple[list[bytes], list[float], Any]:
    """A session 60 s in; the machine answers the next ``refusals`` writes 0x04 (``nack``);
    the stop key is pressed. Returns the Stop writes, the loop times of the belt's speed
    samples after the key, and the simulator."""
    (tmp_path / "devices.toml").write_text("")
    session = Session(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
            journal_path=tmp_path / "history.sqlite",
            handle_signals=False,
            record=False,
        ),
        load_settings(tmp_path / "devices.toml"),
    )
    stops: list[bytes] = []
    belt: list[float] = []

    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(60)
        treadmill = session.treadmill
        assert treadmill is not None
        assert treadmill.belt_speed_kmh > 4
        write = treadmill.write

        def spy(link: Any, uuid: str, data: bytes) -> None:
            if bytes(data) == b"\x08\x01":
                stops.append(bytes(data))
            write(link, uuid, data)

        treadmill.write = spy  # type: ignore[method-assign]
        treadmill.inject("nack", count=refusals)
        session.request_stop(StopReason.KEY)
        for _ in range(10):  # the belt, once a second, for 10 s after the key
            await asyncio.sleep(1)
            belt.append(treadmill.belt_speed_kmh)
        await run

    clock.run(scenario(), speedup=math.inf)
    return stops, belt, session.treadmill


def test_a_stop_the_machine_refuses_briefly_still_stops_the_belt_soon(tmp_path: Path) -> None:
    """Invariant 2 (the belt must stop) on a machine that answers 0x04 for a moment.

    The stop key is pressed while the machine answers the next nine writes 0x04 (busy -- on a
    real link nine round trips are ~0.5 s). The controller's ``_send_stop`` calls
    ``link.stop()`` three times and each does ``STOP_ATTEMPTS`` = 3 writes with a 0 s backoff:
    all nine go out at the same instant, then nothing more is tried until the session's exit
    Stop 15 s later. The machine would take the tenth Stop, but none is sent: the belt runs on
    at 5 km/h for 15 s after the stop key (the walker is told "check the treadmill")."""
    _, belt, _ = _refused_stop(tmp_path, refusals=9)
    assert min(belt) <= 0.5, f"belt after the stop key, once a second: {belt}"


def test_one_stop_request_is_retried_by_one_layer_only(tmp_path: Path) -> None:
    """Issue 12 (build 1, "one owner per fact: ... stop retry policy") and timeouts.py
    ("the controller calls ``stop()`` once; this is the only retry layer").

    A machine refusing every Stop with 0x04: one stop key press writes 0x08 0x01 nine times at
    once (``SessionController._send_stop``'s 3 attempts x ``StopPolicy.USER``'s 3), the
    "up to 9 writes" issue 12 set out to remove."""
    from treadcoach.link.timeouts import EXIT_STOP_ATTEMPTS, STOP_ATTEMPTS

    stops, _, _ = _refused_stop(tmp_path, refusals=1000)
    assert len(stops) <= STOP_ATTEMPTS + EXIT_STOP_ATTEMPTS, len(stops)


def test_a_user_stop_after_the_console_took_control_stops_the_belt(tmp_path: Path) -> None:
    """Invariant 3 / issue 12 c: "an explicit user stop requests control to send Stop, and says
    so if it cannot".

    The TUI runs with ``hold_on_control_lost=True``: after 0xFF the plan holds and the console
    has the belt (here it keeps running at 5 km/h). The walker presses the stop key.
    ``SessionController._send_stop`` calls ``link.stop()`` with no ``take_control`` (no caller
    in treadcoach passes ``take_control=True``), so the link writes Stop once, the machine
    answers 0x05 and the link gives up without Request Control (``decide_stop``: lost and not
    take_control -> Fail). Three such rounds, three "stop_failed" faults, and the belt runs on
    at 5 km/h; the link tests pass only because they call ``link.stop(take_control=True)``."""
    (tmp_path / "devices.toml").write_text("")
    session = Session(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
            journal_path=tmp_path / "history.sqlite",
            handle_signals=False,
            record=False,
            hold_on_control_lost=True,
        ),
        load_settings(tmp_path / "devices.toml"),
    )
    belt: list[float] = []

    async def scenario() -> None:
        run = asyncio.get_running_loop().create_task(session.run())
        await asyncio.sleep(60)
        treadmill = session.treadmill
        assert treadmill is not None
        treadmill.inject("control_lost")
        await asyncio.sleep(5)  # the plan holds; the console has the belt
        session.request_stop(StopReason.KEY)
        for _ in range(20):
            await asyncio.sleep(1)
            belt.append(treadmill.belt_speed_kmh)
        await run

    clock.run(scenario(), speedup=math.inf)
    assert min(belt) <= 0.5, f"belt after the stop key, once a second: {belt}"


def test_resume_soon_after_pause_on_a_start_toggles_machine_does_not_end_the_session(
    tmp_path: Path,
) -> None:
    """``start_toggles`` (issue 12 j) meets pause/resume; invariant 8 (no exception text for the
    user).

    A devices.toml entry gives the simulator (``--sim-profile start_toggle``) the
    ``start_toggles`` quirk. 60 s in the walker pauses, and resumes 0.5 s later while the belt
    still coasts down from 5 km/h. ``start()`` waits ``START_STATE_WAIT_S`` (3 s) for two
    standstill records, the belt is still at 2.2 km/h, the scheduler fails the Start
    (BELT_STATE_UNKNOWN) -- right not to send it -- but the exception ends the session: stop
    reason ``error``, detail "BeltStateUnknown: Start not sent: ...". Waiting for the belt to
    stand still (or telling the walker to wait) would keep the plan."""
    (tmp_path / "devices.toml").write_text(
        # the simulator's start_toggle profile is a TM11GY: it also reads targets as mph
        '[[device]]\nname = "sim toggles"\nmatch = "treadcoach-sim*"\nstart_toggles = true\n'
        "target_speed_in_mph = true\n"
    )
    session = Session(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
            sim_profile="start_toggle",
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
        await asyncio.sleep(30)
        session.request_stop(StopReason.KEY)
        await run

    clock.run(scenario(), speedup=math.inf)
    [stop] = [e for e in shown if e.event == "stop"]
    assert stop.reason == StopReason.KEY, stop.detail


def test_a_stop_while_connecting_announces_no_segment_after_it(tmp_path: Path) -> None:
    """Issue 12 l ("a stop while connecting ends in STOPPED with no segment announced") and
    invariant 2 (nothing after a stop but the stop).

    The connect takes 3 s, as a real BLE connect with discovery does (the simulator behind a
    bleak backend whose ``connect`` waits); SIGINT lands 0.5 s in. The stream says ``stop``,
    then ``connected``, then ``segment`` 1 (forward_walk) and its spoken form cue "Easy forward
    walk: catch your breath.", then the summary. With the simulator's instant connect the
    existing test never sees it: the coach task gets one turn before ``_until_done`` ends the
    session."""
    from hostile import Hostile

    wire = Hostile()
    wire.connect_delay_s = 3.0

    class SlowConnect(Session):
        def _target(self) -> tuple[str, Any, Any]:
            address, _, scanner = super()._target()
            return address, wire.client(), scanner

    (tmp_path / "devices.toml").write_text("")
    session = SlowConnect(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
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
        await asyncio.sleep(0.5)
        session.request_stop(StopReason.SIGINT, "SIGINT")
        await run

    clock.run(scenario(), speedup=math.inf)
    kinds = [e.event for e in shown if e.event != "telemetry"]
    after_stop = kinds[kinds.index("stop") :]
    assert "segment" not in after_stop, kinds


def test_pause_then_stop_with_write_latency_ends_stopped_with_no_paused_cue(
    tmp_path: Path,
) -> None:
    """Issue 12 l ("pause-then-stop ends STOPPED with no 'Paused' cue after the Stop").

    Control-point writes take 40 ms to reach the machine (a real connection interval). The
    walker pauses; 10 ms later SIGTERM stops the session while the Pause is still in flight.
    Stop overtakes correctly on the wire (0x08 0x02, then 0x08 0x01), but when the Pause's
    answer lands ``_pause_belt`` goes on: the stream has "Stop: SIGTERM", then "Paused (key)",
    and the session's final phase is PAUSED, not STOPPED. The existing test has no latency, so
    the Pause is answered before the stop is asked."""
    from hostile import Hostile

    from treadcoach.coach.state import Phase

    wire = Hostile()
    wire.write_delay_s = 0.04

    class Latent(Session):
        def _target(self) -> tuple[str, Any, Any]:
            address, _, scanner = super()._target()
            return address, wire.client(), scanner

    (tmp_path / "devices.toml").write_text("")
    session = Latent(
        SessionOptions(
            plan=find_plan("retro-finisher"),
            sim=True,
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
        await asyncio.sleep(0.01)
        session.request_stop(StopReason.SIGTERM, "SIGTERM")
        await run

    clock.run(scenario(), speedup=math.inf)
    texts = [e.text for e in shown if e.event == "cue"]
    stop_cue = texts.index("Stop: SIGTERM")
    assert not [t for t in texts[stop_cue:] if t.startswith("Paused")], texts[stop_cue:]
    assert session.state.phase is Phase.STOPPED, session.state.phase
