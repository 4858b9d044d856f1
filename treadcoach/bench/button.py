"""A Home Assistant button as far as the broker can tell: an MQTT client that only publishes.

``stop-latency`` starts its clock when a stop is published. With an aiomqtt client on the
benchmark's own loop the publish first waits for that loop (aiomqtt hands the write to the loop
and a later turn sends it), so the clock would also run for the benchmark's publisher, which in
real life is another machine's process. This client writes each PUBLISH to its socket in the
call, so the clock runs from the bytes leaving: the broker hop and our side, nothing else.

MQTT 3.1.1, QoS 0 (a Home Assistant MQTT button's default), clean session, no keep-alive (the
broker then never pings it), blocking socket with Nagle off. It subscribes to nothing, so the
broker sends it nothing after the CONNACK.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from types import TracebackType

from treadcoach.errors import MqttBridgeError

__all__ = ["ButtonPublisher"]

_CONNECT = 0x10
_CONNACK = 0x20
_PUBLISH_QOS0 = 0x30
_DISCONNECT = b"\xe0\x00"
_CLEAN_SESSION = 0x02
_TIMEOUT_S = 5.0


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _varint(len(body)) + body


class ButtonPublisher:
    """``with ButtonPublisher(host, port, "bench-button") as button: button.press(topic, b"stop")``"""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self._address = (host, port)
        self._client_id = client_id
        self._sock: socket.socket | None = None

    def __enter__(self) -> ButtonPublisher:
        sock = socket.create_connection(self._address, timeout=_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        header = _string("MQTT") + bytes([4, _CLEAN_SESSION]) + struct.pack("!H", 0)
        sock.sendall(_packet(_CONNECT, header + _string(self._client_id)))
        ack = b""
        while len(ack) < 4:
            chunk = sock.recv(4 - len(ack))
            if not chunk:
                break
            ack += chunk
        if len(ack) < 4 or ack[0] != _CONNACK or ack[3] != 0:
            sock.close()
            raise MqttBridgeError(f"the broker at {self._address} refused the button: {ack!r}")
        self._sock = sock
        return self

    def press(self, topic: str, payload: bytes) -> None:
        """Publish now: the PUBLISH is in the socket when this returns."""
        assert self._sock is not None, "use it as a context manager"
        self._sock.sendall(_packet(_PUBLISH_QOS0, _string(topic) + payload))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.sendall(_DISCONNECT)
            self._sock.close()
            self._sock = None
