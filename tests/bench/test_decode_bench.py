"""``treadcoach bench decode`` runs and reports its numbers (never timed here)."""

from __future__ import annotations

from treadcoach.bench import BenchOptions
from treadcoach.bench.decode import bench, sample_packets
from treadcoach.ftms import TreadmillDataAssembler, decode_treadmill_data


def test_bench_decodes_at_least_the_requested_packets_and_reports_rates() -> None:
    result = bench(BenchOptions(n=50))
    assert set(result) >= {"packets", "seconds", "packets_per_s", "us_per_packet"}
    assert result["packets"] >= 50
    assert result["packets_per_s"] > 0


def test_bench_mix_is_real_treadmill_data_with_a_split_record() -> None:
    singles, fragments = sample_packets()
    assert all(decode_treadmill_data(packet).speed_kmh is not None for packet in singles)
    assert len(fragments) >= 2
    assert all(len(packet) <= 20 for packet in fragments)
    assembler = TreadmillDataAssembler()
    assert [assembler.feed(packet) is None for packet in fragments] == [True] * (
        len(fragments) - 1
    ) + [False]
