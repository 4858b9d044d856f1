"""The connection-event radio (``air.ConnectionEventLink``) and the bumble bench's records."""

from __future__ import annotations

import asyncio
import math

import pytest

pytest.importorskip("bumble")

from treadcoach.clock import run
from treadcoach.link.bumble import ConnectionEventLink, parse_advertising_data
from treadcoach.link.bumble.bench import bench_connect, bench_stop


def test_packets_wait_for_the_next_connection_event_and_keep_their_order() -> None:
    async def scenario() -> list[tuple[float, int]]:
        air = ConnectionEventLink(0.03)
        loop = asyncio.get_running_loop()
        got: list[tuple[float, int]] = []
        await asyncio.sleep(0.001)  # just after an event at t=0
        for i in range(3):
            air._at_next_event(lambda i=i: got.append((loop.time(), i)))
        await asyncio.sleep(0.031)  # at t=0.032, past the event at 0.030
        air._at_next_event(lambda: got.append((loop.time(), 3)))
        await asyncio.sleep(0.1)
        return got

    got = run(scenario(), speedup=math.inf)
    assert [i for _, i in got] == [0, 1, 2, 3]
    assert [t for t, _ in got] == pytest.approx([0.03, 0.03, 0.03, 0.06])


def test_a_packet_sent_at_an_event_goes_at_the_next_one() -> None:
    air = ConnectionEventLink(0.05)
    assert air.next_event_at(0.05) == pytest.approx(0.10)
    assert air.next_event_at(0.0499) == pytest.approx(0.05)
    assert air.next_event_at(3 * 0.05) == pytest.approx(0.20)  # float-exact multiples too


@pytest.mark.parametrize("interval_s", [0.001, 5.0, -0.03])
def test_an_interval_ble_does_not_allow_is_refused(interval_s: float) -> None:
    with pytest.raises(ValueError, match=r"7\.5 ms to 4 s"):
        ConnectionEventLink(interval_s)


def test_advertising_parser_keeps_every_entry_and_prefers_the_complete_name() -> None:
    adv = bytes.fromhex("0201060303261806162618010100040854726505ff590001ff")
    rsp = bytes.fromhex("0d095472656164204d696c6c205804ff4c0009020a08")
    parsed = parse_advertising_data(adv, rsp)
    assert parsed.local_name == "Tread Mill X"
    assert parsed.shortened_name == "Tre"
    assert parsed.service_uuids == ["00001826-0000-1000-8000-00805f9b34fb"]
    assert parsed.service_data == {"00001826-0000-1000-8000-00805f9b34fb": b"\x01\x01\x00"}
    assert parsed.manufacturer_data == {0x0059: b"\x01\xff", 0x004C: b"\x09"}
    assert parsed.tx_power == 8


@pytest.mark.parametrize("junk", [b"\x05\x09ab", b"\x00\x09abc", b"\xff"])
def test_advertising_parser_stops_at_a_malformed_structure(junk: bytes) -> None:
    parsed = parse_advertising_data(bytes.fromhex("0408547265") + junk)
    assert parsed.local_name == "Tre"


def test_the_bench_reports_stop_latency_and_connect_records() -> None:
    stop = asyncio.run(bench_stop(0.0075, n=3))
    assert stop["bench"] == "bumble-stop-latency"
    assert stop["n"] == 3
    assert {"p50_ms", "p99_ms", "software_p99_ms", "air_wait_p99_ms"} <= stop.keys()
    connect = asyncio.run(bench_connect(0.0075, n=1))
    assert connect["n"] == 1
    assert {"connect_p50_ms", "first_telemetry_p50_ms"} <= connect.keys()
