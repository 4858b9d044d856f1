"""The probe's safety: it never commands above its bound, and a stop (or a fault) during any
step stops the belt through the one stop path (fault-matrix style)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from probe_helpers import ProbeRun, run_probe

from sim.profiles import MPH_KMH, Profile
from treadcoach.probe import Step, analyse
from treadcoach.safety.reasons import StopReason

SET_SPEED, START, SET_INCLINE = 0x02, 0x07, 0x03
STOP = b"\x08\x01"
MOVING_STEPS = [Step.START, Step.UNITS, Step.INCREMENT, Step.HOLD, Step.KEEPALIVE, Step.STOP]


def _speeds(writes: list[bytes]) -> list[float]:
    return [int.from_bytes(w[1:3], "little") / 100 for w in writes if w[0] == SET_SPEED]


def _assert_stopped_after_request(run: ProbeRun, *, link_open: bool) -> None:
    assert run.aborted is not None
    assert run.aborted.reason is StopReason.KEY
    assert run.belt_kmh_after == 0.0
    assert run.target_kmh_after == 0.0
    assert run.stop_requested_at is not None
    # the one stop path: the link's own stop, asked as the user asks it, in the same instant
    # (before the survey's raw look and the control step nothing has started the belt)
    assert run.stop_requested_time is not None
    if link_open:
        assert any(t == run.stop_requested_time and take for t, take, _ in run.link_stops), (
            run.link_stops
        )
    after = run.writes[run.stop_requested_at :]
    moving = [w for w in after if w[0] in (SET_SPEED, START, SET_INCLINE)]
    assert moving == [], f"commands after the stop request: {[w.hex() for w in moving]}"


# This machine runs every step, each for more than a second: the keep-alive step only runs
# after a revert was seen, and a locked console makes the console step wait its full time.
EVERY_STEP = "speed_revert+console_lock"


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.value)
@pytest.mark.parametrize("delay_s", [0.0, 1.0], ids=["as-it-begins", "1s-in"])
def test_a_stop_during_any_probe_step_stops_the_belt(step: Step, delay_s: float) -> None:
    run = run_probe(EVERY_STEP, stop_at=step, stop_delay_s=delay_s)
    _assert_stopped_after_request(run, link_open=step not in (Step.SURVEY, Step.CONTROL))
    if run.record is not None:  # what was measured before the stop is still reported
        assert "aborted" in {f.topic for f in analyse(run.record).findings}
    assert run.record is None or run.record.aborted is not None
    if step in MOVING_STEPS:
        # the belt was running: the first thing on the air after the request is Stop
        assert run.writes[run.stop_requested_at :][:1] == [STOP]


def test_the_fault_matrix_covers_every_step_the_probe_runs() -> None:
    run = run_probe(EVERY_STEP)
    assert run.record is not None
    assert set(run.record.marks) == set(Step)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("stale", StopReason.STALE),
        ("safety_key", StopReason.SAFETY_KEY),
        ("disconnect", StopReason.DISCONNECT),
        ("control_lost", StopReason.CONTROL_LOST),
    ],
)
@pytest.mark.parametrize("step", [Step.START, Step.UNITS, Step.HOLD], ids=lambda s: s.value)
def test_a_fault_during_a_moving_step_ends_the_probe_with_its_reason(
    fault: str, reason: StopReason, step: Step
) -> None:
    run = run_probe("standard", fault_at=(step, fault))
    assert run.aborted is not None
    assert run.aborted.reason is reason
    if fault == "control_lost":
        # invariant 3: the console has the belt now; nothing more is sent, Stop included
        assert run.record is not None
        lost_at = run.record.control_lost_at
        assert lost_at is not None
        assert [c for c in run.record.commands if c.at > lost_at] == []
    else:
        assert run.belt_kmh_after == 0.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    min_tenths=st.integers(3, 25),
    increment=st.sampled_from([0.1, 0.2, 0.32, 0.5]),
    mph=st.booleans(),
    start_delay_s=st.sampled_from([0.0, 3.0]),
    revert_after_s=st.sampled_from([0.0, 4.0]),
    missing_ranges=st.booleans(),
    needs_running_s=st.sampled_from([0.0, 2.5]),
    control_required=st.booleans(),
)
def test_the_probe_never_commands_or_runs_the_belt_above_its_bound(
    min_tenths: int,
    increment: float,
    mph: bool,
    start_delay_s: float,
    revert_after_s: float,
    missing_ranges: bool,
    needs_running_s: float,
    control_required: bool,
) -> None:
    lo = min_tenths / 10
    profile = Profile(
        name="hypothesis",
        name_prefix="HYP-",
        description="drawn by hypothesis",
        min_kmh=lo,
        max_kmh=lo + 8.0,
        speed_increment_kmh=increment,
        mph_target=mph,
        start_delay_s=start_delay_s,
        revert_after_s=revert_after_s,
        revert_kmh=lo,
        missing_ranges=missing_ranges,
        speed_needs_running_s=needs_running_s,
        control_required=control_required,
    )
    run = run_probe(profile)
    assert run.record is not None
    if run.aborted is not None:
        # Only a machine whose minimum the probe cannot know (no 0x2AD4) and that runs faster
        # than the probe assumed is stopped, by the probe's own overspeed check; any other is
        # probed to the end.
        assert missing_ranges, run.aborted
        # the limit before the belt settled: max(default minimum + 1, minimum as mph) + 0.3
        assert lo * (MPH_KMH if mph else 1.0) > max(2.0, 1.0 * MPH_KMH) + 0.3 - 1e-9
        assert run.aborted.reason is StopReason.OVERSPEED
        assert "minimum is not known" in run.aborted.detail
    link_lo = run.record.speed_range[0]  # 0x2AD4's minimum, or treadcoach's default
    bound = run.record.bound_kmh
    assert bound == pytest.approx(link_lo + 1.0)
    sent = _speeds(run.writes)
    assert sent, "the probe commanded no speed at all"
    assert max(sent) <= bound + 1e-9
    # The belt itself: at most the bound, or the slowest the machine runs at all (an mph
    # machine's minimum is 1.61x the number it reads; without 0x2AD4 the probe cannot know the
    # minimum, and Start runs the belt at it whatever was asked).
    slowest = lo * (MPH_KMH if mph else 1.0)
    reported = [s.speed_kmh or 0.0 for s in run.record.samples]
    assert max(reported) <= max(bound, slowest) + 0.05
    assert run.max_belt_kmh <= max(bound, slowest) + 0.05
