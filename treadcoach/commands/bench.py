"""``treadcoach bench NAME``: run one benchmark and print its result as one JSON line.

Benchmarks live beside the code they measure, as ``def bench(options: BenchOptions) -> dict``;
this table names them. Numbers are measured, never asserted: tests do not time things.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass

__all__ = ["BENCHMARKS", "BenchOptions"]


@dataclass(frozen=True, slots=True)
class BenchOptions:
    n: int | None  # repetitions / samples (None: the benchmark's default)


# name -> ("module[:function]", help). The function (default ``bench``) takes BenchOptions and
# returns a dict.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "decode": ("treadcoach.ftms.bench", "Treadmill Data decode rate (packets/s)"),
    "sim45": ("sim.bench", "45-minute simulator run on the virtual clock (wall seconds)"),
    "plan45": ("treadcoach.coach.bench", "45-minute plan against the simulator, virtual clock"),
    "boundary": ("treadcoach.coach.bench:bench_boundary", "segment start error, real clock"),
    "stop-latency": ("treadcoach.safety.bench", "stop input -> Stop opcode at bleak's write"),
    "stop-latency-fleet": (
        "treadcoach.safety.bench:bench_fleet",
        "the same, 20 treadmills at once",
    ),
    "mqtt-stop": ("treadcoach.mqtt.bench", "MQTT stop publish -> request_stop via local mosquitto"),
    "journal": ("treadcoach.history.bench", "journal append: events/s and latency"),
    "tui-idle": ("treadcoach.tui.bench", "idle session screen: CPU % of a core and RSS"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="which benchmark")
    parser.add_argument("-n", type=int, default=None, help="samples / repetitions")


def run(args: argparse.Namespace) -> int:
    target, _ = BENCHMARKS[args.name]
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        print(f"treadcoach bench {args.name}: not built yet", file=sys.stderr)
        return 2
    result = getattr(module, function or "bench")(BenchOptions(n=args.n))
    print(json.dumps({"bench": args.name, **result}))
    return 0
