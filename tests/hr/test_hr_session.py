"""The strap beside the treadmill in a whole Session (sim strap, bleak seam), on virtual time.

What the session owns: it builds the feed before the strap is reached and gives it to the
controller as ``heart=``, opens the strap link beside the belt's, never waits for it (start,
stop), and the strap reconnects on its own. The wiring tests record what the session hands the
controller (the controller of this branch may not take ``heart=`` yet); the end-to-end tests
need the coach branch's ``HeartPort`` and are skipped without it.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

import treadcoach.coach.ports as ports
import treadcoach.session as session_module
from treadcoach import clock
from treadcoach.coach.controller import SessionController
from treadcoach.coach.events import Event
from treadcoach.coach.plan import parse_plan
from treadcoach.config import Settings, load_settings
from treadcoach.errors import ConfigError
from treadcoach.hr_feed import SIM_STRAP, HeartRateFeed
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions

PLAN = parse_plan(
    'name = "hr"\ntitle = "HR"\n'
    '[[segments]]\nkind = "warmup"\nduration = 60\nspeed = 3.0\n'
    '[[segments]]\nkind = "backward_walk"\nduration = 120\nspeed = 2.5\nhr_zone = [95, 110]\n',
    "hr.toml",
)

SHIPPED_ONLY = Path(__file__).with_name("empty-devices.toml")


class RecordingController(SessionController):
    """The real controller; records the ``heart=`` the session gave it (and forwards it when the
    controller takes it)."""

    given: list[Any] = []

    def __init__(self, *args: Any, heart: Any = None, **kwargs: Any) -> None:
        RecordingController.given.append(heart)
        if hasattr(ports, "HeartPort"):
            kwargs["heart"] = heart
        super().__init__(*args, **kwargs)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    RecordingController.given = []
    monkeypatch.setattr(session_module, "SessionController", RecordingController)
    return RecordingController.given


def _settings(strap: str | None) -> Settings:
    # the shipped devices (the generic profile the simulator matches), the strap, a ceiling
    base = load_settings(SHIPPED_ONLY)
    limits = base.limits.model_copy(update={"hr_max_bpm": 160})
    return base.model_copy(update={"hr_strap": strap, "limits": limits})


def _session(strap: str | None, **options: Any) -> Session:
    settings = _settings(strap)
    return Session(
        SessionOptions(plan=PLAN, sim=True, record=False, handle_signals=False, **options),
        settings,
    )


@pytest.mark.parametrize("ble", [None, "bumble:air:50"], ids=["fake", "bumble-air"])
def test_the_session_hands_its_strap_feed_to_the_controller_and_connects_it_beside_the_belt(
    recording: list[Any], ble: str | None
) -> None:
    # bumble:air: the treadmill and the strap both served by bumble's GATT server, one radio
    session = _session(SIM_STRAP, ble=ble)
    assert isinstance(session.heart, HeartRateFeed)
    assert recording == [session.heart]
    assert session.treadmill is not None
    assert session.treadmill.heart_rate_bpm is None  # one heart: the strap's, not the console's
    seen: list[tuple[bool, float]] = []
    after_stop: list[bool] = []

    def on_event(event: Event) -> None:
        heart = session.heart
        assert heart is not None
        if event.event == "stop":
            after_stop.append(True)
        elif event.event == "telemetry" and after_stop:
            after_stop.append(heart.strap_connected)
        elif event.event == "telemetry":
            strap = heart.sim_strap
            seen.append((heart.strap_connected, strap.heart_rate_bpm if strap else 0.0))

    session.add_listener(on_event)
    summary = clock.run(session.run(), speedup=math.inf)
    assert summary.completed
    assert seen
    assert seen[-1][0]  # subscribed while the belt ran, up to the stop
    assert max(bpm for _, bpm in seen) > 80  # the simulated person followed the belt
    # let go of at the stop: the radio is the treadmill's while the belt runs down
    assert after_stop[0] is True
    assert not any(after_stop[1:])
    assert session.heart.link is None
    assert not session.heart.strap_connected


def test_no_strap_configured_gives_the_controller_no_heart(recording: list[Any]) -> None:
    session = _session(None)
    assert session.heart is None
    assert recording == [None]


def _stop_timing(strap: str | None) -> tuple[float, float, bool]:
    """(virtual s from run to the first telemetry, from a user stop at 30 s to run's end)."""
    session = _session(strap)
    marks: dict[str, float] = {}

    async def scenario() -> bool:
        loop = asyncio.get_running_loop()
        t0 = loop.time()

        def on_event(event: Event) -> None:
            if event.event == "telemetry":
                marks.setdefault("first", loop.time() - t0)

        session.add_listener(on_event)
        run = asyncio.ensure_future(session.run())
        await asyncio.sleep(30)
        marks["stop"] = loop.time()
        session.request_stop(StopReason.KEY, "test")
        summary = await run
        marks["end"] = loop.time() - marks["stop"]
        return summary.stop_reason is StopReason.KEY

    stopped = clock.run(scenario(), speedup=math.inf)
    return marks["first"], marks["end"], stopped


def test_a_strap_that_is_never_found_delays_neither_the_start_nor_the_stop(
    recording: list[Any],
) -> None:
    # "Polar H10" is nowhere on the simulator's air: the link scans, backs off, scans again
    without = _stop_timing(None)
    missing = _stop_timing("Polar H10")
    assert missing[2]
    assert without[2]
    assert missing[0] == pytest.approx(without[0], abs=0.01)
    assert missing[1] == pytest.approx(without[1], abs=0.01)


def test_a_dropped_strap_reconnects_on_its_own_and_the_session_runs_on(
    recording: list[Any],
) -> None:
    session = _session(SIM_STRAP)
    states: list[bool] = []

    async def scenario() -> Any:
        run = asyncio.ensure_future(session.run())
        await asyncio.sleep(40)
        assert session.heart is not None
        assert session.heart.sim_strap is not None
        assert session.heart.strap_connected
        session.heart.sim_strap.inject("drop")
        link = session.heart.link
        assert link is not None
        for _ in range(20):
            states.append(session.heart.strap_connected)
            await asyncio.sleep(0.5)
        states.append(link.connections == 2)
        return await run

    summary = clock.run(scenario(), speedup=math.inf)
    assert summary.completed
    assert False in states[:-1]  # dropped
    assert states[-2] is True
    assert states[-1] is True


def test_a_simulated_strap_without_the_simulator_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="simulated strap needs the simulated treadmill"):
        Session(
            SessionOptions(plan=PLAN, device="AA:BB:CC:DD:EE:FF", record=False),
            _settings(SIM_STRAP),
        )


def test_telemetry_carries_the_straps_pulse_and_heart_rate_events_say_it_is_connected() -> None:
    session = _session(SIM_STRAP)
    shown: list[Event] = []
    session.add_listener(shown.append)
    summary = clock.run(session.run(), speedup=math.inf)
    assert summary.completed
    pulses = [getattr(e, "heart_rate_bpm", None) for e in shown if e.event == "telemetry"]
    assert any(p is not None and p > 80 for p in pulses)  # the sim belt reports none itself
    statuses = [e for e in shown if e.event == "heart_rate"]
    assert any(getattr(e, "strap_connected", None) is True for e in statuses)


def test_session_id_and_save_checkin_refuse_an_unsaved_session(tmp_path: Path) -> None:
    from treadcoach.errors import HistoryError
    from treadcoach.history.checkin import CheckIn

    session = _session(None)
    clock.run(session.run(), speedup=math.inf)
    assert session.session_id is None
    session.save_checkin(CheckIn())  # nothing to save: no error
    with pytest.raises(HistoryError, match="the session was not saved"):
        session.save_checkin(CheckIn(rpe=13))


def test_the_strap_is_looked_for_only_once_the_treadmill_is_connected(
    recording: list[Any],
) -> None:
    # one adapter scanning for the strap while it connects the treadmill is what BlueZ refuses
    # on some machines (org.bluez.Error.InProgress): the strap waits for the treadmill
    session = _session(SIM_STRAP)
    at_connected: list[int] = []

    def on_event(event: Event) -> None:
        if event.event == "connected" and session.heart is not None:
            assert session.heart.link is not None
            at_connected.append(session.heart.link.attempts)

    session.add_listener(on_event)

    async def scenario() -> int:
        run = asyncio.ensure_future(session.run())
        await asyncio.sleep(20)
        assert session.heart is not None
        assert session.heart.link is not None
        attempts = session.heart.link.attempts
        session.request_stop(StopReason.KEY, "test")
        await run
        return attempts

    attempts = clock.run(scenario(), speedup=math.inf)
    assert at_connected == [0]
    assert attempts == 1  # then at once, and it connected the first time


def test_a_failing_strap_holds_the_speed_and_never_stops_the_belt() -> None:
    # off the skin for a while, then the link drops: the plan runs to its end all the same
    session = _session(SIM_STRAP, sim_strap_faults=("contact_lost@90", "drop@150"))
    holding: list[bool] = []
    session.add_listener(
        lambda e: (
            holding.append(bool(getattr(e, "holding", False))) if e.event == "heart_rate" else None
        )
    )
    summary = clock.run(session.run(), speedup=math.inf)
    assert summary.completed
    assert summary.stop_reason is StopReason.PLAN_END
    held = holding.index(True)  # the strap off the skin was shown, as a hold
    assert False in holding[held:]  # reconnected after the drop (contact back): the hold ends


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--hr", "sim", "--sim-strap-fault", "cramp@3"], "unknown strap fault kind"),
        (["--sim-strap-fault", "drop@3"], "--sim-strap-fault: drop@3: needs the simulated strap"),
    ],
)
def test_a_bad_simulated_strap_fault_is_one_line_and_exit_2(
    extra: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from treadcoach.cli import main

    argv = ["run", "--sim", "--headless", "--speedup", "inf", "--plan", "gentle-intro"]
    assert main([*argv, "--no-history", *extra]) == 2
    err = capsys.readouterr().err
    assert problem in err
    assert err.count("\n") == 1
