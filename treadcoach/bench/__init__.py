"""Benchmarks behind ``treadcoach bench NAME``: one module per family, outside the product packages.

Each benchmark is ``def bench(options: BenchOptions) -> dict`` (or another function named in
``treadcoach.commands.bench.BENCHMARKS``) and returns the numbers it measured; the command prints
them as one JSON line. Numbers are measured here, never asserted: tests do not time things.

This package sits above every other layer (it may import anything: it drives the simulator, the
controller, the TUI and the MQTT bridge together) and nothing in the product imports it, so a
benchmark can never make two product packages depend on each other.

- :mod:`.decode`        ``decode``: Treadmill Data decode rate
- :mod:`.plan`          ``plan45`` and ``boundary``: whole sessions on the virtual and the real clock
- :mod:`.stop_latency`  ``stop-latency`` (direct, TUI key, MQTT; with and without a CPU hog) and
  ``stop-latency-fleet``
- :mod:`.mqtt_stop`     ``mqtt-stop``: MQTT publish -> ``request_stop``
- :mod:`.journal`       ``journal``: SQLite journal append
- :mod:`.tui_idle`      ``tui-idle``: CPU and RSS of an idle session screen
- :mod:`.hr_zone`       ``hr-zone``: a heart-rate zone steered by a whole session, simulated strap
- :mod:`.hog`           the CPU hog (one busy process per core)
- :mod:`.stats`         percentiles and the ``n``/``p50_ms``/``p99_ms`` summary
- :mod:`.doubles`       the one session stand-in the benchmarks share
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BenchOptions"]


@dataclass(frozen=True, slots=True)
class BenchOptions:
    n: int | None  # repetitions / samples (None: the benchmark's default)
    hog: bool = True  # stop-latency: also measure beside a CPU hog on every core
    slots: int | None = None  # stop-latency: sessions side by side (None: its default)
    # stop-latency: leave its broker at ordinary priority (default: the stop priority, as README
    # "Stop priority" tells a user whose broker shares the machine)
    ordinary_broker: bool = False
