"""A scripted MQTT 3.1.1 broker for one client, for red team 4.

mosquitto cannot be told "send this PUBLISH to the client after it said offline and before you
acknowledge that": this one can. It speaks just what the bridge uses (CONNECT, SUBSCRIBE,
PUBLISH QoS 0/1, PINGREQ, DISCONNECT) and hands every packet the client sends to a hook that
may answer before the broker's own acknowledgement."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def publish_packet(topic: str, payload: bytes, *, retain: bool = False) -> bytes:
    """A QoS 0 PUBLISH from the broker to the client."""
    body = _utf8(topic) + payload
    return bytes([(PUBLISH << 4) | int(retain)]) + _length(len(body)) + body


@dataclass
class Packet:
    kind: int
    flags: int
    body: bytes

    @property
    def topic(self) -> str:
        (n,) = struct.unpack("!H", self.body[:2])
        return self.body[2 : 2 + n].decode()

    @property
    def qos(self) -> int:
        return (self.flags >> 1) & 3

    @property
    def packet_id(self) -> int:
        start = 2 + struct.unpack("!H", self.body[:2])[0] if self.kind == PUBLISH else 0
        return int.from_bytes(self.body[start : start + 2], "big")

    @property
    def payload(self) -> bytes:
        start = 2 + struct.unpack("!H", self.body[:2])[0]
        return self.body[start + (2 if self.qos else 0) :]


# A hook sees each client packet (and the writer) before the broker acknowledges it.
Hook = Callable[[Packet, asyncio.StreamWriter], None]


@dataclass
class ScriptedBroker:
    hook: Hook | None = None
    received: list[Packet] = field(default_factory=list)
    port: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def wait_for(self, match: Callable[[Packet], bool]) -> Packet:
        while True:
            for packet in self.received:
                if match(packet):
                    return packet
            self._changed.clear()
            await self._changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                first = (await reader.readexactly(1))[0]
                length, shift = 0, 0
                while True:
                    byte = (await reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                packet = Packet(first >> 4, first & 0x0F, await reader.readexactly(length))
                self.received.append(packet)
                self._changed.set()
                if self.hook is not None:
                    self.hook(packet, writer)
                if packet.kind == CONNECT:
                    writer.write(bytes([CONNACK << 4, 2, 0, 0]))
                elif packet.kind == SUBSCRIBE:
                    pid = packet.body[:2]
                    writer.write(bytes([SUBACK << 4, 3]) + pid + b"\x01")
                elif packet.kind == PUBLISH and packet.qos == 1:
                    writer.write(bytes([PUBACK << 4, 2]) + struct.pack("!H", packet.packet_id))
                elif packet.kind == PINGREQ:
                    writer.write(bytes([PINGRESP << 4, 0]))
                elif packet.kind == DISCONNECT:
                    break
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def scripted_broker(hook: Hook | None = None) -> AsyncIterator[ScriptedBroker]:
    broker = ScriptedBroker(hook=hook)
    server = await asyncio.start_server(broker._serve, "127.0.0.1", 0)
    broker.port = server.sockets[0].getsockname()[1]
    try:
        yield broker
    finally:
        server.close()
        for writer in broker.writers:
            writer.close()
