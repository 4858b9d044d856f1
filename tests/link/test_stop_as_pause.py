"""A machine that answers Stop "op code not supported" (0x02) or "invalid parameter" (0x03):
some accept only Pause (0x08 0x02). The link falls back to Pause as its stop and says so, and
never reports the belt stopped on the Pause's acknowledgement alone -- only on standstill.
"""

from __future__ import annotations

import asyncio

import pytest
from link_helpers import Wire, collect, on_virtual_time
from transports import Transport

import sim
from treadcoach.ftms.enums import ResultCode
from treadcoach.link import StopUnconfirmedEvent

STOP, PAUSE = bytes([0x08, 0x01]), bytes([0x08, 0x02])


def _refusing_stop(code: ResultCode) -> Wire:
    # the scripted answer replaces the machine's: the simulator never hears the Stop
    return Wire(answers={STOP: bytes([0x80, 0x08, code])})


@pytest.mark.parametrize("code", [ResultCode.NOT_SUPPORTED, ResultCode.INVALID_PARAMETER])
def test_a_stop_the_machine_does_not_support_falls_back_to_pause_and_says_so(
    transport: Transport, code: ResultCode
) -> None:
    wire = _refusing_stop(code)

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            treadmill, link = stack.treadmill, stack.link
            await link.start()
            await link.set_speed(4.0)
            await asyncio.sleep(8)
            await collect(link, 0.1)  # what came before the stop
            sent_before = len(wire.writes)
            await link.stop(take_control=True)
            after = wire.writes[sent_before:]
            assert after[:2] == [STOP, PAUSE], after  # one Stop, then Pause in its place
            told = [e for e in await collect(link, 1.0) if isinstance(e, StopUnconfirmedEvent)]
            assert told, "the user was not told that Pause was sent instead of Stop"
            assert "Pause" in told[0].reason
            await asyncio.sleep(10)
            assert treadmill.state is sim.RunState.PAUSED
            assert treadmill.belt_speed_kmh == 0.0
            # a later stop goes straight to Pause: the machine told us once
            again = len(wire.writes)
            await link.stop()
            assert wire.writes[again:] == [PAUSE]
        assert link.belt_stopped_on_exit is True  # standstill seen

    on_virtual_time(scenario)


def test_a_parting_pause_in_place_of_stop_is_no_confirmation_without_standstill(
    transport: Transport,
) -> None:
    wire = _refusing_stop(ResultCode.NOT_SUPPORTED)

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            link = stack.link
            await link.start()
            await link.set_speed(6.0)
            await asyncio.sleep(10)
        # left at 6 km/h: the Pause was acknowledged, but the belt was still coasting when the
        # block ended -- that is not "stopped"
        assert PAUSE in wire.writes
        assert link.belt_stopped_on_exit is False

    on_virtual_time(scenario)
