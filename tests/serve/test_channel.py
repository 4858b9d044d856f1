"""The view channel on a real Unix socket, the session on the simulator (real time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from conftest import TOKEN, served_session

from treadcoach.coach.state import Phase
from treadcoach.safety.reasons import StopReason
from treadcoach.serve.client import ChannelClient
from treadcoach.serve.protocol import Command, Result, ServerMessage, StateUpdate, Welcome

pytestmark = pytest.mark.timeout(60)


async def _next(client: ChannelClient, match: Callable[[ServerMessage], bool]) -> ServerMessage:
    async with asyncio.timeout(15):
        async for message in client.messages():
            if match(message):
                return message
    raise AssertionError("the channel closed first")


async def test_a_stop_without_any_token_stops_the_simulated_belt() -> None:
    async with served_session() as served:
        await served.wait_moving()
        client = await ChannelClient.connect(served.path, token="")
        welcome = await _next(client, lambda m: isinstance(m, Welcome))
        assert welcome == Welcome(view=1, authorised=False)
        assert client.send(Command.STOP)
        result = await _next(client, lambda m: isinstance(m, Result))
        assert result == Result("stop", True, "")
        async with asyncio.timeout(20):
            summary = await served.session
        await client.aclose()
    assert served.stops_written() >= 1
    assert served.treadmill.server.target_speed_kmh == 0.0
    assert not summary.completed
    stops = [e for e in served.events if e.event == "stop"]
    assert [(s.reason, s.detail) for s in stops] == [
        (StopReason.KEY, "stop button on tablet view 1")
    ]


async def test_the_dizzy_stop_without_any_token_stops_the_simulated_belt_as_dizzy() -> None:
    async with served_session() as served:
        await served.wait_moving()
        client = await ChannelClient.connect(served.path, token="")
        await _next(client, lambda m: isinstance(m, Welcome))
        assert client.send(Command.STOP_DIZZY)
        assert await _next(client, lambda m: isinstance(m, Result)) == Result(
            "stop_dizzy", True, ""
        )
        async with asyncio.timeout(20):
            summary = await served.session
        await client.aclose()
    assert served.treadmill.server.target_speed_kmh == 0.0
    assert summary.stop_reason is StopReason.DIZZY
    stops = [e for e in served.events if e.event == "stop"]
    assert [(s.reason, s.detail) for s in stops] == [
        (StopReason.DIZZY, "dizzy button on tablet view 1")
    ]


async def test_a_wrong_token_is_refused_for_pause_but_stop_still_works() -> None:
    async with served_session() as served:
        await served.wait_moving()
        client = await ChannelClient.connect(served.path, token="wrong")
        await _next(client, lambda m: isinstance(m, Welcome))
        client.send(Command.PAUSE)
        refused = await _next(client, lambda m: isinstance(m, Result))
        assert refused == Result("pause", False, "needs the token")
        client.send(Command.MUTE)
        assert await _next(client, lambda m: isinstance(m, Result)) == Result(
            "mute", False, "needs the token"
        )
        assert served.controller.state.phase is Phase.RUNNING
        assert not served.channel.muted
        client.send(Command.STOP)
        async with asyncio.timeout(20):
            await served.session
        await client.aclose()
    assert served.stops_written() >= 1


async def test_the_right_token_pauses_and_resumes() -> None:
    async with served_session() as served:
        await served.wait_moving()
        client = await ChannelClient.connect(served.path, token=TOKEN)
        assert await _next(client, lambda m: isinstance(m, Welcome)) == Welcome(1, True)
        client.send(Command.PAUSE)
        await _next(client, lambda m: isinstance(m, StateUpdate) and m.state.phase is Phase.PAUSED)
        assert any(w.data == b"\x08\x02" for w in served.treadmill.writes)  # FTMS Pause
        client.send(Command.RESUME)
        await _next(client, lambda m: isinstance(m, StateUpdate) and m.state.phase is Phase.RUNNING)
        client.send(Command.MUTE)
        await _next(client, lambda m: isinstance(m, StateUpdate) and m.muted)
        await client.aclose()


async def test_two_views_both_see_the_session_and_the_second_one_stops_it() -> None:
    async with served_session() as served:
        await served.wait_moving()
        first = await ChannelClient.connect(served.path)
        second = await ChannelClient.connect(served.path)
        for client in (first, second):
            update = await _next(client, lambda m: isinstance(m, StateUpdate) and m.views == 2)
            assert isinstance(update, StateUpdate)
            assert update.state.phase is Phase.RUNNING
        second.send(Command.STOP)
        # both hear about it
        for client in (first, second):
            await _next(
                client, lambda m: isinstance(m, StateUpdate) and m.state.phase is Phase.STOPPED
            )
        async with asyncio.timeout(20):
            await served.session
        await first.aclose()
        await second.aclose()
    assert served.stops_written() >= 1


async def test_a_view_going_away_leaves_the_belt_running_and_is_reported() -> None:
    async with served_session() as served:
        await served.wait_moving()
        client = await ChannelClient.connect(served.path, token=TOKEN)
        await _next(client, lambda m: isinstance(m, StateUpdate))
        writes_before = len(served.treadmill.writes)
        await client.aclose()
        async with asyncio.timeout(10):
            await served.view_lost.wait()
        # a few telemetry periods later the belt is still running the plan, nothing was written
        await asyncio.sleep(0.5)
        assert served.controller.state.phase is Phase.RUNNING
        assert served.treadmill.belt_speed_kmh > 0.5
        # the governor may still be ramping (Set Target Speed, 0x02): no Start, Stop or Pause
        later = served.treadmill.writes[writes_before:]
        assert [w.data for w in later if w.opcode in (0x07, 0x08)] == []
        assert served.lost == [
            "tablet view 1 disconnected; the belt is left as it was (0 views still connected)"
        ]
        # and a new view can attach afterwards
        again = await ChannelClient.connect(served.path)
        assert await _next(again, lambda m: isinstance(m, Welcome)) == Welcome(2, False)
        await again.aclose()


async def test_garbage_lines_are_answered_and_the_view_stays_connected() -> None:
    async with served_session() as served:
        reader, writer = await asyncio.open_unix_connection(served.path)
        writer.write(b"not json\n" + b"x" * 70000 + b"\n")
        writer.write(b'{"type":"command","command":"stop","junk":[1,2]}\n')
        await writer.drain()
        async with asyncio.timeout(20):
            await served.session
        lines: list[bytes] = []
        async with asyncio.timeout(10):
            while len(lines) < 3:
                line = await reader.readline()
                assert line, "the channel closed the view"
                if line.startswith(b'{"type":"result"'):
                    lines.append(line)
        writer.close()
    assert b'"detail":"not JSON"' in lines[0]
    assert b'"detail":"line too long"' in lines[1]
    assert served.stops_written() >= 1
