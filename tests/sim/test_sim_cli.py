"""``treadcoach sim`` and ``treadcoach bench sim45`` as a user runs them."""

from __future__ import annotations

import json

import pytest

from sim.bench import bench
from treadcoach.cli import main
from treadcoach.commands.bench import BenchOptions


def test_sim_command_prints_one_state_line_per_sim_second(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sim", "--speed", "4.83", "--fault", "safety_key@8", "--speedup", "inf"]
    assert main([*argv, "--duration", "10", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["central"] for e in events if "central" in e] == [
        "Request Control -> success",
        "Start/Resume -> success",
        "Set Target Speed -> success",
    ]
    lines = [e for e in events if "state" in e]
    assert [line["t"] for line in lines] == [float(t) for t in range(11)]
    assert lines[7]["speed_kmh"] == 4.83
    assert lines[8]["speed_kmh"] == 0.0
    assert lines[8]["state"] == "stopped"


def test_sim_command_rejects_a_bad_fault_with_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sim", "--fault", "stale@later", "--speedup", "inf", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "treadcoach: fault 'stale@later' is not valid: 'later' after '@' is not a number of seconds\n"
    )


def test_sim_command_lists_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--profile", "list"]) == 0
    assert "speed_needs_running" in capsys.readouterr().out


def test_sim45_bench_consumes_45_minutes_of_1_hz_notifications() -> None:
    result = bench(BenchOptions(n=1))
    assert result["virtual_s"] == 2700
    assert result["notifications"] == result["records"] == 2700
    assert result["wall_s"] > 0  # measured and reported, never asserted against a target


def test_sim_strap_walks_beside_the_belt_and_its_faults_show(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sim", "--speed", "3", "--strap", "--backward", "--strap-fault", "zero@100"]
    assert main([*argv, "--speedup", "inf", "--duration", "120", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    states = [line for line in lines if "state" in line]
    assert states[0]["strap_bpm"] == 65  # at rest
    assert states[90]["strap_bpm"] > states[10]["strap_bpm"] + 15  # backward at 3 km/h
    assert not any(s["strap_connected"] for s in states)  # nobody subscribed
    assert states[99]["strap_faults"] == []
    assert states[100]["strap_faults"] == ["zero"]


@pytest.mark.parametrize("option", [["--strap-fault", "drop@3"], ["--backward"]])
def test_strap_options_need_strap_in_one_line(
    option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", *option, "--speedup", "inf", "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert err == f"treadcoach: simulator setting {option[0]}: needs --strap\n"


def test_a_bad_strap_fault_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sim", "--strap", "--strap-fault", "cramp@3", "--speedup", "inf", "--duration", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown strap fault kind; choose one of drop, stale, zero" in err
    assert err.count("\n") == 1
