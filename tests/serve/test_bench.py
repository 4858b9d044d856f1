"""The serve measurements run and report what they measured (their numbers are not asserted)."""

from __future__ import annotations

import pytest

from treadcoach.serve.bench import served_footprint, stop_click_latency

pytestmark = pytest.mark.timeout(90)


async def test_stop_click_latency_measures_every_click_at_the_simulator() -> None:
    result = await stop_click_latency(3)
    assert result["bench"] == "serve_stop_click"
    assert result["n"] == 3
    assert result["p50_ms"] > 0


async def test_served_footprint_sees_one_view_process_and_its_output() -> None:
    result = await served_footprint(duration_s=0.5, settle_s=0.5)
    assert result["session_phase"] == "running"
    assert result["view_processes"] >= 1  # the shell textual-serve starts, and/or the view
    assert result["view_rss_mb"] > 10
    assert result["terminal_kb_per_s"] > 0
