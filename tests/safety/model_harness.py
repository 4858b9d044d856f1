"""The whole stop path on virtual time, stepped from outside, and the rules it must keep.

Used by ``test_model_stop_path.py`` (hypothesis drives it) and ``test_model_findings.py`` (fixed
reproductions). Two parts:

* :class:`ModelSession` -- a real ``treadcoach.session.Session`` (controller + ``TreadmillLink``,
  shipped devices.toml with the model's limits) connected to a ``SimTreadmill`` through bleak's
  default-backend seam (``sim.bleak_backend.use_sim_backends``), exactly as it would reach a real
  treadmill by address; the treadmill advertises its quirk profile's own name, so devices.toml
  matches it as it would the real machine. The event loop is a ``VirtualEventLoop`` run in steps:
  :meth:`ModelSession.act` does something in one loop turn (a key press, a console event),
  :meth:`ModelSession.advance` lets virtual time run on.
* :class:`StopPathRules` -- watches the one ordered trace of what happened (user actions,
  treadmill misbehaviour, session events, every control-point write the treadmill received, each
  with the simulated belt at that moment) and records every violation of the stop path's rules,
  by rule (see ``RULES``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim import RunState, SimTreadmill
from sim.bleak_backend import use_sim_backends
from sim.faults import SLOW_BELT_KMH_PER_S, FaultKind
from sim.link import SimLink
from sim.profiles import MPH_KMH
from sim.treadmill import ControlPointWrite
from treadcoach.clock import VirtualEventLoop
from treadcoach.coach.events import Event
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Step
from treadcoach.config import Settings, load_settings
from treadcoach.errors import TreadcoachError
from treadcoach.ftms import uuids
from treadcoach.ftms.enums import OpCode, ResultCode
from treadcoach.link.timeouts import COMMAND_TIMEOUT_S, STOP_ATTEMPT_TIMEOUT_S
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions

__all__ = ["RULES", "ModelSession", "StopPathRules"]

# A short plan with everything the stop path meets: a forward step down (5.5 -> 4.0 km/h), a
# turnaround into a backward walk asked at 9 km/h (capped), a turnaround back into a distance
# step (the hold after 0xFF must hold it too), and a cool-down.
MODEL_PLAN = """
name = "model"
title = "Model-based stop path test"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 40
speed = 5.5

[[segments]]
kind = "forward_walk"
duration = 20
speed = 4.0

[[segments]]
kind = "backward_walk"
duration = 60
speed = 9.0

[[segments]]
kind = "forward_walk"
distance = 60
speed = 4.0

[[segments]]
kind = "cooldown"
duration = 30
speed = 3.5
"""

#: the rules, by the name a violation is filed under
RULES: dict[str, str] = {
    "cap": "no Set Target Speed above the active cap (after unit conversion)",
    "after_stop": "after a stop request, no write but Stop (and the Request Control it needs)",
    "start_running": "no Start to a running belt",
    "rc_after_ff": "no Request Control after 0xFF without a user action (C, or a user stop)",
    "standstill": "standstill within a bound after a stop, or the user told",
    "step_above_cap": "no lower-capped step (or countdown) with the belt above its cap",
    "crash": "the session ends with a summary or a typed error, never a bug",
}

#: fault kinds that tell the user the belt may not have stopped (or is not ours to stop)
TOLD_KINDS = frozenset(
    {
        "stop_unconfirmed",
        "stop_failed",
        "stop_refused",
        "link_lost",
        "belt_may_be_running",
        "control_lost",
    }
)
#: km/h: the simulated belt (exact physics) counts as standing still at or below this
STANDSTILL_KMH = 0.05
#: a stop may take this long beyond the belt's own deceleration: Stop retries (1 s each),
#: a lost indication, a reconnect's backoff
STOP_SLACK_S = 12.0
#: after a Stop landed: telemetry comes once a second, and the belt reads "still" near 0
LANDED_SLACK_S = 2.0
#: extra time when the treadmill was out of reach: the link's reconnect backoff (up to 8 s)
RECONNECT_SLACK_S = 10.0
#: how far above a step's cap the belt may be when it starts (the controller's own follow
#: tolerance; telemetry comes once a second)
STEP_TOLERANCE_KMH = 0.55
#: unit conversion rounding on the wire (0.01 km/h or 0.01 mph) may not reach this far over
CAP_EPSILON_KMH = 1e-3
#: telemetry this long after a console start (its Machine Status lost) tells the link the belt
#: runs: the link's belt belief takes a speed that has not fallen for 3 s as running
#: (``BeltBelief.coast_stall_s``); a shorter stretch may be a belt coasting after our Pause
TELEMETRY_TELLS_RUNNING_S = 3.0
#: while time passes, the rules are judged at least this often (sim seconds)
CHECK_EVERY_S = 0.5
USER_STOP_REASONS = frozenset({StopReason.KEY, StopReason.QUIT, StopReason.MQTT})
#: The open findings, by the tag their violations are filed under: each has a strict-xfail
#: reproduction in ``test_model_findings.py`` (its number), and only these are excused by
#: default, so CI fails on any other violation, also of a class fixed before (their tags were
#: removed once 20,000 examples showed none). When a finding's fix lands, its xfail turns
#: into a pass (strict: CI says so) and its tag comes out of here.
#: ``TREADCOACH_MODEL_EXCUSE=none`` raises every violation (the long run), ``=tag,...``
#: excuses only those, ``=all`` every tagged one.
OPEN_FINDINGS: dict[str, int] = {}
_EXCUSE_ENV = os.environ.get("TREADCOACH_MODEL_EXCUSE")
EXCUSED = (
    frozenset(OPEN_FINDINGS)
    if _EXCUSE_ENV is None
    else frozenset()
    if _EXCUSE_ENV == "none"
    else frozenset(filter(None, _EXCUSE_ENV.split(",")))
)
#: For the long run's report (never in CI): ``TREADCOACH_MODEL_TALLY=path`` appends one JSON
#: line per example to ``path``: the example's options and steps, and every violation by rule
#: and tag (excused or not), with the first message and trace tail of each. With
#: ``TREADCOACH_MODEL_EXCUSE=all`` too, one run counts every tagged class.
TALLY_PATH = os.environ.get("TREADCOACH_MODEL_TALLY")


#: the notifications noted in the trace when they reach the link (Treadmill Data is not: the
#: session's telemetry event says when the link heard a record)
_WATCHED = {
    uuids.CONTROL_POINT_UUID: "indication",
    uuids.MACHINE_STATUS_UUID: "machine_status",
    uuids.TRAINING_STATUS_UUID: "training_status",
}

_addresses = itertools.count(1)


def _private_address() -> str:
    """A simulated treadmill address no other process uses at the same time.

    The session takes a per-treadmill lock in the user's runtime dir (one coach per real
    treadmill), so two test processes whose simulators both count from ``F0:0D:00:00:00:01``
    (two long runs side by side, another worktree's tests) refuse each other's sessions with
    SessionBusy; the pid in the address keeps them apart."""
    n = next(_addresses)
    pid = os.getpid() & 0xFFFF
    return f"F0:0E:{pid >> 8:02X}:{pid & 0xFF:02X}:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}"


@functools.cache
def settings_with(max_kmh: float, backward_max_kmh: float) -> Settings:
    """The shipped devices.toml with these limits (never the user's own file)."""
    with tempfile.TemporaryDirectory(prefix="treadcoach-model-") as tmp:
        path = Path(tmp) / "devices.toml"
        path.write_text(
            f"[limits]\nmax_kmh = {max_kmh}\nbackward_max_kmh = {backward_max_kmh}\n"
            "turnaround_kmh = 1.0\n"
        )
        return load_settings(path)


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing in the trace: ``what`` is ``user``, ``treadmill``, ``event`` or ``write``."""

    at: float  # sim seconds
    what: str
    name: str
    data: Any = None
    belt_kmh: float = 0.0  # the simulated belt at that moment (truth, not telemetry)

    def __str__(self) -> str:
        data = self.data
        if isinstance(data, ControlPointWrite):
            detail = f"{data.data.hex(' ')} -> {_result(data.result)} (machine {data.state_before})"
        elif hasattr(data, "model_dump"):
            dumped = data.model_dump(mode="json", exclude_none=True)
            dumped.pop("t", None)
            dumped.pop("event", None)
            detail = str(dumped)
        else:
            detail = "" if data is None else str(data)
        return f"{self.at:9.3f}  belt {self.belt_kmh:5.2f}  {self.what:9} {self.name} {detail}"


def _result(code: int | None) -> str:
    if code is None:
        return "ATT error"
    try:
        return ResultCode(code).name
    except ValueError:
        return f"0x{code:02X}"


@dataclass
class _PendingStop:
    at: float
    source: str  # "user" or the controller's stop reason
    deadline: float
    user: bool
    writes_before: int  # how many writes the treadmill had received when it was asked
    after_over: bool = False  # asked when the session's phase was already "stopped"


@dataclass
class StopPathRules:
    """Reads the trace in order and files every violation under its rule (see ``RULES``)."""

    steps: list[Step]
    mph_target: bool  # the machine reads Set Target Speed as mph
    excused: frozenset[str] = EXCUSED
    violations: dict[str, list[str]] = field(default_factory=dict)
    excused_counts: dict[str, int] = field(default_factory=dict)
    #: set (``TALLY_PATH``): violations are counted here by ``rule:tag``, never filed
    tally: dict[str, str] | None = None
    tally_counts: dict[str, int] = field(default_factory=dict)
    trace: list[Entry] = field(default_factory=list)
    _seen: int = 0
    _cap: float | None = None
    _announced: Step | None = None
    _stop_since: float | None = None
    _user_stop_open: bool = False  # a user's stop request whose Stop is not accepted yet
    _user_stop_writes: int = 0  # writes the treadmill had received at the latest user stop
    _stop_written: bool = False  # a Stop reached the treadmill since the last stop request
    _last_write: ControlPointWrite | None = None
    _last_indication: bytes | None = None  # the last control-point indication the link got
    _heard_since_write: list[bytes] = field(default_factory=list)
    _ff_open: bool = False
    # the Request Control of the user's C (written in C's own turn) awaits its grant
    _control_back_open: bool = False
    _control_back_write: ControlPointWrite | None = None  # C's Request Control, while open
    _control_back_at: float | None = None  # when C was pressed, until the next write
    # 0xFF reached the link, and the link has not heard a Request Control granted since (a C
    # pressed while stopping asks for nothing: control stays lost for the link)
    _ff_delivered: bool = False
    _rc_since_ff: bool = False  # a Request Control was written after that 0xFF
    # The console started the belt and its report (Machine Status, Training Status, or
    # telemetry that tells it) has not reached the link yet: a Start written now is the race
    # on the wire of finding 15, which no client can prevent (see ``_on_write``)
    _console_start_unheard: bool = False
    # the telemetry records (at, km/h) the link heard since that console start
    _unheard_records: list[tuple[float, float]] = field(default_factory=list)
    _ff_at: float = 0.0
    _writes: list[ControlPointWrite] = field(default_factory=list)
    _pending: list[_PendingStop] = field(default_factory=list)
    _told_at: list[float] = field(default_factory=list)
    _told_for_good: bool = False  # the summary said the belt may be running
    _unreachable_until: float = 0.0

    def violate(
        self, rule: str, message: str, entry: Entry | None = None, *, tag: str | None = None
    ) -> None:
        """File a violation of ``rule``; ``tag`` names the known finding it looks like."""
        if self.tally is not None:
            key = f"{rule}:{tag or '-'}"
            if key not in self.tally:
                where = f"\n  at: {entry}" if entry is not None else ""
                tail = "\n".join(str(e) for e in self.trace[-60:])
                self.tally[key] = f"{message}{where}\n--- trace (last 60) ---\n{tail}"
            self.tally_counts[key] = self.tally_counts.get(key, 0) + 1
        if tag is not None and (tag in self.excused or "all" in self.excused):
            self.excused_counts[tag] = self.excused_counts.get(tag, 0) + 1
            return
        where = f"\n  at: {entry}" if entry is not None else ""
        known = f" [looks like known finding: {tag}]" if tag else ""
        self.violations.setdefault(rule, []).append(f"{RULES[rule]}: {message}{known}{where}")

    def first(self, rule: str) -> str | None:
        found = self.violations.get(rule)
        if not found:
            return None
        return f"{found[0]}\n--- trace (last 40) ---\n" + "\n".join(
            str(e) for e in self.trace[-40:]
        )

    # --- reading the trace ---------------------------------------------------------------

    def catch_up(self, now: float, belt_kmh: float, decel_kmh_per_s: float) -> None:
        """Read what was appended since the last call, then judge the standstill deadlines."""
        while self._seen < len(self.trace):
            entry = self.trace[self._seen]
            self._seen += 1
            handler = getattr(self, f"_on_{entry.what}")
            handler(entry, decel_kmh_per_s)
        self._judge_standstill(now, belt_kmh)

    def _on_user(self, entry: Entry, decel: float) -> None:
        if entry.name in ("stop", "quit", "speed_then_stop"):
            self._ff_open = False  # an explicit user stop may ask for control to send Stop
            self._user_stop_open = True
            self._user_stop_writes = len(self._writes)
            self._stop_requested(entry, "user", decel, user=True)
        elif entry.name == "control_back":
            self._ff_open = False
            self._control_back_at = entry.at
        elif entry.name == "pause":
            # a user's request to halt the belt: if the treadmill refuses the Pause, the stop
            # the controller sends instead is this user's, and may ask for control to land
            self._user_stop_open = True

    def _on_treadmill(self, entry: Entry, decel: float) -> None:
        if entry.name == "control_lost_delivered":
            # A user's stop not yet accepted still stands: asking for control to get its Stop
            # accepted is that user action, also when the 0xFF lands while it is under way.
            self._ff_open = not self._user_stop_open
            self._ff_delivered = True
            self._rc_since_ff = False
            self._ff_at = entry.at
        elif entry.name == "unreachable":
            self._unreachable_until = max(self._unreachable_until, entry.at + float(entry.data))
        elif entry.name == "console_speed":
            # Someone at the console sped the belt up after the stop request (the treadmill
            # takes that even while it refuses our Stop): the bound counts from the speed the
            # belt may now reach, not from the speed it had when the stop was asked.
            kmh = float(entry.data["kmh"])
            bound = kmh / min(decel, SLOW_BELT_KMH_PER_S) + STOP_SLACK_S
            for pending in self._pending:
                pending.deadline = max(pending.deadline, entry.at + bound)
        elif entry.name == "console_start":
            # only a start of a belt that was not running: the console's Start on a running
            # belt changes nothing and reports nothing (the link may have heard it run, or
            # not yet heard of an earlier console start: that stays as it was; seed 1215)
            if entry.data != RunState.RUNNING.value and not self._console_start_unheard:
                self._console_start_unheard = True
                self._unheard_records = []
            # the console started the belt: stops asked before are overridden by a person there
            self._pending.clear()

    def _on_link(self, entry: Entry, decel: float) -> None:
        """A notification reached the link: a control-point indication (``80 <opcode>
        <result>``), or Machine Status or Training Status (``machine_status``, ...)."""
        data: bytes = entry.data
        if entry.name != "indication":
            # the console's report of its start (or a later status: they keep their order on
            # one connection). Not an indication: it answers our write, and a machine gone
            # quiet (stale) still answers writes while its report of the start never comes
            self._console_start_unheard = False
            return
        if len(data) < 3 or data[0] != OpCode.RESPONSE:
            return
        self._last_indication = data
        self._heard_since_write.append(data)
        if (
            data[1] == OpCode.REQUEST_CONTROL
            and data[2] == ResultCode.SUCCESS
            and self._control_back_open
            and self._control_back_matchable(entry.at)
        ):
            # The user's C granted: heard after a 0xFF that came while it was in flight, it is
            # control back (indications and notifications keep their order on one connection,
            # so the machine granted it after the console's take-over). Unlike finding 5's
            # Request Control in flight, this one was the user's own (seed 1201).
            self._control_back_open = False
            self._ff_open = False
            self._ff_delivered = False
        last = self._last_write
        if (
            data[1] == OpCode.REQUEST_CONTROL
            and data[2] == ResultCode.SUCCESS
            and self._rc_since_ff
            and last is not None
            and last.opcode == OpCode.REQUEST_CONTROL
        ):
            # control is the link's again: a grant heard while a Request Control written after
            # the 0xFF awaits its answer. Not the grant of one written before the 0xFF (the
            # link does not take that as control back: finding 5), nor a late grant arriving
            # after its Request Control timed out (unmatched for the link: seed 1201)
            self._ff_delivered = False
        if data[1] == OpCode.STOP_PAUSE and data[2] == ResultCode.SUCCESS:
            # The link learns that a Stop (or Pause) landed: from now on nothing of the user's
            # is pending. Judged here, not on the treadmill's SUCCESS: a Stop accepted whose
            # answer was lost is, for the link, a user stop still unconfirmed, and asking for
            # control to land it (after 0xFF too) is the behaviour 12 c/e asks for. An answer
            # landing at the very instant the last Stop's wait timed out is unmatched for the
            # link (its timeout fires first), so the stop stays open for it (seed 1202).
            # Nor is one that arrives when no Stop awaits its answer for the link: after the
            # latest Stop's wait timed out (also at that very instant, where the timeout fires
            # first), or on an earlier connection (finding 16, seed 1232: a success 4 s late,
            # while a Request Control was in flight, is unmatched for the link, whose user stop
            # stays unconfirmed).
            last = self._last_write
            stops = [i for i, w in enumerate(self._writes) if w.opcode == OpCode.STOP_PAUSE]
            latest = self._writes[stops[-1]] if stops else None
            awaited = (
                latest is not None
                and last is not None
                and latest.connection == last.connection
                and entry.at - latest.at_s < STOP_ATTEMPT_TIMEOUT_S - 1e-6
            )
            # Only a Stop written after the latest press answers it: an earlier Stop's success
            # leaves a press that came after it open (the link writes that press a Stop of
            # its own, which may ask for control after 0xFF: seed 1201)
            after_press = bool(stops) and stops[-1] >= self._user_stop_writes
            if awaited and after_press:
                self._user_stop_open = False

    def _on_event(self, entry: Entry, decel: float) -> None:
        event = entry.data
        kind = event.event
        if kind == "connected":
            self._console_start_unheard = False  # the link read the machine's state anew
        elif kind == "telemetry" and self._console_start_unheard:
            self._unheard_records.append((entry.at, event.speed_kmh))
            records = self._unheard_records
            # Telemetry tells a console start (its report lost: a stale machine) only when it
            # can: moving from a standstill record, or telemetry long enough to tell a belt
            # spinning up from one coasting down after our Pause (one record at 0.55 km/h
            # after a Pause accepted is either: seed 1215)
            from_standstill = any(a <= 0.0 < b for (_, a), (_, b) in itertools.pairwise(records))
            if from_standstill or records[-1][0] - records[0][0] >= TELEMETRY_TELLS_RUNNING_S:
                self._console_start_unheard = False
        if kind == "segment":
            step = self.steps[event.index]
            prev = self._announced
            self._announced = step
            self._cap = step.cap_kmh
            if step.kind.value == "turnaround":
                return  # a turnaround is where the belt slows: its countdown is judged
            limit = step.cap_kmh
            if not step.is_backward and prev is not None and not prev.is_backward:
                # forward into a slower forward step: the old cap may linger while it slows
                limit = max(limit, prev.cap_kmh)
            if entry.belt_kmh > limit + STEP_TOLERANCE_KMH:
                self.violate(
                    "step_above_cap",
                    f"step {step.index} ({step.kind.value}, cap {step.cap_kmh:g}) announced "
                    f"with the belt at {entry.belt_kmh:.2f} km/h",
                    entry,
                )
        elif kind == "cue" and event.kind == "countdown" and event.countdown_s is not None:
            step = self._announced
            if (
                step is not None
                and step.kind.value == "turnaround"
                and entry.belt_kmh > step.target_kmh + STEP_TOLERANCE_KMH
            ):
                self.violate(
                    "step_above_cap",
                    f"turnaround countdown {event.countdown_s} with the belt at "
                    f"{entry.belt_kmh:.2f} km/h (turnaround speed {step.target_kmh:g})",
                    entry,
                    tag="countdown_above_turnaround_speed",
                )
        elif kind == "stop":
            user = event.reason in USER_STOP_REASONS
            self._stop_requested(entry, event.reason.value, decel, user=user)
        elif kind == "fault" and event.kind in TOLD_KINDS:
            self._told_at.append(entry.at)
        elif kind == "summary" and event.belt_may_be_running:
            # The session is over and its last word is that the belt may be running: that
            # tells the user for every stop, also one asked after it (the session is closing
            # its link and can send nothing more). A summary saying the belt is stopped tells
            # nothing: a stop then must still end in standstill.
            self._told_for_good = True

    def _on_write(self, entry: Entry, decel: float) -> None:
        write: ControlPointWrite = entry.data
        op = write.opcode
        # "No Start to a running belt", judged by what the link had heard when it wrote, not
        # by the belt's truth alone: a console start whose report had not reached the link
        # (it was on the air, or the link stale) when our Start went out is a race on the wire
        # that no client can prevent (finding 15: a resume's Start written in the instant of
        # a console start; the Machine Status "started" arrived after the write). The link
        # owns the rest: a Start written after it heard the console's report, or to a belt it
        # had heard running before, is a violation.
        if (
            op == OpCode.START_RESUME
            and write.state_before is RunState.RUNNING
            and not self._console_start_unheard
        ):
            self.violate("start_running", "Start/Resume written to a running belt", entry)
        if op == OpCode.SET_TARGET_SPEED and len(write.data) == 3:
            value = int.from_bytes(write.data[1:3], "little") / 100
            belt = value * MPH_KMH if self.mph_target else value
            cap = self._cap if self._cap is not None else self.steps[0].cap_kmh
            if belt > cap + CAP_EPSILON_KMH:
                unit = " mph" if self.mph_target else ""
                self.violate(
                    "cap",
                    f"Set Target Speed {value:.2f}{unit} = {belt:.3f} km/h above the cap "
                    f"{cap:g} km/h",
                    entry,
                )
        if self._stop_since is not None:
            is_stop = op == OpCode.STOP_PAUSE and write.data[1:2] == b"\x01"
            last = self._last_write
            # "The Request Control a Stop needs": the link's last answer was a Stop refused
            # with 0x05. Judged by the indication the link received, not by the treadmill's
            # answer to the last write: FTMS answers carry no sequence number, so a Stop's
            # 0x05 arriving late, just after the next Stop was written, is for the link the
            # answer to that one (and a lost answer leaves the link with the previous one).
            # Answers that arrive in one turn are all read before the link writes again, so
            # any 0x05 to a Stop among those heard since the last write counts.
            heard = self._heard_since_write or (
                [self._last_indication] if self._last_indication is not None else []
            )
            stop_needs_control = op == OpCode.REQUEST_CONTROL and any(
                i[1] == OpCode.STOP_PAUSE and i[2] == ResultCode.CONTROL_NOT_PERMITTED
                for i in heard
            )
            # Relaxed after 0xFF for a user's stop whose last Stop the link has not heard
            # accepted: the link cannot tell a lost (or too late) refusal from a lost answer,
            # and the user asked for the belt to stop, so its retry may ask for control first
            # (issue 12 c; CONTRACTS: "a user stop: the link may ask for control to get it
            # accepted, also after 0xFF"). Not judged by what was heard since the Stop: an
            # answer landing at the very instant of its timeout (0x04, late) is unmatched for
            # the link, which saw a timeout (seed 1201). Never for a stop that is not the
            # user's (a parting one at 0xFF): ``_user_stop_open`` is the user's alone.
            stop_timed_out_after_ff = (
                op == OpCode.REQUEST_CONTROL
                and self._ff_delivered
                and self._user_stop_open
                and last is not None
                and last.opcode == OpCode.STOP_PAUSE
            )
            if not (is_stop or stop_needs_control or stop_timed_out_after_ff):
                self.violate(
                    "after_stop",
                    f"{write.data.hex(' ')} written {entry.at - self._stop_since:.3f} s after "
                    f"the stop request ({self._after_stop_kind(write, last)})",
                    entry,
                )
        if op == OpCode.STOP_PAUSE and write.data[1:2] == b"\x01":
            self._stop_written = True
            if write.result == ResultCode.SUCCESS and write.state_before is RunState.RUNNING:
                self._stop_landed(write, decel)
        if op == OpCode.REQUEST_CONTROL and self._ff_open:
            in_flight = any(
                w.opcode == OpCode.REQUEST_CONTROL and self._ff_at - 5.0 <= w.at_s <= self._ff_at
                for w in self._writes
            )
            self.violate(
                "rc_after_ff",
                "Request Control after 0xFF with no user action since"
                + (" (one was in flight when 0xFF came)" if in_flight else ""),
                entry,
            )
        if op == OpCode.REQUEST_CONTROL and self._ff_delivered:
            self._rc_since_ff = True
        if self._control_back_at is not None:
            # C writes its Request Control in the same turn; a C while stopping writes nothing
            # (a Request Control later is the stop path's, not C's)
            c_wrote = (
                op == OpCode.REQUEST_CONTROL and abs(write.at_s - self._control_back_at) < 1e-6
            )
            self._control_back_open = self._control_back_open or c_wrote
            if c_wrote:
                self._control_back_write = write
            self._control_back_at = None
        self._last_write = write
        self._writes.append(write)
        self._heard_since_write = []

    def _control_back_matchable(self, now: float) -> bool:
        """Whether the link can still take a grant as the answer to C's Request Control: on
        the connection C wrote it on (a reconnect forgets what was in flight) and before its
        answer timed out. A later grant is unmatched for the link, which then still has no
        control (finding 16, seed 1232: a grant 5 s late, after a reconnect)."""
        c = self._control_back_write
        last = self._last_write
        return (
            c is not None
            and last is not None
            and last.connection == c.connection
            and now - c.at_s <= COMMAND_TIMEOUT_S + 1e-6
        )

    def _after_stop_kind(self, write: ControlPointWrite, last: ControlPointWrite | None) -> str:
        """Which way the write broke the rule (for the reader; none of these is excused)."""
        first_on_connection = last is None or last.connection != write.connection
        if write.opcode == OpCode.REQUEST_CONTROL:
            if first_on_connection and write.connection > 1:
                return "Request Control before the reconnect's Stop"
            return "Request Control not after a Stop the link heard refused with 0x05"
        if not self._stop_written:
            return "a command written before the Stop"
        if write.connection > 1:
            return "a command retried after the reconnect's Stop"
        return "a command after the Stop"

    # --- rules judged over time ----------------------------------------------------------

    def _stop_requested(self, entry: Entry, source: str, decel: float, *, user: bool) -> None:
        if self._stop_since is None:
            self._stop_since = entry.at
        self._stop_written = False
        # A slow belt may be switched on after the request: judge by the slowest belt there is.
        slowest = min(decel, SLOW_BELT_KMH_PER_S)
        bound = entry.belt_kmh / slowest + STOP_SLACK_S
        over = entry.what == "user" and entry.data in ("stopped", "finished")
        self._pending.append(
            _PendingStop(entry.at, source, entry.at + bound, user, len(self._writes), over)
        )

    def _stop_landed(self, write: ControlPointWrite, decel: float) -> None:
        """A Stop brought the running belt down. If it landed before a pending stop's deadline,
        from here on only the belt's own deceleration is left: the bound becomes the landing
        plus the belt's speed at that moment over the slowest deceleration. The speed at the
        request is no bound when the belt was still speeding up meanwhile (a slow belt still
        ramping to its target, the console raising it) while our Stops were refused or lost,
        and a product cannot stop a belt faster than it decelerates. A Stop that lands late
        extends nothing: the deadline it missed is judged as before."""
        slowest = min(decel, SLOW_BELT_KMH_PER_S)
        for pending in self._pending:
            if write.at_s <= self._deadline_of(pending):
                landed = write.at_s + write.belt_kmh_before / slowest + LANDED_SLACK_S
                pending.deadline = max(pending.deadline, landed)

    def _deadline_of(self, pending: _PendingStop) -> float:
        deadline = pending.deadline
        if self._unreachable_until > pending.at:
            deadline = max(deadline, self._unreachable_until + RECONNECT_SLACK_S) + STOP_SLACK_S
        return deadline

    def _judge_standstill(self, now: float, belt_kmh: float) -> None:
        if belt_kmh <= STANDSTILL_KMH:
            self._pending.clear()
            return
        still: list[_PendingStop] = []
        repeated = sum(1 for p in self._pending if p.user) >= 2
        for pending in self._pending:
            if self._told_for_good or any(t >= pending.at - 1e-6 for t in self._told_at):
                continue  # the user was told
            if now > self._deadline_of(pending):
                after = [
                    w
                    for w in self._writes[pending.writes_before :]
                    if w.opcode == OpCode.STOP_PAUSE and w.data[1:2] == b"\x01"
                ]
                in_time = [w for w in after if w.at_s <= self._deadline_of(pending)]
                refused = bool(in_time) and all(w.result != ResultCode.SUCCESS for w in in_time)
                if not after:
                    how = "no Stop written for it"
                elif refused:
                    how = "every Stop before the deadline refused"
                else:
                    how = "its Stop accepted"
                tag = None
                if not after and pending.after_over:
                    # finding 13: a user's stop once the stop path is over while the link
                    # still closes is dropped
                    tag = "no_stop_for_a_user_stop_while_closing"
                elif refused and repeated:
                    # finding 14: each further stop press while Stop is refused queues a new
                    # Stop sequence and hides the refusal of the one before
                    tag = "refusal_unsaid_after_repeated_stops"
                self.violate(
                    "standstill",
                    f"stop asked at {pending.at:.3f} s ({pending.source}); at {now:.3f} s the "
                    f"belt still runs at {belt_kmh:.2f} km/h and the user was not told ({how})",
                    tag=tag,
                )
                continue
            still.append(pending)
        self._pending = still

    def pending_deadline(self) -> float | None:
        return max((p.deadline for p in self._pending), default=None)


class ModelSession:
    """One session against one simulated treadmill, on a virtual loop driven from outside."""

    def __init__(
        self,
        *,
        profile: str = "standard",
        hold_on_control_lost: bool = False,
        max_kmh: float = 12.0,
        backward_max_kmh: float = 4.83,
        notify_hz: float = 1.0,
        plan: str = MODEL_PLAN,
        excused: frozenset[str] = EXCUSED,
    ) -> None:
        self.options = {
            "profile": profile,
            "hold_on_control_lost": hold_on_control_lost,
            "max_kmh": max_kmh,
            "backward_max_kmh": backward_max_kmh,
            "notify_hz": notify_hz,
        }
        self.loop = VirtualEventLoop()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(use_sim_backends())
        self.treadmill = SimTreadmill(
            profile=profile, notify_hz=notify_hz, address=_private_address()
        )
        settings = settings_with(max_kmh, backward_max_kmh)
        options = SessionOptions(
            plan=parse_plan(plan, "model.toml"),
            device=self.treadmill.address,
            record=False,
            handle_signals=False,
            hold_on_control_lost=hold_on_control_lost,
        )
        self.session = Session(options, settings)
        self.controller = self.session.controller
        self.rules = StopPathRules(
            steps=list(self.session.steps),
            mph_target=self.treadmill.profile.mph_target,
            excused=excused,
            tally={} if TALLY_PATH and excused is EXCUSED else None,
        )
        self.error: BaseException | None = None
        self.summary: Any = None
        self.session.add_listener(self._on_event)
        self.treadmill.write_observers.append(self._on_write)
        self._watch_indications()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._crash_filed = False

    # --- the trace ---------------------------------------------------------------------------

    def _belt(self) -> float:
        return self.treadmill.belt_speed_kmh if self.treadmill.running else 0.0

    def _now(self) -> float:
        return self.treadmill.elapsed_s

    def note(self, what: str, name: str, data: Any = None) -> None:
        self.rules.trace.append(Entry(self._now(), what, name, data, self._belt()))

    def _on_event(self, event: Event) -> None:
        self.note("event", event.event, event)

    def _on_write(self, write: ControlPointWrite) -> None:
        self.rules.trace.append(Entry(write.at_s, "write", "cp", write, write.belt_kmh_before))

    def _watch_indications(self) -> None:
        """Note every control-point indication, Machine Status and Training Status when it
        reaches the link (the bleak callback), not when the treadmill sent it: a late or lost
        indication, or a console's report still on the air, is the difference, and rules
        about what the link may do next judge by what the link knows."""
        treadmill = self.treadmill
        connect = treadmill.connect

        def connect_watched(on_lost: Callable[[], None] | None = None) -> SimLink:
            link = connect(on_lost=on_lost)
            subscribe = link.subscribe

            def subscribe_watched(uuid: str, callback: Any, cccd: int) -> None:
                name = _WATCHED.get(uuid)
                if name is not None and callback is not None:
                    inner = callback

                    def callback(data: bytearray) -> None:
                        self.note("link", name, bytes(data))
                        inner(data)

                subscribe(uuid, callback, cccd)

            link.subscribe = subscribe_watched  # type: ignore[method-assign]
            return link

        treadmill.connect = connect_watched  # type: ignore[method-assign]

    # --- running -------------------------------------------------------------------------------

    async def _main(self) -> None:
        async with self.treadmill:
            try:
                self.summary = await self.session.run()
            except Exception as exc:
                self.error = exc
            # the treadmill lives on after the session (its belt may still be running)
            await asyncio.Event().wait()

    def start(self, *, within_s: float = 30.0) -> None:
        """Start the session and run until it has connected (or ended)."""
        self._task = self.loop.create_task(self._main(), name="model session")
        waited = 0.0
        while waited < within_s and not self.ended and not self._connected():
            self.advance(0.25)
            waited += 0.25

    def _connected(self) -> bool:
        return any(e.what == "event" and e.name == "connected" for e in self.rules.trace)

    @property
    def ended(self) -> bool:
        return self.summary is not None or self.error is not None

    def act(self, what: str, name: str, action: Callable[[], object], data: Any = None) -> None:
        """Note ``what: name``, then do ``action`` in one loop turn (no virtual time passes).
        ``data`` may be a callable: it is read in that turn, just before ``action``."""

        async def turn() -> None:
            self.note(what, name, data() if callable(data) else data)
            action()

        self.loop.run_until_complete(turn())
        self.check()

    def turn(self) -> None:
        """One loop turn with nothing done (what happens between two key presses)."""
        self.act("user", "nothing", lambda: None)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (everything due in between runs), judging the
        rules every ``CHECK_EVERY_S`` on the way (a deadline is judged when it passes)."""
        left = seconds
        while True:
            step = min(left, CHECK_EVERY_S)
            self.loop.run_until_complete(asyncio.sleep(step))
            self.check()
            left -= step
            if left <= 1e-9:
                return

    def check(self) -> None:
        if not self.treadmill.running:
            return
        decel = self.treadmill.server.belt.decel_kmh_per_s
        self.rules.catch_up(self._now(), self._belt(), decel)
        crashed = self.error is not None and not isinstance(self.error, TreadcoachError)
        if crashed and "crash" not in self.rules.violations and not self._crash_filed:
            self._crash_filed = True
            self.rules.violate(
                "crash",
                f"run() raised {self.error!r}",
            )

    # --- user inputs ---------------------------------------------------------------------------

    def _phase(self) -> str:
        """The controller's own phase when a stop is asked. Read from inside on purpose (test
        only): the public state shows "stopped" from the stop request on, and only the inner
        phase tells a stop path under way ("stopping") from one that is over ("stopped")."""
        return str(self.controller._phases.phase.value)

    def stop(self) -> None:
        stop = functools.partial(self.controller.request_stop, StopReason.KEY, "model")
        self.act("user", "stop", stop, self._phase)

    def quit(self) -> None:
        stop = functools.partial(self.controller.request_stop, StopReason.QUIT, "model")
        self.act("user", "quit", stop, self._phase)

    def pause(self) -> None:
        self.act("user", "pause", lambda: self.controller.request_pause(StopReason.KEY))

    def resume(self) -> None:
        self.act("user", "resume", lambda: self.controller.request_resume(StopReason.KEY))

    def speed(self, kmh: float) -> None:
        self.act("user", "speed", lambda: self.controller.request_speed(kmh, StopReason.KEY), kmh)

    def speed_then_stop(self, kmh: float) -> None:
        """A speed change and a stop in the same loop turn (issue 12 g)."""

        def both() -> None:
            self.controller.request_speed(kmh, StopReason.KEY)
            self.controller.request_stop(StopReason.KEY, "model")

        self.act("user", "speed_then_stop", both, kmh)

    def control_back(self) -> None:
        self.act("user", "control_back", self.controller.request_control_back)

    # --- the treadmill misbehaving ---------------------------------------------------------------

    def inject(self, kind: FaultKind, **params: Any) -> None:
        treadmill = self.treadmill
        if not treadmill.running:
            return

        def fault() -> None:
            delivered = treadmill.connected and FaultKind.STALE not in treadmill.active_faults
            treadmill.inject(kind, **params)
            if kind is FaultKind.CONTROL_LOST and delivered:
                # The 0xFF notification is on its way (call_soon); note it right after it
                # reached the link, which owes nothing before it knows.
                self.loop.call_soon(self.note, "treadmill", "control_lost_delivered")
            if kind is FaultKind.DISCONNECT and params.get("down_s"):
                self.note("treadmill", "unreachable", params["down_s"])

        def state() -> str:
            return treadmill.server.state.value

        # a console start notes the machine's state when it was pressed (read in that turn)
        self.act(
            "treadmill",
            kind.value,
            fault,
            state if kind is FaultKind.CONSOLE_START else params or None,
        )

    # --- the end ---------------------------------------------------------------------------------

    def finish(self, *, quit_first: bool = True, max_s: float = 180.0) -> None:
        """Quit (as a user leaving), run until the session ended and every stop deadline passed,
        then close the loop. The rules are judged all the way."""
        try:
            if quit_first and self._task is not None and not self.ended:
                self.quit()
            waited = 0.0
            while not self.ended and waited < max_s:
                self.advance(1.0)
                waited += 1.0
            if not self.ended and "crash" not in self.rules.violations:
                self.rules.violate("crash", f"the session had not ended {max_s:g} s after quit")
            deadline = self.rules.pending_deadline()
            if deadline is not None:
                self.advance(max(0.0, deadline - self._now()) + 1.0)
            self.advance(5.0)
        finally:
            self.close()
            self._write_tally()

    def _write_tally(self) -> None:
        rules = self.rules
        if rules.tally is None or TALLY_PATH is None:
            return
        line = {
            "options": self.options,
            "counts": rules.tally_counts,
            "first": rules.tally,
            "steps": [
                (e.at, e.what, e.name, e.data)
                for e in rules.trace
                if e.what in ("user", "treadmill")
            ],
        }
        with open(TALLY_PATH, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # everything still running on this loop (the session, a stop task it left behind)
            tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                with contextlib.suppress(BaseException):
                    self.loop.run_until_complete(asyncio.wait(tasks, timeout=60))
            with contextlib.suppress(BaseException):
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            self._stack.close()

    def describe(self) -> str:
        return "\n".join(str(e) for e in self.rules.trace)


@contextlib.contextmanager
def model_session(**kwargs: Any) -> Iterator[ModelSession]:
    """A started :class:`ModelSession`; finished (quit, judged, closed) on the way out."""
    session = ModelSession(**kwargs)
    try:
        session.start()
        yield session
        session.finish()
    finally:
        session.close()
