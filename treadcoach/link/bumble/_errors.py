"""One place that turns bumble's failures into what bleak callers expect.

bleak's callers (the link, bleak-retry-connector) branch on bleak's types: an ATT error is a
``BleakGATTProtocolError`` with its code, a timeout is the built-in ``TimeoutError``, everything
else is a ``BleakError``. bumble has its own: ``ATT_Error``, ``bumble.core.TimeoutError`` (not the
built-in one), HCI errors, and -- when the link drops under a pending request -- a bare
``CancelledError`` from the request's future, which would look to the caller like its own task
being cancelled. A ``CancelledError`` nobody asked for (``current_task().cancelling() == 0``)
becomes a ``BleakError``; a requested one is re-raised untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import core
from bumble.att import ATT_Error

__all__ = ["bleak_errors", "cancel_was_requested"]


def cancel_was_requested() -> bool:
    """True if the running task was asked to cancel (by ``task.cancel()`` or a timeout)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@contextlib.contextmanager
def bleak_errors(what: str) -> Iterator[None]:
    """Translate bumble's exceptions raised inside into bleak's; ``what`` names the operation."""
    try:
        yield
    except ATT_Error as error:
        raise BleakGATTProtocolError(error.error_code) from error
    except (core.TimeoutError, core.CommandTimeoutError) as error:
        raise TimeoutError(f"{what}: no answer from the peer") from error
    except asyncio.CancelledError:
        if cancel_was_requested():
            raise
        # bumble cancels a pending request's future when the connection drops
        raise BleakError(f"{what}: the connection dropped") from None
    except core.BaseBumbleError as error:
        raise BleakError(f"{what}: {error}") from error
