"""Red team, the rebuilt link: hostile treadmill behaviour the link's tests do not cover.

Each test is a confirmed break on the current code (xfail strict: it must fail until fixed).
Real ``TreadmillLink`` over ``sim.bleak_backend``, scripted answers only where the simulator has
no knob (``hostile.Hostile``), virtual time throughout."""

from __future__ import annotations

import asyncio

import pytest
from hostile import Hostile, answer, sim_link
from link_helpers import next_event, on_virtual_time

from treadcoach.link import LinkDownEvent, LinkUpEvent

RC, STOP, START = bytes([0x00]), bytes([0x08, 0x01]), bytes([0x07])


async def _running(link: object, kmh: float = 4.0) -> None:
    await link.start()  # type: ignore[attr-defined]
    await link.set_speed(kmh)  # type: ignore[attr-defined]
    await asyncio.sleep(5)


def test_0xff_during_the_reconnect_stop_backoff_does_not_retake_control() -> None:
    """Invariant 3: after 0xFF nothing requests control without a user action.

    After a drop the reconnect's Stop (``StopPolicy.RECONNECT``, not a user stop) is answered
    0x04, then 0x05; the console's 0xFF arrives 50 ms after that 0x05, inside the 0.25 s backoff.
    ``decide_stop`` decides the next attempt from ``previous == 0x05`` alone and returns
    ``Send(BEST_EFFORT)`` without looking at the permission, so the link writes Request Control
    after 0xFF, is granted, and ``control_lost`` is False again: the session may command a belt
    the console took."""
    wire = Hostile()

    async def scenario() -> None:
        async with sim_link(client_backend=wire.client()) as (treadmill, link):
            await _running(link)
            wire.scripts[STOP] = [
                answer(0x80, 0x08, 0x04),
                answer(0x80, 0x08, 0x05, then_status=b"\xff", status_after_s=0.05),
            ]
            before = len(wire.writes)
            treadmill.inject("disconnect")
            await next_event(link, LinkDownEvent, within_s=2)
            await next_event(link, LinkUpEvent, within_s=30)
            await asyncio.sleep(5)
            after = wire.writes[before:]
            assert RC not in after, [w.hex() for w in after]
            assert link.control_lost

    on_virtual_time(scenario)


def test_leaving_during_a_short_outage_waits_for_the_reconnect_that_stops_the_belt() -> None:
    """Invariant 2: "leaving waits as long as a real reconnect takes".

    The first connect takes 2.5 s (measured: ``connect_s`` = 2.5, so ``exit_wait_s`` = 7.5 s).
    The link drops and the treadmill is out of reach for 3 s, then connects in 2.5 s as before:
    one failed attempt and one good one, exactly the budget the formula says it covers. The
    body leaves right after the drop. But the formula counts a connect, not what an attempt
    costs: the failed connect (2.5 s), the 0.5 s pause, a new scan (~3.5 s on the simulator's
    advertising) and the good connect (2.5 s) add up to ~9 s > 7.5 s. The exit wait runs out,
    the reconnect is cancelled mid-connect, and the belt runs on at 4 km/h after the program
    has let go (``belt_stopped_on_exit`` is False, so at least it is not a lie)."""
    import sim
    from sim.bleak_backend import SimBleakScanner
    from treadcoach.link import TreadmillLink

    wire = Hostile()
    wire.connect_delay_s = 2.5

    async def scenario() -> None:
        async with sim.SimTreadmill() as treadmill:
            link = TreadmillLink(
                treadmill.address, client_backend=wire.client(), scanner_backend=SimBleakScanner
            )
            async with link:
                await _running(link)
                wire.unreachable = True
                asyncio.get_running_loop().call_later(3.0, setattr, wire, "unreachable", False)
                treadmill.inject("disconnect")
                await next_event(link, LinkDownEvent, within_s=2)
            await asyncio.sleep(10)
            assert treadmill.belt_speed_kmh == 0.0, treadmill.belt_speed_kmh
            assert link.belt_stopped_on_exit

    on_virtual_time(scenario)


def test_an_mph_machine_takes_every_target_within_its_range_clamped_never_refused() -> None:
    """Invariant 5: "values are clamped, never rejected mid-session" -- on the shipped
    Bowflex T9 entry (``target_speed_in_mph``) against the simulator's ``mph_target`` profile.

    The machine reads every speed number as mph, its Supported Speed Range included (0.8 ...
    19.3 on its own scale). The link clamps to that range as if it were km/h, then converts to
    mph: 0.8, 1.0 and 1.2 km/h go out as 0.49, 0.62, 0.74 -- below the machine's 0.8 -- and are
    refused 0x03, so ``set_speed`` raises ControlRejected. In ``treadcoach run --sim
    --sim-profile mph_target`` with a matching devices.toml entry the first ramp step is such a
    value: the session ends at t=0 with ``fault error`` "ControlRejected: ... 0x03"."""
    import sim
    from sim.bleak_backend import SimBleakClient, SimBleakScanner
    from treadcoach.config import load_settings
    from treadcoach.errors import ControlRejected
    from treadcoach.link import TreadmillLink

    refused: list[float] = []

    async def scenario() -> None:
        async with sim.SimTreadmill(profile="mph_target") as treadmill:
            profile = load_settings().profile_for(treadmill.name, treadmill.address)
            assert profile.target_speed_in_mph
            async with TreadmillLink(
                treadmill.address,
                profile=profile,
                client_backend=SimBleakClient,
                scanner_backend=SimBleakScanner,
            ) as link:
                await link.start()
                for kmh in (0.8, 1.0, 1.2):
                    try:
                        await link.set_speed(kmh)
                    except ControlRejected:
                        refused.append(kmh)

    on_virtual_time(scenario)
    assert refused == []


def _stop_acknowledged_but_ignored(wire: Hostile) -> None:
    # The machine answers every Stop 0x80 08 01 and keeps the belt going (TM11GY: "every op
    # answers 0x80 xx 01 even when it toggled the belt: trust Treadmill Data, not the reply").
    wire.scripts[STOP] = [answer(0x80, 0x08, 0x01) for _ in range(50)]


def test_belt_stopped_on_exit_is_false_while_telemetry_shows_the_belt_running() -> None:
    """``belt_stopped_on_exit`` must be truthful ("False means the belt may be running").

    The machine acknowledges Stop and ignores it. For the next 10 s every Treadmill Data record
    says 4.0 km/h, yet ``BeltBelief`` files a moving belt after an accepted Stop as "coasting"
    for ever (``belt_running`` False), so on leaving ``belt_stopped_on_exit`` is True -- "the
    link confirmed the belt stopped" -- with the belt at 4.0 km/h."""
    wire = Hostile()

    async def scenario() -> None:
        async with sim_link(client_backend=wire.client()) as (treadmill, link):
            await _running(link)
            _stop_acknowledged_but_ignored(wire)
            await link.stop()
            await asyncio.sleep(10)
            assert link.belt_speed_kmh == pytest.approx(4.0)  # fresh telemetry says so
        assert treadmill.belt_speed_kmh == pytest.approx(4.0)
        assert not link.belt_stopped_on_exit

    on_virtual_time(scenario)


def test_no_start_to_a_belt_that_telemetry_shows_running_after_an_ignored_stop() -> None:
    """Invariant 2: "never send Start to a belt that runs (some machines treat it as a toggle)".

    Same machine: Stop acknowledged, belt still at 4.0 km/h 10 s later. ``start()`` asks the
    belief, which says "not running" (coasting after Stop), and writes 0x07 to the running belt
    -- on a machine whose replies cannot be trusted, the very case the rule is for."""
    wire = Hostile()

    async def scenario() -> None:
        async with sim_link(client_backend=wire.client()) as (treadmill, link):
            await _running(link)
            _stop_acknowledged_but_ignored(wire)
            await link.stop()
            await asyncio.sleep(10)
            before = len(wire.writes)
            await link.start()
            assert treadmill.belt_speed_kmh > 3.0
            assert START not in wire.writes[before:], [w.hex() for w in wire.writes[before:]]

    on_virtual_time(scenario)
