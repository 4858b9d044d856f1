"""The probe tells every simulator quirk profile (and every pair that can occur together) apart,
and the entry it writes passes config validation and makes a whole session run clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from probe_helpers import SESSION_SIM_NAME, entry_text, run_probe, run_session, settings_with

from sim.profiles import COMBINABLE_PAIRS, PROFILES
from treadcoach.probe import Analysis

QUIRKS = [name for name in PROFILES if name != "standard"]


def _says(topic: str, words: str) -> Callable[[Analysis], bool]:
    return lambda a: words in a.finding(topic).text


def _start_delay(a: Analysis) -> bool:
    text = a.finding("start delay").text
    return "moves" in text and float(text.split("moves ")[1].split(" s")[0]) >= 2.5


#: how the probe's output shows each quirk (None: no client can see it through FTMS safely)
DETECTED: dict[str, Callable[[Analysis], bool] | None] = {
    # treadcoach never sends Start to a running belt, so the toggle is never triggered.
    "start_toggle": None,
    "mph_target": lambda a: a.value("target_speed_in_mph") is True,
    "speed_needs_running": _says("speed after start", "refused 0x05 before"),
    "no_request_control": _says("control", "commands work without Request Control"),
    "lifetime_odometer": _says("distance", "lifetime odometer"),
    "min_speed_1": lambda a: (
        "speed range" in {f.topic for f in a.findings}
        and a.finding("speed range").text.startswith("1.00-")
    ),
    "start_delay": _start_delay,
    "speed_revert": lambda a: a.value("keepalive_s") is not None,
    "missing_ranges": _says("characteristics", "missing: Supported Speed Range"),
    # 0..0 % read from 0x2AD5, or (without 0x2AD5) every incline target refused
    "zero_incline": lambda a: a.finding("incline").text.startswith(("no incline", "refused")),
    "console_lock": _says("console", "locked"),
    "ignores_speed": lambda a: a.value("speed_control") is False,
    "control_per_command": lambda a: a.value("request_control") == "before_every_command",
}


#: (quirk, the quirk that hides it): such a pair reads like the hiding quirk alone
HIDDEN_BY: frozenset[tuple[str, str]] = frozenset(
    {
        # without 0x2AD4 treadcoach's default minimum is 1 km/h as well: nothing below is sent
        ("min_speed_1", "missing_ranges"),
        # a belt that ignores targets cannot show how it reads them (the TM11GY's mph)
        ("mph_target", "ignores_speed"),
    }
)


#: profiles that carry another quirk with them (the TM11GY also reads targets as mph)
IMPLIES: dict[str, frozenset[str]] = {"start_toggle": frozenset({"mph_target"})}


def _check_detection(quirks: set[str], analysis: Analysis) -> None:
    quirks = quirks.union(*(IMPLIES.get(q, frozenset()) for q in quirks))
    for quirk, detected in DETECTED.items():
        if detected is None or any((quirk, other) in HIDDEN_BY for other in quirks):
            continue
        assert detected(analysis) == (quirk in quirks), (
            f"{quirk}: expected {'detected' if quirk in quirks else 'not detected'}",
            [(f.topic, f.text) for f in analysis.findings],
        )


def _check_entry_runs_a_session(profile: str, entry: str, tmp_path: Path) -> None:
    settings = settings_with(entry, tmp_path)
    chosen = settings.profile_for(SESSION_SIM_NAME, None)
    assert chosen.source.startswith("treadcoach probe"), chosen  # the probed entry is used
    run = run_session(profile, settings)
    assert run.summary is not None
    if chosen.speed_control:
        assert run.summary.completed, (run.of("stop"), run.of("fault"))
        assert run.of("fault") == []
    else:
        # A coach needs speed control: with speed_control = false the session ends through
        # the stop path at its first speed command instead of running a plan it cannot.
        assert not run.summary.completed


def test_every_quirk_has_a_detection_rule() -> None:
    assert set(DETECTED) == set(QUIRKS)


def test_standard_machine_shows_no_quirk(tmp_path: Path) -> None:
    run = run_probe("standard", name=SESSION_SIM_NAME)
    _check_detection(set(), run.analysis)
    _check_entry_runs_a_session("standard", entry_text(run), tmp_path)


@pytest.mark.parametrize("quirk", QUIRKS)
def test_probe_detects_the_quirk_and_its_entry_runs_a_session(quirk: str, tmp_path: Path) -> None:
    run = run_probe(quirk, name=SESSION_SIM_NAME)
    assert run.aborted is None
    _check_detection({quirk}, run.analysis)
    _check_entry_runs_a_session(quirk, entry_text(run), tmp_path)


@pytest.mark.parametrize(
    ("a", "b"), COMBINABLE_PAIRS, ids=[f"{a}+{b}" for a, b in COMBINABLE_PAIRS]
)
def test_probe_detects_both_quirks_of_a_pair_and_its_entry_runs_a_session(
    a: str, b: str, tmp_path: Path
) -> None:
    profile = f"{a}+{b}"
    run = run_probe(profile, name=SESSION_SIM_NAME)
    assert run.aborted is None
    _check_detection({a, b}, run.analysis)
    _check_entry_runs_a_session(profile, entry_text(run), tmp_path)
