"""``treadcoach bench journal``: what one committed ``Journal.append`` costs.

Appends telemetry events into a fresh journal in a temporary directory, one transaction each,
as a session does, and reports events/s and per-append latency: as fast as possible (throughput;
the WAL then outruns the background checkpoints and grows until close), at 50 Hz (what a session
sees), and with ``synchronous=FULL`` (an fsync per commit), so the durability choice in
``journal.py`` stays an informed one.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from treadcoach.coach.events import SegmentStarted, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.history.journal import Journal

__all__ = ["bench"]

DEFAULT_N = 5000
PACED_N = 500


def _run(path: Path, n: int, *, synchronous: str, rate_hz: float | None = None) -> dict[str, float]:
    with Journal.open(path) as journal:
        journal._db.execute(f"PRAGMA synchronous={synchronous}")
        session_id = journal.begin_session(
            plan="bench",
            device="bench",
            address="bench",
            simulated=True,
            planned_backward_s=0.0,
            planned_duration_s=n / 10,
            started_at=datetime.now(UTC),
        )
        journal.append(
            session_id,
            SegmentStarted(t=0.0, index=0, kind=SegmentKind.BACKWARD_WALK, target_kmh=3.2, total=1),
        )
        events = [
            Telemetry(
                t=i / 10,
                speed_kmh=3.2,
                distance_m=i * 0.089,
                heart_rate_bpm=110,
                segment_remaining=None,
            )
            for i in range(1, n + 1)
        ]
        samples: list[float] = []
        wall = time.perf_counter()
        for event in events:
            start = time.perf_counter()
            journal.append(session_id, event)
            samples.append(time.perf_counter() - start)
            if rate_hz is not None:
                time.sleep(max(0.0, 1 / rate_hz - (time.perf_counter() - start)))
        wall = time.perf_counter() - wall
        wal = path.with_name(path.name + "-wal")
        wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
    samples.sort()
    return {
        "events_per_s": round(n / wall),
        "p50_us": round(statistics.median(samples) * 1e6, 1),
        "p99_us": round(samples[int(0.99 * (len(samples) - 1))] * 1e6, 1),
        "max_us": round(samples[-1] * 1e6, 1),
        "wal_mb": round(wal_mb, 2),
    }


def bench(options: Any) -> dict[str, Any]:
    n = getattr(options, "n", None) or DEFAULT_N
    with tempfile.TemporaryDirectory(prefix="treadcoach-bench-") as tmp:
        burst = _run(Path(tmp) / "burst.sqlite3", n, synchronous="NORMAL")
        # a session's pace (telemetry is ~10 Hz; 50 Hz keeps this to ~10 s): checkpoints keep
        # up between appends, so the WAL stays small and latency is what the loop sees
        paced = _run(Path(tmp) / "paced.sqlite3", PACED_N, synchronous="NORMAL", rate_hz=50.0)
        full = _run(Path(tmp) / "full.sqlite3", max(1, n // 5), synchronous="FULL")
    return {"n": n, **burst, "paced_50hz": paced, "full_sync": full}
