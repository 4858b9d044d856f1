"""The fault matrix through the real console script: what a user sees when the treadmill fails.

``treadcoach run --sim --headless --json --speedup inf --sim-fault KIND@T`` for every simulator
fault that must end a session (issue 7): the stream names the fault and then the stop reason,
the summary says not completed, the process exits non-zero with one line on stderr, and the
journal that ``treadcoach history`` reads holds the session with that stop reason and every
event the stream showed. The belt itself cannot be seen from out here; the in-process tests in
``tests/coach/test_controller.py`` check the simulator's belt for the same faults.

Also here: a completed run's stream (segments in order, turnarounds before every direction
change, no telemetry above the cap), the acceptance command of issue 6, and bad input.

The runs are independent subprocesses, so the module starts them all at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Cli, CliResult, JournalView

BACKWARD_KINDS = frozenset({"backward_walk", "retro_run"})
PLAN = "backward-walk-starter"  # warm-up 0-300 s, turnaround, backward 313-433 s, turnaround, ...
BACKWARD_MAX_KMH = 4.83  # DESIGN.md invariant 1: backward segments never above 3 mph
CAP_SLACK_KMH = 0.2


@dataclass(frozen=True)
class FaultCase:
    name: str
    fault: str  # KIND@SECONDS, as typed on the command line
    reason: str  # the stop event's reason
    fault_kind: str  # the fault event that must come before the stop
    # Stop went out on a live link with telemetry flowing: the stream must show the belt
    # coming to a standstill (or say it could not confirm it)
    confirms_standstill: bool = False
    repeat: int = 1  # how many times the fault is given on the command line

    @property
    def at_s(self) -> float:
        return float(self.fault.partition("@")[2])


FAULTS = [
    FaultCase("disconnect", "disconnect@100", "disconnect", "disconnect"),
    FaultCase("control_lost", "control_lost@100", "control_lost", "control_lost"),
    FaultCase("safety_key", "safety_key@100", "safety_key", "safety_key", True),
    FaultCase("stale", "stale@100", "stale", "stale"),
    # Set Target Speed acknowledged but not followed while the warm-up ramps up: the belt lags.
    FaultCase(
        "ignore_speed-speeding_up", "ignore_speed@1", "target_ignored", "target_ignored", True
    ),
    # ... and while slowing into the first turnaround (300 s): the belt runs too fast.
    FaultCase("ignore_speed-slowing_down", "ignore_speed@299", "overspeed", "overspeed", True),
    # the next three control-point writes (the turnaround's speed changes) are refused with
    # 0x04: each is a fault and retried, three in a row stop the belt
    FaultCase("nack", "nack@100", "target_ignored", "command_refused", repeat=3),
]

#: the link under the fault matrix (issue 13): the in-process fake, and the simulator served
#: over a real ATT/GATT stack (bumble) on the in-process radio, at once and at a 50 ms
#: connection interval (each packet waits for the next connection event)
TRANSPORTS: dict[str, tuple[str, ...]] = {
    "fake": (),
    "bumble-0ms": ("--ble", "bumble:air"),
    "bumble-50ms": ("--ble", "bumble:air:50"),
}

ACCEPTANCE = ("run", "--sim", "--plan", "gentle-intro", "--headless", "--json", "--speedup", "600")


@dataclass(frozen=True)
class Outcome:
    cli: Cli
    result: CliResult
    db: Path

    def journal(self) -> JournalView:
        return self.cli.journal(self.db)


def _run_headless(cli: Cli, *extra: str) -> Outcome:
    args = ("run", "--sim", "--plan", PLAN, "--headless", "--json", "--speedup", "inf")
    db = cli.root / "tmp.sqlite"
    return Outcome(cli, cli.run(*args, "--db", str(db), *extra), db)


def _run_acceptance(cli: Cli) -> Outcome:
    return Outcome(cli, cli.run(*ACCEPTANCE), cli.default_journal)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, cli_factory: Callable[[Path], Cli]
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every run of this module, started at once (each in its own data dir and journal)."""
    futures: dict[str, Future[Outcome]] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        # the slow one (real-ish time) first, so it overlaps the fast ones
        def cli(name: str) -> Cli:
            return cli_factory(tmp_path_factory.mktemp(name))

        futures["acceptance"] = pool.submit(_run_acceptance, cli("acceptance"))
        for case in FAULTS:
            for transport, ble in TRANSPORTS.items():
                key = case.name if transport == "fake" else f"{case.name}[{transport}]"
                futures[key] = pool.submit(
                    _run_headless,
                    cli(f"{case.name}-{transport}"),
                    *("--sim-fault", case.fault) * case.repeat,
                    *ble,
                )
        futures["nack-once"] = pool.submit(
            _run_headless, cli("nack-once"), "--sim-fault", "nack@100"
        )
        futures["completed"] = pool.submit(_run_headless, cli("completed"))
        futures["nack-at-connect"] = pool.submit(
            _run_headless, cli("nack-at-connect"), "--sim-fault", "nack@0"
        )
        for bad in BAD_INPUTS:
            futures[f"bad:{bad.name}"] = pool.submit(_run_bad_input, cli(bad.name), bad)
        yield futures


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.timeout(240)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", FAULTS, ids=lambda c: c.name)
def test_each_fault_stops_the_session_with_its_reason_everywhere_the_user_looks(
    runs: dict[str, Future[Outcome]], case: FaultCase, transport: str
) -> None:
    outcome = runs[case.name if transport == "fake" else f"{case.name}[{transport}]"].result()
    result = outcome.result
    events = result.events  # every line parses, has a float 't' and a known 'event'
    stop = result.stop()
    assert stop["reason"] == case.reason, result.describe()
    assert stop["t"] >= case.at_s, "stopped before the fault was injected"
    faults_before = [e for e in events[: events.index(stop)] if e["event"] == "fault"]
    assert case.fault_kind in [f["kind"] for f in faults_before], (
        f"no '{case.fault_kind}' fault before the stop: {faults_before}"
    )
    summary = result.summary()
    assert summary["completed"] is False
    assert summary["stop_reason"] == case.reason
    if case.confirms_standstill:
        result.assert_ends_at_standstill()

    assert result.returncode == 1, result.describe()  # run.py: 1 = stopped before the end
    result.assert_one_line_message(case.reason)

    journal = outcome.journal()
    record = journal.only
    assert record.stop_reason == case.reason
    assert record.finished
    assert not record.completed
    assert record.status == f"stopped ({case.reason})"
    # invariant 6 after a clean exit: the journal holds exactly what the stream showed
    assert journal.events[record.id] == events


@pytest.mark.timeout(120)
def test_stale_telemetry_stops_after_two_seconds_of_silence_not_before(
    runs: dict[str, Future[Outcome]],
) -> None:
    result = runs["stale"].result().result
    events = result.events
    stop = result.stop()
    last_data = [e for e in events[: events.index(stop)] if e["event"] == "telemetry"][-1]
    silence = stop["t"] - last_data["t"]
    # DESIGN.md: stale is "> 2 s" without Treadmill Data; the watchdog ticks every 0.5 s
    assert 2.0 < silence <= 3.5, f"stopped after {silence:.2f} s without telemetry"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["disconnect", "control_lost", "safety_key"])
def test_event_faults_stop_the_session_at_once(runs: dict[str, Future[Outcome]], name: str) -> None:
    case = next(c for c in FAULTS if c.name == name)
    stop = runs[name].result().result.stop()
    assert stop["t"] - case.at_s <= 1.0, f"{name} at {case.at_s} s, stop at {stop['t']} s"


@pytest.mark.timeout(120)
def test_one_refused_speed_command_is_said_and_the_plan_goes_on(
    runs: dict[str, Future[Outcome]],
) -> None:
    # nack@100: the turnaround's speed change (300 s) is refused once (a transient 0x04)
    result = runs["nack-once"].result().result
    assert result.returncode == 0, result.describe()
    assert result.stop()["reason"] == "plan_end"
    assert result.summary()["completed"] is True
    assert "command_refused" in [f["kind"] for f in result.of_kind("fault")]
    result.assert_ends_at_standstill()


@pytest.mark.timeout(120)
def test_a_treadmill_refusing_control_at_connect_is_one_line_and_no_interrupted_session(
    runs: dict[str, Future[Outcome]],
) -> None:
    # nack@0: the treadmill answers Request Control with 0x04, so the session never starts.
    outcome = runs["nack-at-connect"].result()
    result = outcome.result
    assert result.returncode != 0, result.describe()
    result.assert_one_line_message("Request Control")
    assert not result.of_kind("telemetry"), "the belt must never have been driven"
    # "interrupted" tells the user the process died mid-session; this one ended with a
    # message. Either nothing is journaled or the session is finished, never interrupted.
    if outcome.db.exists():
        statuses = [r.status for r in outcome.journal().records]
        assert "interrupted" not in statuses, (
            f"a session that never connected is listed as {statuses} in 'treadcoach history'"
        )


# --- a completed run -------------------------------------------------------------------------------


def _direction(kind: str) -> str | None:
    if kind == "turnaround":
        return None
    return "backward" if kind in BACKWARD_KINDS else "forward"


@pytest.mark.timeout(120)
def test_a_completed_run_exits_zero_and_keeps_to_the_plan_and_its_caps(
    runs: dict[str, Future[Outcome]],
) -> None:
    outcome = runs["completed"].result()
    result = outcome.result
    assert result.returncode == 0, result.describe()
    assert result.stderr == "", result.describe()
    events = result.events
    assert events[0]["event"] == "connected"
    assert result.summary()["completed"] is True
    assert result.stop()["reason"] == "plan_end"
    assert not result.of_kind("fault")
    result.assert_ends_at_standstill()

    segments = result.of_kind("segment")
    assert [s["index"] for s in segments] == list(range(len(segments)))
    assert all(s["total"] == len(segments) for s in segments)
    assert any(s["kind"] in BACKWARD_KINDS for s in segments), "the plan walks backward"
    for before, seg in itertools.pairwise(segments):
        if seg["kind"] in BACKWARD_KINDS:
            assert before["kind"] == "turnaround", f"{seg} follows {before} with no turnaround"
            assert seg["target_kmh"] <= BACKWARD_MAX_KMH, seg
        a, b = _direction(before["kind"]), _direction(seg["kind"])
        assert a is None or b is None or a == b, f"direction change without turnaround: {seg}"

    # no telemetry above the segment's cap; while slowing, the previous segment's speed may linger
    current: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    too_fast = []
    for event in events:
        if event["event"] == "segment":
            previous, current = current, event
        elif event["event"] == "telemetry" and current is not None:
            cap = max(current["target_kmh"], previous["target_kmh"] if previous else 0.0)
            if event["speed_kmh"] > cap + CAP_SLACK_KMH:
                too_fast.append((event, current["index"], cap))
    assert not too_fast, f"telemetry above the cap: {too_fast[:3]}"

    # each backward segment starts after a countdown of at least 5 s (invariant 3)
    for seg in segments:
        if seg["kind"] in BACKWARD_KINDS:
            turnaround = segments[seg["index"] - 1]
            cues = [
                e
                for e in events
                if e["event"] == "cue"
                and e.get("kind") == "countdown"
                and turnaround["t"] <= e["t"] <= seg["t"]
            ]
            assert [c["countdown_s"] for c in cues] == [5, 4, 3, 2, 1], cues
            assert seg["t"] - cues[0]["t"] >= 5.0

    journal = outcome.journal()
    record = journal.only
    assert record.status == "completed"
    assert record.stop_reason == "plan_end"
    assert journal.events[record.id] == events


@pytest.mark.timeout(120)
def test_issue_6_acceptance_command_completes(runs: dict[str, Future[Outcome]]) -> None:
    # treadcoach run --sim --plan gentle-intro --headless --json --speedup 600 (verbatim)
    outcome = runs["acceptance"].result()
    result = outcome.result
    assert result.returncode == 0, result.describe()
    assert result.summary()["completed"] is True
    assert result.stop()["reason"] == "plan_end"
    # the default journal is under TREADCOACH_DATA_DIR
    assert outcome.journal().only.status == "completed"


# --- bad input: one clear line, exit 2, no session -------------------------------------------------

BAD_PLAN = """\
name = "bad"
title = "Bad"
units = "kmh"

[[segments]]
kind = "moonwalk"
duration = 60
speed = 4.0
"""

BAD_DEVICES = """\
[limits]
max_kmh = "fast"
"""


@dataclass(frozen=True)
class BadInput:
    name: str
    args: tuple[str, ...]
    naming: tuple[str, ...]  # what the one-line message must name
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written under the tmp dir first
    env: tuple[tuple[str, str], ...] = ()


BAD_INPUTS = [
    BadInput("unknown-fault", ("--sim", "--sim-fault", "bogus@3"), ("bogus@3",)),
    BadInput("fault-without-time", ("--sim", "--sim-fault", "stale"), ("stale", "KIND@SECONDS")),
    BadInput("speedup-without-sim", ("--speedup", "5"), ("--speedup", "--sim")),
    BadInput("fault-without-sim", ("--sim-fault", "stale@3"), ("--sim-fault", "--sim")),
    BadInput("unknown-plan", ("--sim", "--plan", "no-such-plan"), ("no-such-plan",)),
    BadInput(
        "broken-plan-file",
        ("--sim", "--plan", "{root}/bad-plan.toml"),
        ("bad-plan.toml", "moonwalk"),
        files=(("bad-plan.toml", BAD_PLAN),),
    ),
    BadInput(
        "broken-devices-toml",
        ("--sim", "--config", "{root}/devices.toml"),
        ("devices.toml", "max_kmh"),
        files=(("devices.toml", BAD_DEVICES),),
    ),
    BadInput(
        "broken-devices-toml-from-env",
        ("--sim",),
        ("devices.toml", "max_kmh"),
        files=(("devices.toml", BAD_DEVICES),),
        env=(("TREADCOACH_CONFIG", "{root}/devices.toml"),),
    ),
]


def _run_bad_input(cli: Cli, bad: BadInput) -> Outcome:
    root = cli.root
    for name, text in bad.files:
        (root / name).write_text(text)
    for key, value in bad.env:
        cli.env[key] = value.format(root=root)
    args = [a.format(root=root) for a in bad.args]
    if "--plan" not in args:
        args += ["--plan", PLAN]
    db = root / "tmp.sqlite"
    return Outcome(cli, cli.run("run", *args, "--headless", "--json", "--db", str(db)), db)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("bad", BAD_INPUTS, ids=lambda b: b.name)
def test_bad_input_gives_one_clear_line_and_exit_2(
    runs: dict[str, Future[Outcome]], bad: BadInput
) -> None:
    outcome = runs[f"bad:{bad.name}"].result()
    result = outcome.result
    assert result.returncode == 2, result.describe()
    assert result.stdout == "", result.describe()
    result.assert_one_line_message(*bad.naming)
    assert not outcome.db.exists(), "bad input must not start (or journal) a session"
