"""Each golden stream re-recorded on today's code equals its committed baseline.

A difference is either a bug in a refactor (an extraction commit must not change any stream) or a
deliberate behaviour change: then re-record (``PYTHONPATH=$PWD python tests/golden/record.py``) in
the same commit and say why. The failure names the first differing line of the stream.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from golden_streams import MATRIX_FAULTS, SCENARIOS, Scenario, first_difference, load, record

from treadcoach.coach.library import builtin_plans

FAULT_MATRIX = Path(__file__).resolve().parents[1] / "safety" / "test_fault_matrix_cli.py"
RERECORD = "re-record on purpose with: PYTHONPATH=$PWD python tests/golden/record.py"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_session_stream_and_every_control_point_write_match_the_golden_baseline(
    scenario: Scenario,
) -> None:
    assert scenario.path.exists(), f"no baseline {scenario.path.name}; {RERECORD} {scenario.name}"
    diff = first_difference(scenario.name, load(scenario), record(scenario))
    if diff is not None:
        pytest.fail(f"{diff}\n{RERECORD} {scenario.name}", pytrace=False)


def test_recording_is_deterministic() -> None:
    # Two recordings in one process (simulator addresses and counters move on) are identical,
    # so a difference against the baseline is the code's, not the recorder's.
    scenario = next(s for s in SCENARIOS if s.name == "fault-disconnect")
    assert first_difference(scenario.name, record(scenario), record(scenario)) is None


def _matrix_fault_specs() -> set[str]:
    """The ``KIND@T`` of every case in the CLI fault matrix's ``FAULTS`` list (read, not run)."""
    tree = ast.parse(FAULT_MATRIX.read_text("utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "FAULTS" for t in node.targets)
            and isinstance(node.value, ast.List)
        ):
            specs = set()
            for case in node.value.elts:
                assert isinstance(case, ast.Call), ast.dump(case)
                spec = case.args[1]
                assert isinstance(spec, ast.Constant), ast.dump(spec)
                specs.add(str(spec.value))
            return specs
    raise AssertionError(f"no FAULTS list in {FAULT_MATRIX}")


def test_every_fault_matrix_case_and_every_built_in_plan_has_a_golden_stream() -> None:
    recorded = {spec for _, spec in MATRIX_FAULTS}
    assert _matrix_fault_specs() <= recorded
    plans = {s.plan for s in SCENARIOS if not s.faults}
    assert {entry.name for entry in builtin_plans()} <= plans
