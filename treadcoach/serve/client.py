"""A view's end of the channel: connect, say hello, read what the session sends, send commands.

``send`` is synchronous (it queues the line on the socket and returns): a stop button handler
calls it and the bytes are on their way before the handler returns, with no await in between.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from treadcoach.errors import ServeError
from treadcoach.serve import protocol
from treadcoach.serve.protocol import Command, ServerMessage

__all__ = ["ChannelClient"]


class ChannelClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, path: Path, token: str = "") -> ChannelClient:
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=protocol.MAX_LINE_BYTES)
        except OSError as exc:
            raise ServeError(f"cannot reach the session at {path}: {exc.strerror or exc}") from exc
        client = cls(reader, writer)
        client._write(protocol.encode_hello(token))
        return client

    @property
    def connected(self) -> bool:
        return not self._writer.is_closing()

    def send(self, command: Command) -> bool:
        """Queue ``command``; False when the channel is gone (nothing was sent)."""
        return self._write(protocol.encode_command(command))

    def _write(self, data: bytes) -> bool:
        if self._writer.is_closing():
            return False
        self._writer.write(data)
        return True

    async def messages(self) -> AsyncIterator[ServerMessage]:
        """Every message until the session closes the channel."""
        while True:
            try:
                line = await self._reader.readline()
            except ConnectionError:
                return
            if not line:
                return
            yield protocol.decode_server_line(line)

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
