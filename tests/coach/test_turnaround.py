"""The turnaround's settle rule (treadcoach.coach.turnaround), as a table."""

from __future__ import annotations

import pytest

from treadcoach.coach.turnaround import Gate, TurnGate, slowest_kmh


def gate() -> TurnGate:
    # turnaround 1 km/h, "at turnaround speed" up to 1.5 km/h, 20 s to settle from t=10
    return TurnGate(1.0, 1.5, 20.0, now_s=10.0)


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        ([(1.0, 11.0)], Gate.GO),
        ([(1.5, 11.0)], Gate.GO),  # the tolerance is inclusive
        ([(4.0, 11.0)], Gate.WAIT),  # still slowing, inside the settle time
        ([(4.0, 29.9)], Gate.WAIT),
        ([(4.0, 30.0)], Gate.STOP),  # the settle time ran out
        ([(1.0, 11.0), (2.0, 12.0)], Gate.STOP),  # sped up after it had settled
        ([(1.0, 11.0), (1.4, 12.0)], Gate.GO),
        ([(4.0, 15.0), (1.2, 16.0), (3.0, 17.0)], Gate.STOP),
    ],
)
def test_the_countdown_runs_only_with_the_belt_at_turnaround_speed(
    readings: list[tuple[float, float]], expected: Gate
) -> None:
    g = gate()
    verdicts = [g.judge(speed, at) for speed, at in readings]
    assert verdicts[-1].gate is expected


def test_a_stop_names_why() -> None:
    g = gate()
    late = g.judge(3.0, 31.0)
    assert (late.kind, "did not slow" in late.detail) == ("belt_did_not_slow", True)
    g = gate()
    g.judge(1.0, 11.0)
    faster = g.judge(2.0, 12.0)
    assert (faster.kind, "sped up to 2.0 km/h" in faster.detail) == ("belt_sped_up", True)


def test_after_a_hold_the_belt_gets_the_whole_settle_time_again() -> None:
    g = gate()
    g.judge(1.0, 11.0)
    g.restart(now_s=40.0)  # past the first deadline, and the console left the belt fast
    wait = g.judge(4.0, 41.0)
    assert (wait.gate, wait.wait_s) == (Gate.WAIT, 19.0)
    assert g.judge(4.0, 60.0).gate is Gate.STOP


@pytest.mark.parametrize(
    ("turnaround", "minimum", "slowest"), [(1.0, None, 1.0), (1.0, 0.5, 1.0), (0.5, 1.0, 1.0)]
)
def test_a_belt_with_a_higher_minimum_turns_at_its_minimum(
    turnaround: float, minimum: float | None, slowest: float
) -> None:
    assert slowest_kmh(turnaround, minimum) == slowest
