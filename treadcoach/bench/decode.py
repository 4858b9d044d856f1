"""``treadcoach bench decode``: Treadmill Data decode rate on a realistic mix of packets.

The mix is what treadmills in the wild send (see DESIGN.md and the quirks reference): speed only,
speed + distance + elapsed time (a typical walking pad), the same with heart rate, a full packet
with every field, and a full record split into More Data fragments fed through the assembler.
Every packet is decoded once per round; the result counts packets, not records.

Wall time is measured with ``time.perf_counter`` because this measures the host, not a session.
"""

from __future__ import annotations

import time
from typing import Protocol

from treadcoach.ftms import (
    TreadmillData,
    TreadmillDataAssembler,
    decode_treadmill_data,
    encode_treadmill_data,
    split_treadmill_data,
)

__all__ = ["bench", "sample_packets"]

_DEFAULT_SECONDS = 1.0


class _Options(Protocol):
    @property
    def n(self) -> int | None: ...


_FULL = TreadmillData(
    speed_kmh=4.83,
    average_speed_kmh=4.1,
    distance_m=1234,
    inclination_pct=1.5,
    ramp_angle_deg=0.9,
    positive_elevation_gain_m=12.3,
    negative_elevation_gain_m=0.0,
    instantaneous_pace_km_per_min=0.8,
    average_pace_km_per_min=0.7,
    energy_kcal=87,
    energy_per_hour_kcal=310,
    energy_per_minute_kcal=5,
    heart_rate_bpm=128,
    met=4.5,
    elapsed_s=912,
    remaining_s=888,
    force_on_belt_n=None,
    power_w=None,
)


def sample_packets() -> tuple[list[bytes], list[bytes]]:
    """(single packets, fragments of one split record): the benchmark's input, also for pyftms."""
    singles = [
        encode_treadmill_data(TreadmillData(speed_kmh=3.22)),
        encode_treadmill_data(TreadmillData(speed_kmh=3.22, distance_m=412, elapsed_s=461)),
        encode_treadmill_data(
            TreadmillData(speed_kmh=4.83, distance_m=1210, heart_rate_bpm=131, elapsed_s=905)
        ),
        encode_treadmill_data(_FULL),
    ]
    fragments = split_treadmill_data(_FULL, max_len=20)
    return singles, fragments


def bench(options: _Options) -> dict[str, float | int]:
    singles, fragments = sample_packets()
    round_size = len(singles) + len(fragments)
    assembler = TreadmillDataAssembler()
    decode = decode_treadmill_data
    feed = assembler.feed

    def one_round() -> None:
        for packet in singles:
            decode(packet)
        for packet in fragments:
            feed(packet)

    for _ in range(3):  # compile the per-flags decoders outside the measurement
        one_round()
    # Batches of rounds: the total gives the mean rate; the fastest batch shows the rate on a
    # quiet host (CI and shared machines are noisy).
    target_rounds = None if options.n is None else max(1, -(-options.n // round_size))
    batch_rounds = 200 if target_rounds is None else min(200, target_rounds)
    rounds, elapsed, best_batch = 0, 0.0, float("inf")
    while True:
        start = time.perf_counter()
        for _ in range(batch_rounds):
            one_round()
        batch = time.perf_counter() - start
        rounds += batch_rounds
        elapsed += batch
        best_batch = min(best_batch, batch / batch_rounds)
        if target_rounds is None:
            if elapsed >= _DEFAULT_SECONDS:
                break
        elif rounds >= target_rounds:
            break
        else:
            batch_rounds = min(batch_rounds, target_rounds - rounds)
    packets = rounds * round_size
    return {
        "packets": packets,
        "seconds": round(elapsed, 4),
        "packets_per_s": round(packets / elapsed),
        "us_per_packet": round(elapsed / packets * 1e6, 3),
        "best_us_per_packet": round(best_batch / round_size * 1e6, 3),
    }
