"""The HR zone on the simulated strap and treadmill, on virtual time (tests/hr/hr_zone_sim.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hr_zone_sim import DEMO_ZONE, Row, run_zone_session

from treadcoach.coach.heart_rate import HrZone, ZoneState

CAP = 4.83


def _reversals(speeds: list[float]) -> int:
    moves = [b - a for a, b in itertools.pairwise(speeds) if abs(b - a) > 1e-9]
    return sum(1 for a, b in itertools.pairwise(moves) if (a > 0) != (b > 0))


def _entered(rows: list[Row]) -> Row:
    return next(r for r in rows if r.zone_state is ZoneState.IN)


def test_hr_settles_into_the_zone_within_minutes_without_overshoot_or_oscillation() -> None:
    rows = run_zone_session()
    first_in = _entered(rows)
    assert first_in.t_s <= 5 * 60
    after = [r for r in rows if r.t_s >= first_in.t_s]
    low, high = DEMO_ZONE.low, DEMO_ZONE.high
    assert all(r.bpm is not None and low - 1 <= r.bpm <= high for r in after)
    assert all(r.commanded_kmh <= CAP for r in rows)
    assert _reversals([r.commanded_kmh for r in rows]) == 0  # up, then steady: no hunting


def test_starting_too_fast_comes_down_into_the_zone_and_stays() -> None:
    zone = HrZone(95, 105)
    rows = run_zone_session(zone=zone, start_kmh=4.83)
    settled = [r for r in rows if r.t_s >= 5 * 60]
    assert all(r.bpm is not None and zone.low <= r.bpm <= zone.high for r in settled)
    assert max(r.bpm or 0 for r in rows) <= zone.high + 6  # the lag's overshoot, bounded
    assert _reversals([r.commanded_kmh for r in rows]) <= 1


@pytest.mark.parametrize("fault", ["contact_lost", "zero"])
def test_a_strap_off_the_skin_or_sending_0_bpm_holds_the_speed_and_never_stops(
    fault: str,
) -> None:
    rows = run_zone_session(minutes=12, strap_faults=(f"{fault}@360",))
    assert rows[-1].t_s >= 12 * 60 - 1  # the session ran on: no stop
    held = [r for r in rows if r.t_s >= 362]
    assert len({r.commanded_kmh for r in held}) == 1
    assert all(r.bpm is None for r in held)


def test_a_silent_strap_holds_after_5_s_then_is_reconnected_and_the_zone_goes_on() -> None:
    rows = run_zone_session(minutes=12, strap_faults=("stale@360",))
    assert rows[-1].t_s >= 12 * 60 - 1
    assert all(r.bpm is None for r in rows if 367 <= r.t_s <= 374)  # > 5 s old: not trusted
    held = {r.commanded_kmh for r in rows if 360 <= r.t_s <= 374}
    assert len(held) == 1
    assert all(r.bpm is not None for r in rows if r.t_s >= 400)  # dropped after 15 s, back


def test_a_dropped_strap_reconnects_before_its_reading_goes_stale() -> None:
    rows = run_zone_session(minutes=12, strap_faults=("drop@360",))
    # reconnected after the first 1 s backoff: the last reading is never > 5 s old
    assert all(r.bpm is not None for r in rows if r.t_s >= 60)
    assert all(r.zone_state is ZoneState.IN for r in rows if r.t_s >= 300)


def test_above_the_ceiling_the_speed_steps_down_never_up_and_the_pulse_comes_back() -> None:
    rows = run_zone_session(zone=None, hr_max_bpm=108, start_kmh=4.83, minutes=10)
    assert not any(r.stop for r in rows)
    assert max(r.bpm or 0 for r in rows) < 108 + 10  # never near the stop margin
    above = [i for i, r in enumerate(rows) if r.bpm is not None and r.bpm > 108]
    assert above  # the plan's speed was too much for this ceiling
    limits = [r.limit_kmh for r in rows[above[0] : above[-1] + 1]]
    assert all(a is not None and b is not None and b <= a for a, b in itertools.pairwise(limits))
    assert all(r.bpm is not None and r.bpm <= 108 for r in rows if r.t_s >= 5 * 60)
    assert all(r.commanded_kmh <= CAP for r in rows)


def test_far_above_the_ceiling_at_the_belt_minimum_stops_with_hr_ceiling_after_20_s() -> None:
    # a ceiling the person exceeds even at the slowest belt speed: step down, then stop
    rows = run_zone_session(zone=None, hr_max_bpm=85, start_kmh=4.0, floor_kmh=1.0, minutes=10)
    assert rows[-1].stop
    far = [r for r in rows if r.bpm is not None and r.bpm >= 85 + 10]
    assert rows[-1].t_s - far[0].t_s >= 20 - 1e-6
    assert min(r.commanded_kmh for r in rows[:-1] if r.t_s > 60) >= 1.0


def test_a_whole_session_settles_the_pulse_into_the_zone_without_overshoot_or_hunting() -> None:
    """The same, through the real Session and controller (``treadcoach bench hr-zone``)."""
    from treadcoach.bench.hr_zone import ZONE_BPM, run_zone

    rows, session = run_zone(minutes=12)
    summary = session.controller.summary
    assert summary is not None
    assert summary.completed
    first_in = _entered_zone(rows)
    assert first_in.t_s <= 5 * 60
    low, high = ZONE_BPM
    after = [r.bpm for r in rows if r.t_s >= first_in.t_s and r.t_s < 12 * 60 - 5]
    assert all(b is not None and low - 1 <= b <= high for b in after)
    targets = [r.target_kmh for r in rows if r.target_kmh is not None]
    assert max(targets) <= session.settings.limits.backward_max_kmh
    assert _reversals(targets[: len(after)]) == 0


def _entered_zone(rows: list) -> Any:  # type: ignore[type-arg]
    return next(r for r in rows if r.zone == "in")


def test_bench_hr_zone_prints_one_json_line_with_the_rows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from treadcoach.cli import main

    assert main(["bench", "hr-zone", "-n", "4"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert result["bench"] == "hr-zone"
    assert result["first_in_zone_s"] is not None
    assert result["speed_reversals"] == 0
    assert [row["t_s"] for row in result["rows"]][:2] == [pytest.approx(30), pytest.approx(60)]
