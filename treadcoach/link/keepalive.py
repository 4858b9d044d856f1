"""The keep-alive (asyncio shell): some machines forget a client that stays quiet.

Every ``period_s`` it asks ``scheduler.decide_keepalive`` and does what it says: a Request
Control through the command queue (one in flight, behind the user's commands), or a read of
Training Status on a machine that takes no Request Control. It never writes after 0xFF.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bleak.exc import BleakError

from treadcoach.errors import TreadcoachError
from treadcoach.link.channel import ControlChannel
from treadcoach.link.connect import Connection
from treadcoach.link.phase import LinkPhaseMachine
from treadcoach.link.scheduler import KeepAlive, decide_keepalive

__all__ = ["keep_alive"]

logger = logging.getLogger(__name__)


async def keep_alive(
    period_s: float,
    connection: Connection,
    phase: LinkPhaseMachine,
    channel: ControlChannel,
    *,
    queued: Callable[[], int],
    request_control: Callable[[], Awaitable[object]],
) -> None:
    """Run until cancelled (the link's close). ``queued``: commands waiting for the worker;
    ``request_control``: one through the queue."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(period_s)
        action = decide_keepalive(
            ready=phase.ready,
            permission=channel.permission,
            busy=bool(queued()) or bool(channel.cp.pending),
            quiet_s=loop.time() - channel.last_write_at,
            period_s=period_s,
            quirks=connection.profile,
        )
        try:
            if action is KeepAlive.REQUEST_CONTROL:
                await request_control()
            elif action is KeepAlive.READ:
                client, char = connection.client, connection.training_status_char
                if client is not None and char is not None:
                    channel.last_write_at = loop.time()
                    await client.read_gatt_char(char)
        except (TreadcoachError, BleakError) as error:
            logger.info("%s: keep-alive failed: %s", connection.name, error)
