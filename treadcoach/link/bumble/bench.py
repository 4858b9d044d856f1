"""Benchmarks over the bumble stack: stop latency and connect time at real connection intervals.

    from treadcoach.link.bumble.bench import run_bench
    for record in run_bench():          # one dict per (measure, interval)
        print(json.dumps(record))

or ``python -m treadcoach.link.bumble.bench [--n N] [--connects N] [--interval-ms MS ...]``
(one JSON object per line). Everything runs in this process on the *real* clock: the link
(``TreadmillLink`` over ``treadcoach.link.bumble``) drives the simulated treadmill served by
bumble's GATT server (``sim.bumble_peripheral``), two virtual controllers on a
``ConnectionEventLink`` that holds every packet until the next connection event.

``stop`` records: stop input (``link.stop()`` called, at a random phase of the connection
interval) -> ``08 01`` received by the treadmill's GATT server. ``p50_ms`` / ``p99_ms`` of that;
``air_wait_*`` is the part spent waiting for the next connection event after the packet was
handed to the radio (the physical floor, between 0 and one interval); ``software_*`` is the
rest: treadcoach + bleak + bumble's host, from the input to the packet reaching the radio --
what treadcoach adds above the connection interval. DESIGN's target: stop input -> Stop at the
treadmill within one connection interval + 2 ms.

``connect`` records: ``TreadmillLink`` entered (scan, connect, MTU exchange, discovery,
subscriptions, Request Control) -> the first Treadmill Data notification (``first_telemetry_*``),
and the connect alone (``connect_*``), at ``notify_hz`` 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
from collections.abc import Sequence
from typing import Any, Final

import sim
from sim.bumble_peripheral import BumblePeripheral
from treadcoach.ftms import uuids
from treadcoach.link import TelemetryEvent, TreadmillLink
from treadcoach.link.bumble._adapter import BumbleAdapter
from treadcoach.link.bumble.air import ConnectionEventLink, device_on_air

__all__ = ["DEFAULT_INTERVALS_S", "bench_connect", "bench_stop", "main", "run_bench"]

DEFAULT_INTERVALS_S: Final = (0.0075, 0.03, 0.05)
_STOP: Final = bytes([0x08, 0x01])
_ATT_WRITE_REQUEST: Final = 0x12
_ATT_CID: Final = 0x0004


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def _summary(prefix: str, seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        f"{prefix}p50_ms": round(_percentile(ms, 50), 3),
        f"{prefix}p99_ms": round(_percentile(ms, 99), 3),
        f"{prefix}max_ms": round(max(ms), 3),
    }


class _WatchedAir(ConnectionEventLink):
    """Notes when a Write Request carrying ``08 01`` is handed to the radio."""

    def __init__(self, interval_s: float) -> None:
        super().__init__(interval_s)
        self.stop_handed_at: list[float] = []

    def send_acl_data(
        self, sender_controller: Any, destination_address: Any, transport: Any, data: bytes
    ) -> None:
        # L2CAP basic header (length, CID) then the ATT PDU: opcode, handle, value
        if (
            len(data) >= 9
            and int.from_bytes(data[2:4], "little") == _ATT_CID
            and data[4] == _ATT_WRITE_REQUEST
            and data[7:9] == _STOP
        ):
            self.stop_handed_at.append(asyncio.get_running_loop().time())
        super().send_acl_data(sender_controller, destination_address, transport, data)


class _WatchedPeripheral(BumblePeripheral):
    """Notes when the treadmill's GATT server receives ``08 01`` on the control point."""

    stop_received_at: list[float]

    def _write(self, connection: Any, uuid: str, data: bytes) -> None:
        if uuid == uuids.CONTROL_POINT_UUID and bytes(data) == _STOP:
            self.stop_received_at.append(asyncio.get_running_loop().time())
        super()._write(connection, uuid, data)


async def bench_stop(interval_s: float, n: int = 100) -> dict[str, Any]:
    """Stop latency over ``n`` stops at connection interval ``interval_s`` (real clock)."""
    air = _WatchedAir(interval_s)
    loop = asyncio.get_running_loop()
    rng = random.Random(1)
    totals: list[float] = []
    software: list[float] = []
    air_wait: list[float] = []
    async with sim.SimTreadmill(notify_hz=2.0) as treadmill:
        peripheral = _WatchedPeripheral(treadmill, device_on_air(air, treadmill.address, "tm"))
        peripheral.stop_received_at = []
        async with peripheral, BumbleAdapter.on_air(air) as adapter:
            link = TreadmillLink(
                treadmill.address,
                client_backend=adapter.client_backend,
                scanner_backend=adapter.scanner_backend,
            )
            async with link:
                await link.start()
                for _ in range(n):
                    # a stop input lands at any phase of the connection interval
                    await asyncio.sleep(rng.uniform(0.0, max(interval_s, 0.001)))
                    handed, received = len(air.stop_handed_at), len(peripheral.stop_received_at)
                    pressed = loop.time()
                    await link.stop()  # the Stop and its indication: the link is idle again
                    if len(peripheral.stop_received_at) == received:
                        continue  # not written (cannot happen on a live link); not a sample
                    got = peripheral.stop_received_at[received]
                    on_air = air.stop_handed_at[handed]
                    totals.append(got - pressed)
                    software.append(on_air - pressed)
                    air_wait.append(got - on_air)
    return {
        "bench": "bumble-stop-latency",
        "interval_ms": interval_s * 1000,
        "n": len(totals),
        **_summary("", totals),
        **_summary("software_", software),
        **_summary("air_wait_", air_wait),
        "above_interval_p99_ms": round(_percentile(totals, 99) * 1000 - interval_s * 1000, 3),
        "clock": "real",
    }


async def bench_connect(interval_s: float, n: int = 3) -> dict[str, Any]:
    """Connect and connect -> first telemetry, ``n`` times, at ``interval_s`` (real clock)."""
    loop = asyncio.get_running_loop()
    connects: list[float] = []
    firsts: list[float] = []
    for _ in range(n):
        air = ConnectionEventLink(interval_s)
        async with sim.SimTreadmill(notify_hz=10.0) as treadmill:
            device = device_on_air(air, treadmill.address, "tm")
            async with BumblePeripheral(treadmill, device), BumbleAdapter.on_air(air) as adapter:
                began = loop.time()
                link = TreadmillLink(
                    treadmill.address,
                    client_backend=adapter.client_backend,
                    scanner_backend=adapter.scanner_backend,
                )
                async with link:
                    connects.append(loop.time() - began)
                    async for event in link.events():
                        if isinstance(event, TelemetryEvent):
                            firsts.append(event.at - began)  # when it arrived (loop clock)
                            break
    return {
        "bench": "bumble-connect",
        "interval_ms": interval_s * 1000,
        "n": len(connects),
        **_summary("connect_", connects),
        **_summary("first_telemetry_", firsts),
        "notify_hz": 10.0,
        "clock": "real",
    }


def run_bench(
    intervals_s: Sequence[float] = DEFAULT_INTERVALS_S, *, n: int = 100, connects: int = 3
) -> list[dict[str, Any]]:
    """Every measure at every interval, on a fresh real-time loop each; one dict per line."""
    records: list[dict[str, Any]] = []
    for interval_s in intervals_s:
        records.append(asyncio.run(bench_stop(interval_s, n)))
        records.append(asyncio.run(bench_connect(interval_s, connects)))
    return records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m treadcoach.link.bumble.bench")
    parser.add_argument("--n", type=int, default=100, help="stops per interval")
    parser.add_argument("--connects", type=int, default=3, help="connects per interval")
    parser.add_argument(
        "--interval-ms", type=float, action="append", help="connection interval (repeatable)"
    )
    args = parser.parse_args(argv)
    intervals = tuple(ms / 1000 for ms in args.interval_ms) if args.interval_ms else None
    for record in run_bench(intervals or DEFAULT_INTERVALS_S, n=args.n, connects=args.connects):
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
