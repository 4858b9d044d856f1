"""Golden streams: what a whole session does, recorded, so a refactor of the stop path can be diffed.

Each scenario runs one ``treadcoach.session.Session`` on the simulator (the real ``TreadmillLink``
over the bleak backend seam, the real ``SessionController``, the shipped devices.toml) on virtual
time, the way ``treadcoach run --sim --headless --json --speedup inf [--sim-fault KIND@T]`` does,
and records one stream of JSON lines, in the order things happened:

* every session event, with its key fields and ``t`` rounded to 0.01 s (telemetry run-length
  encoded: consecutive records at the same speed are one line with ``n`` and ``until``, so a
  45-minute plan stays a few hundred lines);
* every control-point write the simulated treadmill received (``wire``: sim time, the bytes in
  hex, the request decoded, the result code it answered), read from ``SimTreadmill.writes``;
* the session's error, if ``run()`` raised, and where the belt was at the end.

The scenarios: every built-in plan start to end, and every case of the fault matrix in
``tests/safety/test_fault_matrix_cli.py`` (plus the in-process ``garbage`` case). The baselines
are ``tests/golden/streams/<scenario>.jsonl``; ``test_golden_streams.py`` re-records and diffs.

Re-record after a deliberate behaviour change (and say why in the commit message)::

    PYTHONPATH=$PWD python tests/golden/record.py            # every scenario
    PYTHONPATH=$PWD python tests/golden/record.py fault-nack # some
    PYTHONPATH=$PWD python tests/golden/record.py --check    # diff only, write nothing
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.treadmill import ControlPointWrite
from treadcoach import clock
from treadcoach.coach.events import Event
from treadcoach.coach.library import builtin_plans, find_plan
from treadcoach.config import load_settings
from treadcoach.errors import FtmsDecodeError
from treadcoach.ftms import decode_control_request
from treadcoach.ftms.enums import OpCode, ResultCode
from treadcoach.session import Session, SessionOptions

__all__ = [
    "SCENARIOS",
    "STREAMS_DIR",
    "Scenario",
    "describe_write",
    "first_difference",
    "record",
    "scenario_named",
]

STREAMS_DIR = Path(__file__).resolve().parent / "streams"

#: the fault matrix's plan (tests/safety/test_fault_matrix_cli.py PLAN)
MATRIX_PLAN = "backward-walk-starter"
TIME_DIGITS = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    plan: str
    faults: tuple[str, ...] = ()
    profile: str = "standard"

    @property
    def path(self) -> Path:
        return STREAMS_DIR / f"{self.name}.jsonl"


def _plan_scenarios() -> list[Scenario]:
    return [Scenario(f"plan-{entry.name}", entry.name) for entry in builtin_plans()]


#: tests/safety/test_fault_matrix_cli.py: FAULTS, then nack-at-connect (test_golden_streams.py
#: checks that every fault spec of that matrix is here)
MATRIX_FAULTS: tuple[tuple[str, str], ...] = (
    ("disconnect", "disconnect@100"),
    ("control_lost", "control_lost@100"),
    ("safety_key", "safety_key@100"),
    ("stale", "stale@100"),
    ("ignore_speed-speeding_up", "ignore_speed@1"),
    ("ignore_speed-slowing_down", "ignore_speed@299"),
    ("nack", "nack@100"),
    ("nack-at-connect", "nack@0"),
    # tests/coach/test_controller.py: malformed frames are reported, the session completes
    ("garbage", "garbage@30"),
)

SCENARIOS: tuple[Scenario, ...] = (
    *_plan_scenarios(),
    *(Scenario(f"fault-{name}", MATRIX_PLAN, (spec,)) for name, spec in MATRIX_FAULTS),
)


def scenario_named(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    known = ", ".join(s.name for s in SCENARIOS)
    raise KeyError(f"no golden scenario {name!r}; known: {known}")


# --- formatting ----------------------------------------------------------------------------------


def _r(value: float | None, digits: int = TIME_DIGITS) -> float | None:
    return None if value is None else round(value, digits)


def describe_write(data: bytes) -> str:
    """``08 01`` -> ``STOP_PAUSE StopPause(param=1)``: the opcode's name and the request."""
    if not data:
        return "(empty)"
    try:
        name = OpCode(data[0]).name
    except ValueError:
        name = f"0x{data[0]:02X}"
    try:
        request = decode_control_request(data)
    except FtmsDecodeError as exc:
        return f"{name} (undecodable: {exc})"
    if not dataclasses.is_dataclass(request):
        return f"{name} {request!r}"
    params = ", ".join(
        f"{f.name}={_plain(getattr(request, f.name))}" for f in dataclasses.fields(request)
    )
    return f"{name}({params})"


def _plain(value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.name
    return repr(value)


def _result_name(result: int | None) -> str | None:
    if result is None:
        return None
    try:
        return ResultCode(result).name
    except ValueError:
        return f"0x{result:02X}"


def _wire_line(write: ControlPointWrite) -> dict[str, Any]:
    return {
        "wire": write.data.hex(" "),
        "sim_t": _r(write.at_s),
        "request": describe_write(write.data),
        "result": _result_name(write.result),
    }


# Fields of each event kind worth diffing (device names and addresses are left out: the
# simulator numbers its addresses per process, so they depend on what ran before).
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "connected": ("simulated",),
    "segment": ("index", "kind", "target_kmh", "duration_s", "distance_m", "incline_pct"),
    "cue": ("kind", "countdown_s", "text"),
    "stop": ("reason", "detail"),
    "fault": ("kind", "detail"),
    "summary": (
        "completed",
        "stop_reason",
        "duration_s",
        "distance_m",
        "backward_s",
        "backward_distance_m",
    ),
}


def _event_line(event: Event) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    line: dict[str, Any] = {"t": _r(event.t), "event": event.event}
    for key in _EVENT_FIELDS.get(event.event, ()):
        value = data.get(key)
        if value is not None:
            line[key] = round(value, 3) if isinstance(value, float) else value
    return line


class _Recorder:
    """Collects the stream in the order it happens; telemetry runs are folded into one line."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self._run: dict[str, Any] | None = None
        self._writes_seen = 0
        # A fault that repeats word for word (garbage frames, once a second) is recorded where
        # it first happened and counted after that, so a long noisy run stays a short stream.
        self._faults_seen: set[tuple[str, str]] = set()
        self.repeated_faults: dict[str, int] = {}

    def on_event(self, event: Event, writes: Sequence[ControlPointWrite]) -> None:
        self.take_writes(writes)
        if event.event == "telemetry":
            speed = round(event.speed_kmh, 2)  # type: ignore[union-attr]
            distance = round(event.distance_m)  # type: ignore[union-attr]
            run = self._run
            if run is not None and run["speed_kmh"] == speed:
                run["n"] += 1
                run["until"] = _r(event.t)
                run["distance_m"] = distance
                return
            self._flush_run()
            self._run = {
                "t": _r(event.t),
                "event": "telemetry",
                "speed_kmh": speed,
                "n": 1,
                "until": _r(event.t),
                "distance_m": distance,
            }
            return
        if event.event == "fault":
            key = (event.kind, event.detail)  # type: ignore[union-attr]
            if key in self._faults_seen:
                self.repeated_faults[key[0]] = self.repeated_faults.get(key[0], 0) + 1
                return
            self._faults_seen.add(key)
        self._flush_run()
        self.lines.append(_event_line(event))

    def take_writes(self, writes: Sequence[ControlPointWrite]) -> None:
        new = writes[self._writes_seen :]
        if not new:
            return
        self._flush_run()
        self.lines.extend(_wire_line(w) for w in new)
        self._writes_seen = len(writes)

    def add(self, line: dict[str, Any]) -> None:
        self._flush_run()
        self.lines.append(line)

    def _flush_run(self) -> None:
        if self._run is not None:
            self.lines.append(self._run)
            self._run = None


@contextlib.contextmanager
def _shipped_settings_only() -> Iterator[Path]:
    """A devices.toml with nothing in it: the shipped defaults, never the user's own file."""
    with tempfile.TemporaryDirectory(prefix="treadcoach-golden-") as tmp:
        path = Path(tmp) / "devices.toml"
        path.write_text("# golden streams: shipped settings only\n")
        yield path


def record(scenario: Scenario) -> list[str]:
    """Run ``scenario`` on virtual time; its stream as JSON lines (no trailing newlines)."""
    with _shipped_settings_only() as devices:
        settings = load_settings(devices)
    options = SessionOptions(
        plan=find_plan(scenario.plan, user_dir=Path(os.devnull)),
        sim=True,
        sim_faults=scenario.faults,
        sim_profile=scenario.profile,
        record=False,
        handle_signals=False,
    )
    session = Session(options, settings)
    treadmill = session.treadmill
    assert treadmill is not None
    recorder = _Recorder()
    session.add_listener(lambda event: recorder.on_event(event, treadmill.writes))

    async def main() -> None:
        try:
            await session.run()
        except Exception as exc:  # e.g. nack@0: the treadmill refuses control at connect
            recorder.take_writes(treadmill.writes)
            recorder.add({"error": type(exc).__name__, "message": str(exc)})
        recorder.take_writes(treadmill.writes)

    # Session.run enters the simulator itself; the belt is read once the run is over (the
    # simulator's physics is advanced lazily from the loop clock, so read inside the loop).
    end: dict[str, Any] = {}

    async def main_and_end() -> None:
        await main()
        end.update(
            end_belt_kmh=round(treadmill.server.belt.speed_kmh, 2),
            end_target_kmh=round(treadmill.server.belt.target_kmh, 2),
            end_state=treadmill.state.value,
            faults=[f"{kind.value}@{_r(at)}" for at, kind in treadmill.fault_log],
        )
        if recorder.repeated_faults:
            end["repeated_faults"] = dict(sorted(recorder.repeated_faults.items()))

    clock.run(main_and_end(), speedup=math.inf)
    recorder.add(end)
    return [json.dumps(line, separators=(", ", ": ")) for line in recorder.lines]


def load(scenario: Scenario) -> list[str]:
    return scenario.path.read_text("utf-8").splitlines()


def save(scenario: Scenario, lines: Sequence[str]) -> None:
    scenario.path.parent.mkdir(parents=True, exist_ok=True)
    scenario.path.write_text("".join(f"{line}\n" for line in lines), "utf-8")


def first_difference(name: str, expected: Sequence[str], got: Sequence[str]) -> str | None:
    """None when equal; else a few lines naming the first differing line of stream ``name``."""
    for number, (want, have) in enumerate(zip(expected, got, strict=False), start=1):
        if want != have:
            before = f"  (line {number - 1}: {expected[number - 2]})\n" if number > 1 else ""
            return (
                f"golden stream {name!r} differs first at line {number}:\n{before}"
                f"  expected: {want}\n  recorded: {have}"
            )
    if len(expected) != len(got):
        shorter = min(len(expected), len(got))
        extra = (got if len(got) > shorter else expected)[shorter]
        which = "recorded" if len(got) > shorter else "expected"
        return (
            f"golden stream {name!r}: {len(expected)} lines expected, {len(got)} recorded; "
            f"first line only in the {which} one (line {shorter + 1}): {extra}"
        )
    return None
