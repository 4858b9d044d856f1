"""The belt belief follows the machine's words in the order they arrived (model finding 9).

An accepted command's bookkeeping (our Pause said "stopped") is applied when its indication
arrives, not when the task that wrote it wakes up: a Machine Status received in between (the
console started the belt) is newer news, and a Start must never be written over it.
"""

from __future__ import annotations

import asyncio

from link_helpers import Wire, on_virtual_time
from transports import Transport

from treadcoach.ftms import uuids

START = bytes([0x07])
PAUSE_ACK = bytes([0x80, 0x08, 0x01])
PAUSED_BY_USER = bytes([0x02, 0x02])
STARTED_BY_USER = bytes([0x04])


def test_a_console_start_reported_right_after_our_pause_was_acknowledged_blocks_start(
    transport: Transport,
) -> None:
    wire = Wire()

    seen: list[bytes] = []

    def console_starts_in_the_same_connection_event(uuid: str, data: bytes) -> None:
        # after our Pause's answer and the machine's "paused" (in whichever order it sends
        # them), the console's start, before the task that wrote Pause has woken up
        if data in (PAUSE_ACK, PAUSED_BY_USER):
            seen.append(data)
        if len(seen) == 2:
            wire.after_delivery = None
            wire.callbacks[uuids.MACHINE_STATUS_UUID](bytearray(STARTED_BY_USER))

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            link = stack.link
            assert await link.start() is True
            await link.set_speed(3.0)
            await asyncio.sleep(3)
            wire.after_delivery = console_starts_in_the_same_connection_event
            await link.pause()
            assert wire.after_delivery is None  # the console's start was delivered
            # the machine's last word was "started by user": the belt runs
            assert link.belt_running is True
            starts_before = wire.writes.count(START)
            assert await link.start() is False
            assert wire.writes.count(START) == starts_before

    on_virtual_time(scenario)


def test_a_console_start_reported_before_our_late_pause_acknowledgement_blocks_start(
    transport: Transport,
) -> None:
    # The machine's order is unknowable here: it reported "started by user" after we wrote
    # Pause, and acknowledged the Pause after that. The acknowledgement is no proof the belt
    # stopped after the start: the belt is believed running, and Start is never written to it.
    wire = Wire(answers={bytes([0x08, 0x02]): PAUSE_ACK})  # the machine itself never pauses

    def console_starts_first(data: bytes) -> None:
        if data == bytes([0x08, 0x02]):
            wire.before_write = None
            wire.notify(uuids.MACHINE_STATUS_UUID, STARTED_BY_USER)

    async def scenario() -> None:
        async with transport.link(wrap_client=wire.client) as stack:
            link = stack.link
            assert await link.start() is True
            await link.set_speed(3.0)
            await asyncio.sleep(3)
            wire.before_write = console_starts_first
            await link.pause()
            assert link.belt_running is True
            starts_before = wire.writes.count(START)
            assert await link.start() is False
            assert wire.writes.count(START) == starts_before

    on_virtual_time(scenario)
