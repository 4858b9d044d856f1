"""``treadcoach bench NAME``: run one benchmark and print its result as one JSON line.

The benchmarks live in :mod:`treadcoach.bench` (one module per family, outside the product
packages) as ``def bench(options: BenchOptions) -> dict``; this table names them. Numbers are
measured, never asserted: tests do not time things.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from treadcoach.bench import BenchOptions

__all__ = ["BENCHMARKS", "BenchOptions"]


# name -> ("module[:function]", help). The function (default ``bench``) takes BenchOptions and
# returns a dict.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "decode": ("treadcoach.bench.decode", "Treadmill Data decode rate (packets/s)"),
    "sim45": ("sim.bench", "45-minute simulator run on the virtual clock (wall seconds)"),
    "plan45": ("treadcoach.bench.plan", "45-minute plan against the simulator, virtual clock"),
    "boundary": ("treadcoach.bench.plan:bench_boundary", "segment start error, real clock"),
    "stop-latency": (
        "treadcoach.bench.stop_latency",
        "stop input -> Stop opcode at bleak's write: direct, TUI key, MQTT; also beside a CPU hog",
    ),
    "stop-latency-fleet": (
        "treadcoach.bench.stop_latency:bench_fleet",
        "the same, 20 treadmills at once",
    ),
    "mqtt-stop": (
        "treadcoach.bench.mqtt_stop",
        "MQTT stop publish -> request_stop via local mosquitto",
    ),
    "ble-latency": (
        "treadcoach.bench.ble",
        "over bumble at 7.5/30/50 ms intervals: stop -> 08 01 at the treadmill, connect time",
    ),
    "journal": ("treadcoach.bench.journal", "journal append: events/s and latency"),
    "tui-idle": ("treadcoach.bench.tui_idle", "idle session screen: CPU % of a core and RSS"),
    "hr-zone": (
        "treadcoach.bench.hr_zone",
        "a heart-rate zone on the simulated strap, whole session, virtual time (-n: minutes)",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="which benchmark")
    parser.add_argument("-n", type=int, default=None, help="samples / repetitions")
    parser.add_argument(
        "--no-hog",
        dest="hog",
        action="store_false",
        help="stop-latency: skip the second round beside a CPU hog on every core",
    )
    parser.add_argument(
        "--ordinary-broker",
        action="store_true",
        help="stop-latency: leave its mosquitto at ordinary priority (it shares the cores)",
    )
    parser.add_argument(
        "--slots",
        type=_at_least_two,
        default=None,
        help="stop-latency: sessions side by side (fewer: slower, but less load of its own)",
    )


def _at_least_two(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be a whole number, 2 or more, not {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    target, _ = BENCHMARKS[args.name]
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        print(f"treadcoach bench {args.name}: not built yet", file=sys.stderr)
        return 2
    result = getattr(module, function or "bench")(
        BenchOptions(n=args.n, hog=args.hog, slots=args.slots, ordinary_broker=args.ordinary_broker)
    )
    print(json.dumps({"bench": args.name, **result}))
    return 0
