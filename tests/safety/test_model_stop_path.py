"""Model-based test of the whole stop path: random users meet random treadmill misbehaviour.

A hypothesis ``RuleBasedStateMachine`` drives one real session (controller + ``TreadmillLink`` +
simulator, see ``model_harness.py``) on virtual time. Each rule is one thing happening: the user
presses stop, pause, resume, C (take control back), quits or asks for a speed; the treadmill
loses control (0xFF), someone at the console changes speed, starts or stops the belt, the safety
key is pulled, the link drops (and the treadmill may stay out of reach), the next writes are
refused (0x04, 0x05), their indications are lost or late, telemetry pauses, the belt becomes slow
to slow down, or time simply passes. After every rule, each rule of ``model_harness.RULES`` is
checked against the control-point writes the treadmill received and the simulated belt; each has
its own invariant, so hypothesis reports distinct violations separately.

Settings profiles: "model-ci" (the default: 200 examples of 25 steps) and "model-long", chosen by
``TREADCOACH_MODEL_EXAMPLES=5000`` (and ``TREADCOACH_MODEL_STEPS``) for the long run::

    TREADCOACH_MODEL_EXAMPLES=5000 PYTHONPATH=$PWD pytest -q tests/safety/test_model_stop_path.py

A failing example is printed as the steps to replay, with the tail of the trace (sim time, belt
speed, what happened) in the assertion message, and the known finding it looks like (see
``test_model_findings.py``). By default only the open findings (``model_harness.OPEN_FINDINGS``,
each a strict xfail there) are counted instead of raised; ``TREADCOACH_MODEL_EXCUSE=none``
raises those too. ``TREADCOACH_MODEL_TALLY=path`` writes every example's violations by class
to ``path`` (JSON lines) for the long run's report. To explore past known findings (never in
CI): ``TREADCOACH_MODEL_EXCUSE=all`` counts every tagged violation instead of raising it,
``TREADCOACH_MODEL_SKIP=rule,...`` leaves rules of the machine out, and
``TREADCOACH_MODEL_ALL_BUGS=1`` shrinks and reports every distinct violation, not just the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from model_harness import MODEL_PLAN, Entry, ModelSession, StopPathRules

from sim import PROFILES, RunState
from sim.faults import FaultKind
from sim.treadmill import ControlPointWrite
from treadcoach.coach.events import Fault, SegmentStarted, Stop, Summary, Telemetry
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, expand
from treadcoach.ftms.enums import ResultCode
from treadcoach.safety.reasons import StopReason

CI_EXAMPLES = 200
CI_STEPS = 25
# For exploring past a known violation (never set in CI): rules of this machine to leave out,
# e.g. TREADCOACH_MODEL_SKIP=link_drops,refuses_next_writes_0x04
SKIP = frozenset(filter(None, os.environ.get("TREADCOACH_MODEL_SKIP", "").split(",")))


def allowed(name: str) -> Callable[[Any], bool]:
    return lambda machine: name not in SKIP


_COMMON: dict[str, Any] = {
    "deadline": None,  # wall time per example varies with the box's load; virtual time does not
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
    # One violation shrunk and shown keeps a failing run short; TREADCOACH_MODEL_ALL_BUGS=1
    # shrinks and shows every distinct one (minutes, not seconds).
    "report_multiple_bugs": os.environ.get("TREADCOACH_MODEL_ALL_BUGS") == "1",
}
# "model-ci": the default, 200 examples of 25 steps (~10-20 s on a loaded 2-core box).
# Derandomized: CI runs the same 200 interleavings every time (a red CI is a regression, never
# luck); the long run below explores fresh ones.
settings.register_profile(
    "model-ci",
    max_examples=CI_EXAMPLES,
    stateful_step_count=CI_STEPS,
    derandomize=True,
    **_COMMON,
)
# "model-long": TREADCOACH_MODEL_EXAMPLES=5000 [TREADCOACH_MODEL_STEPS=40] for the long run.
settings.register_profile(
    "model-long",
    max_examples=int(os.environ.get("TREADCOACH_MODEL_EXAMPLES", CI_EXAMPLES)),
    stateful_step_count=int(os.environ.get("TREADCOACH_MODEL_STEPS", CI_STEPS)),
    **_COMMON,
)
PROFILE = (
    "model-long"
    if {"TREADCOACH_MODEL_EXAMPLES", "TREADCOACH_MODEL_STEPS"} & set(os.environ)
    else "model-ci"
)

# what a user may ask for (awkward values on purpose: 4.0 km/h is 2.4855 mph)
SPEEDS = st.sampled_from([0.0, 1.0, 2.5, 3.2, 4.0, 4.7, 4.83, 5.0, 6.0, 9.0])
WAITS = st.sampled_from([0.0, 0.01, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 45.0])


class StopPathMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model: ModelSession | None = None

    @initialize(
        # standard first: a failing example shrinks toward the plainest treadmill
        profile=st.sampled_from(["standard", *sorted(set(PROFILES) - {"standard"})]),
        hold=st.booleans(),
        limits=st.sampled_from([(12.0, 4.83), (12.0, 4.0), (6.0, 3.5), (8.0, 3.0)]),
        notify_hz=st.sampled_from([1.0, 2.0]),
        settle=WAITS,
    )
    def connect(
        self,
        profile: str,
        hold: bool,
        limits: tuple[float, float],
        notify_hz: float,
        settle: float,
    ) -> None:
        self.model = ModelSession(
            profile=profile,
            hold_on_control_lost=hold,
            max_kmh=limits[0],
            backward_max_kmh=limits[1],
            notify_hz=notify_hz,
        )
        self.model.start()
        self.model.advance(settle)

    @property
    def m(self) -> ModelSession:
        assert self.model is not None
        return self.model

    def live(self) -> bool:
        return self.model is not None and not self.model.ended

    # --- time -------------------------------------------------------------------------------

    @rule(seconds=WAITS)
    def wait(self, seconds: float) -> None:
        self.m.advance(seconds)

    # --- the user -----------------------------------------------------------------------------

    @precondition(live)
    @rule()
    def press_stop(self) -> None:
        self.m.stop()

    @precondition(live)
    @rule()
    def quit(self) -> None:
        self.m.quit()

    @precondition(live)
    @rule()
    def pause(self) -> None:
        self.m.pause()

    @precondition(live)
    @rule()
    def resume(self) -> None:
        self.m.resume()

    @precondition(live)
    @rule(kmh=SPEEDS)
    def speed(self, kmh: float) -> None:
        self.m.speed(kmh)

    @precondition(live)
    @rule(kmh=SPEEDS)
    def speed_then_stop_in_one_turn(self, kmh: float) -> None:
        self.m.speed_then_stop(kmh)

    @precondition(live)
    @rule()
    def take_control_back(self) -> None:
        self.m.control_back()

    # --- the treadmill --------------------------------------------------------------------------

    @precondition(allowed("console_takes_control"))
    @rule()
    def console_takes_control(self) -> None:
        self.m.inject(FaultKind.CONTROL_LOST)

    @precondition(allowed("console_changes_speed"))
    @rule(kmh=st.sampled_from([2.0, 4.0, 6.0, 8.0]))
    def console_changes_speed(self, kmh: float) -> None:
        self.m.inject(FaultKind.CONSOLE_SPEED, kmh=kmh)

    @precondition(allowed("console_starts_belt"))
    @rule()
    def console_starts_belt(self) -> None:
        self.m.inject(FaultKind.CONSOLE_START)

    @precondition(allowed("console_stops_belt"))
    @rule()
    def console_stops_belt(self) -> None:
        self.m.inject(FaultKind.CONSOLE_STOP)

    @precondition(allowed("safety_key"))
    @rule()
    def safety_key(self) -> None:
        self.m.inject(FaultKind.SAFETY_KEY)

    @precondition(allowed("link_drops"))
    @rule(down_s=st.sampled_from([0.0, 0.0, 1.0, 4.0]))
    def link_drops(self, down_s: float) -> None:
        self.m.inject(FaultKind.DISCONNECT, down_s=down_s)

    @precondition(allowed("refuses_next_writes_0x04"))
    @rule(count=st.integers(1, 3))
    def refuses_next_writes_0x04(self, count: int) -> None:
        self.m.inject(FaultKind.NACK, count=count)

    @precondition(allowed("refuses_next_writes_0x05"))
    @rule(count=st.integers(1, 3))
    def refuses_next_writes_0x05(self, count: int) -> None:
        self.m.inject(FaultKind.NOT_PERMITTED, count=count)

    @precondition(allowed("loses_next_indications"))
    @rule(count=st.integers(1, 2))
    def loses_next_indications(self, count: int) -> None:
        self.m.inject(FaultKind.DROP_INDICATION, count=count)

    @precondition(allowed("late_indications"))
    @rule(count=st.integers(1, 2), delay_s=st.sampled_from([0.5, 2.5, 4.0]))
    def late_indications(self, count: int, delay_s: float) -> None:
        self.m.inject(FaultKind.LATE_INDICATION, count=count, delay_s=delay_s)

    @precondition(allowed("telemetry_gap"))
    @rule(for_s=st.sampled_from([1.0, 2.5, 5.0]))
    def telemetry_gap(self, for_s: float) -> None:
        self.m.inject(FaultKind.STALE, for_s=for_s)

    @precondition(allowed("belt_slow_to_slow"))
    @rule()
    def belt_slow_to_slow(self) -> None:
        self.m.inject(FaultKind.SLOW_BELT)

    # --- the rules, one invariant each (so distinct violations are reported apart) -------------

    def _first(self, rule_name: str) -> str | None:
        return None if self.model is None else self.model.rules.first(rule_name)

    @invariant()
    def no_write_above_the_active_cap(self) -> None:
        found = self._first("cap")
        assert found is None, found

    @invariant()
    def after_a_stop_request_only_stop_is_written(self) -> None:
        found = self._first("after_stop")
        assert found is None, found

    @invariant()
    def no_start_to_a_running_belt(self) -> None:
        found = self._first("start_running")
        assert found is None, found

    @invariant()
    def no_request_control_after_0xff_without_the_user(self) -> None:
        found = self._first("rc_after_ff")
        assert found is None, found

    @invariant()
    def the_belt_stops_after_a_stop_or_the_user_is_told(self) -> None:
        found = self._first("standstill")
        assert found is None, found

    @invariant()
    def no_step_starts_with_the_belt_above_its_cap(self) -> None:
        found = self._first("step_above_cap")
        assert found is None, found

    @invariant()
    def the_session_never_crashes(self) -> None:
        found = self._first("crash")
        assert found is None, found

    def teardown(self) -> None:
        if self.model is None:
            return
        model = self.model
        already = set(model.rules.violations)
        model.finish()
        # The end (quit, the session's own exit, the belt coming to rest) is judged too; what
        # was already reported by an invariant is not reported twice.
        for name in ("cap", "after_stop", "start_running", "rc_after_ff", "standstill"):
            found = None if name in already else model.rules.first(name)
            assert found is None, f"(while finishing) {found}"
        for name in ("step_above_cap", "crash"):
            found = None if name in already else model.rules.first(name)
            assert found is None, f"(while finishing) {found}"


TestStopPath = StopPathMachine.TestCase
TestStopPath.settings = settings.get_profile(PROFILE)
# pytest-timeout's 120 s (pyproject) is for one ordinary test; a long run gets room in proportion
TestStopPath.pytestmark = [pytest.mark.timeout(120 + TestStopPath.settings.max_examples * 0.5)]


# --- the rules themselves, on made-up traces (each can fail, and allows what it should) ---------


def _rules(*, mph: bool = False) -> StopPathRules:
    steps = expand(parse_plan(MODEL_PLAN, "model.toml"), Caps(backward_max_kmh=4.0))
    return StopPathRules(steps=steps, mph_target=mph, excused=frozenset())


def _write(at: float, data: bytes, result: int = 1, **kw: Any) -> Entry:
    belt = kw.pop("belt", 0.0)
    w = ControlPointWrite(at, data, result, kw.pop("state", RunState.RUNNING), belt, 1)
    return Entry(at, "write", "cp", w, belt)


def _indication(at: float, data: bytes) -> Entry:
    """A control-point indication as the link received it."""
    return Entry(at, "link", "indication", data)


def _segment(at: float, index: int, rules: StopPathRules, belt: float = 0.0) -> Entry:
    step = rules.steps[index]
    event = SegmentStarted(
        t=at, index=index, kind=step.kind, target_kmh=step.target_kmh, duration_s=step.duration_s,
        distance_m=step.distance_m,
    )  # fmt: skip
    return Entry(at, "event", "segment", event, belt)


def _judge(rules: StopPathRules, *entries: Entry, now: float = 0.0, belt: float = 0.0) -> None:
    rules.trace.extend(entries)
    rules.catch_up(now, belt, 0.8)


def test_rules_cap_after_mph_conversion() -> None:
    rules = _rules(mph=True)
    backward = next(s.index for s in rules.steps if s.is_backward)
    _judge(rules, _segment(0, backward, rules), _write(1, b"\x02\xf8\x00"))  # 2.48 mph: 3.99
    assert rules.first("cap") is None
    _judge(rules, _write(2, b"\x02\xf9\x00"))  # 2.49 mph = 4.007 km/h > 4.0
    assert rules.first("cap") is not None


def test_rules_only_stop_after_a_stop_and_request_control_only_after_a_refused_stop() -> None:
    rules = _rules()
    stop = Stop(t=1, reason=StopReason.KEY)
    _judge(
        rules,
        Entry(1, "event", "stop", stop),
        _write(1, b"\x08\x01", result=0x05),
        _indication(1, b"\x80\x08\x05"),
        _write(1, b"\x00"),  # the Request Control the refused Stop needs
        _indication(1, b"\x80\x00\x01"),
        _write(1, b"\x08\x01"),
        _indication(1, b"\x80\x08\x01"),
    )
    assert rules.first("after_stop") is None
    _judge(rules, _write(2, b"\x00"))  # not after a refused Stop
    assert rules.first("after_stop") is not None


def test_rules_request_control_after_a_stop_judged_by_the_answer_the_link_got() -> None:
    # A Stop refused (0x05) whose answer comes late, right after the next Stop was written
    # (and accepted): for the link, that 0x05 answers the new Stop, so its Request Control is
    # the one a refused Stop needs.
    late = _rules()
    _judge(
        late,
        Entry(1, "event", "stop", Stop(t=1, reason=StopReason.KEY)),
        _write(1, b"\x08\x01", result=0x05),  # its answer is late
        _write(2, b"\x08\x01"),  # accepted by the treadmill...
        _indication(2, b"\x80\x08\x05"),  # ...but what the link hears is the late 0x05
        _write(2, b"\x00"),
    )
    assert late.first("after_stop") is None
    # Two answers in one turn (the late 0x05 of an older Stop, then the new Stop's success):
    # the link acts on the 0x05 it read first.
    both = _rules()
    _judge(
        both,
        Entry(1, "event", "stop", Stop(t=1, reason=StopReason.KEY)),
        _write(1, b"\x08\x01", result=0x05),
        _write(2, b"\x08\x01"),
        _indication(3, b"\x80\x08\x05"),
        _indication(3, b"\x80\x08\x01"),
        _write(3, b"\x00"),
    )
    assert both.first("after_stop") is None
    # The link heard its Stop accepted: a Request Control now is not one a Stop needs.
    heard = _rules()
    _judge(
        heard,
        Entry(1, "event", "stop", Stop(t=1, reason=StopReason.KEY)),
        _write(1, b"\x08\x01", result=0x05),
        _indication(1, b"\x80\x08\x05"),
        _write(2, b"\x08\x01"),
        _indication(2, b"\x80\x08\x01"),
        _write(2, b"\x00"),
    )
    assert heard.first("after_stop") is not None


def test_rules_request_control_after_0xff_and_an_unanswered_stop_only_for_a_user_stop() -> None:
    # After 0xFF a user's Stop got no answer the link heard: its retry may ask for control
    # (the refusal may have been lost; the user asked)
    user = _rules()
    _judge(
        user,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(2, "user", "stop"),
        _write(2, b"\x08\x01", result=0x05),  # its answer lost
        _write(3, b"\x00"),
    )
    assert user.first("after_stop") is None
    assert user.first("rc_after_ff") is None
    # C pressed after 0xFF asks for nothing while stopping: control is still lost for the link
    # until it hears a Request Control granted, so the same holds after it
    pressed = _rules()
    _judge(
        pressed,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(1, "user", "control_back"),
        Entry(2, "user", "quit"),
        _write(2, b"\x08\x01", result=0x05),
        _write(3, b"\x00"),
    )
    assert pressed.first("after_stop") is None
    # A Request Control in flight when 0xFF came is granted after it: the link does not take
    # that as control back (finding 5), so control is still lost for it (the long run, seed 1201)
    in_flight = _rules()
    _judge(
        in_flight,
        _write(1, b"\x00"),
        Entry(1, "treadmill", "control_lost_delivered"),
        _indication(1, b"\x80\x00\x01"),
        Entry(2, "user", "quit"),
        _write(2, b"\x08\x01"),  # its answer late
        _write(3, b"\x00"),
    )
    assert in_flight.first("after_stop") is None
    # A late 0x04 to the Stop arriving at the instant its wait timed out: the link saw the
    # timeout (the answer came unmatched), so its retry asks for control (seed 1201)
    at_timeout = _rules()
    _judge(
        at_timeout,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(2, "user", "quit"),
        _write(2, b"\x08\x01"),
        _indication(3, b"\x80\x08\x04"),
        _write(3, b"\x00"),
    )
    assert at_timeout.first("after_stop") is None
    # A late grant of a Request Control that had timed out, heard after the next Stop was
    # written: unmatched for the link, control still lost for it (seed 1201)
    late_grant = _rules()
    _judge(
        late_grant,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(2, "user", "quit"),
        _write(2, b"\x08\x01"),
        _write(3, b"\x00"),
        _write(4, b"\x08\x01"),
        _indication(5, b"\x80\x00\x01"),
        _write(5, b"\x00"),
    )
    assert late_grant.first("after_stop") is None
    # A Stop's success heard at the very instant its wait timed out: unmatched for the link,
    # whose retry asks for control (seed 1202)
    success_at_timeout = _rules()
    _judge(
        success_at_timeout,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(2, "user", "quit"),
        _write(2, b"\x08\x01"),
        _indication(3, b"\x80\x08\x01"),
        _write(3, b"\x00"),
    )
    assert success_at_timeout.first("after_stop") is None
    # A press right after a Stop was written: that Stop's success does not answer it; the
    # press's own Stop is refused after 0xFF and may ask for control (seed 1201)
    later_press = _rules()
    _judge(
        later_press,
        Entry(1, "user", "stop"),
        _write(1, b"\x08\x01"),
        Entry(1, "user", "stop"),
        _indication(1, b"\x80\x08\x01"),
        Entry(1, "treadmill", "control_lost_delivered"),
        _write(1, b"\x08\x01", result=0x05),
        _indication(1, b"\x80\x08\x05"),
        _write(1, b"\x00"),
    )
    assert later_press.first("rc_after_ff") is None
    # The same writes for the parting stop at 0xFF, with no user stop: still caught
    parting = _rules()
    _judge(
        parting,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(1, "event", "stop", Stop(t=1, reason=StopReason.CONTROL_LOST)),
        _write(2, b"\x08\x01", result=0x05),
        _write(3, b"\x00"),
    )
    assert parting.first("after_stop") is not None
    # A user's stop after 0xFF whose Stop the link heard accepted: no Request Control either
    heard = _rules()
    _judge(
        heard,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(2, "user", "stop"),
        _write(2, b"\x08\x01"),
        _indication(2, b"\x80\x08\x01"),
        _write(3, b"\x00"),
    )
    assert heard.first("after_stop") is not None


def test_rules_start_to_a_running_belt() -> None:
    rules = _rules()
    _judge(rules, _write(0, b"\x07", state=RunState.PAUSED))
    assert rules.first("start_running") is None
    _judge(rules, _write(1, b"\x07", state=RunState.RUNNING))
    assert rules.first("start_running") is not None


def test_rules_start_to_a_belt_the_console_started_judged_by_what_the_link_heard() -> None:
    def console_start(at: float) -> Entry:
        return Entry(at, "treadmill", "console_start", RunState.PAUSED.value)

    # finding 15: the console's report (Machine Status 0x04) reached the link after our Start
    race = _rules()
    _judge(
        race,
        console_start(1),
        _write(1, b"\x07", state=RunState.RUNNING),
        Entry(1, "link", "machine_status", b"\x04"),
    )
    assert race.first("start_running") is None
    # the link heard the console's report before it wrote: a violation
    heard = _rules()
    _judge(
        heard,
        console_start(1),
        Entry(1, "link", "machine_status", b"\x04"),
        _write(1, b"\x07", state=RunState.RUNNING),
    )
    assert heard.first("start_running") is not None

    # heard by telemetry (a machine whose report was lost): moving from a standstill record,
    # or telemetry long enough to tell a belt spinning up from one coasting after our Pause
    def record(at: float, kmh: float) -> Entry:
        return Entry(at, "event", "telemetry", Telemetry(t=at, speed_kmh=kmh, distance_m=0.0))

    one = _rules()
    _judge(one, console_start(1), record(2, 0.55), _write(2, b"\x07", state=RunState.RUNNING))
    assert one.first("start_running") is None  # one record: coasting or starting (seed 1215)
    for records in ((record(2, 0.0), record(3, 0.3)), (record(2, 0.5), record(5, 0.5))):
        told = _rules()
        _judge(told, console_start(1), *records, _write(6, b"\x07", state=RunState.RUNNING))
        assert told.first("start_running") is not None, records
    # an indication answers our own write: it says nothing of the console's start (a stale
    # machine answers writes and sends no status; long run, seed 1215)
    quiet = _rules()
    _judge(
        quiet,
        console_start(1),
        _indication(1, b"\x80\x08\x01"),
        _write(1, b"\x07", state=RunState.RUNNING),
    )
    assert quiet.first("start_running") is None
    # a console Start on a belt already running reports nothing: no excuse for the link
    running = _rules()
    _judge(
        running,
        Entry(1, "treadmill", "console_start", RunState.RUNNING.value),
        _write(1, b"\x07", state=RunState.RUNNING),
    )
    assert running.first("start_running") is not None
    # ... nor does it make a console start before it heard (seed 1215)
    twice = _rules()
    _judge(
        twice,
        console_start(1),
        Entry(1, "treadmill", "console_start", RunState.RUNNING.value),
        _write(1, b"\x07", state=RunState.RUNNING),
    )
    assert twice.first("start_running") is None


def test_rules_request_control_after_0xff_only_after_the_user_asks() -> None:
    rules = _rules()
    _judge(rules, Entry(1, "treadmill", "control_lost_delivered"), Entry(2, "user", "control_back"))
    _judge(rules, _write(2, b"\x00"))
    assert rules.first("rc_after_ff") is None
    _judge(rules, Entry(3, "treadmill", "control_lost_delivered"), _write(4, b"\x00"))
    assert rules.first("rc_after_ff") is not None


def test_rules_the_users_request_control_granted_after_a_second_0xff_is_control_back() -> None:
    # C, its Request Control in flight, the console takes over again, then the grant comes:
    # the machine granted it after the 0xFF (one connection keeps the order), so it is control
    # back on the user's action, and the Request Control a refused Stop needs is allowed
    granted = _rules()
    _judge(
        granted,
        Entry(1, "treadmill", "control_lost_delivered"),
        Entry(1, "user", "control_back"),
        _write(1, b"\x00"),
        Entry(1, "treadmill", "control_lost_delivered"),
        _indication(2, b"\x80\x00\x01"),
        Entry(3, "event", "stop", Stop(t=3, reason=StopReason.OVERSPEED)),
        _write(3, b"\x08\x01", result=0x05),
        _indication(3, b"\x80\x08\x05"),
        _write(3, b"\x00"),
    )
    assert granted.first("rc_after_ff") is None
    # Without C, a grant heard after 0xFF (a Request Control of the product's own in flight)
    # gives nothing back: a Request Control after it is still caught (finding 5)
    own = _rules()
    _judge(
        own,
        _write(1, b"\x00"),
        Entry(1, "treadmill", "control_lost_delivered"),
        _indication(2, b"\x80\x00\x01"),
        _write(3, b"\x00"),
    )
    assert own.first("rc_after_ff") is not None
    # C pressed while stopping writes nothing: a grant heard later answers the stop path's own
    # Request Control and gives no control back (seed 1201)
    stopping = _rules()
    _judge(
        stopping,
        Entry(1, "user", "stop"),
        _write(1, b"\x08\x01"),  # its answer lost
        Entry(1, "user", "control_back"),
        Entry(1, "treadmill", "control_lost_delivered"),
        _write(2, b"\x00"),  # the retry's, late
        _write(3, b"\x08\x01"),
        _write(4, b"\x00"),
        _write(5, b"\x08\x01"),
        _indication(6, b"\x80\x00\x01"),  # the grant of the one at 2 s: unmatched
        _write(6, b"\x00"),
    )
    assert stopping.first("after_stop") is None


def test_rules_a_user_stop_stands_until_the_link_hears_it_landed() -> None:
    # The treadmill accepted the user's Stop but the answer was lost; then 0xFF. For the link
    # the user's stop is still unconfirmed: asking for control to land it is allowed (12 c/e).
    lost = _rules()
    _judge(
        lost,
        Entry(1, "user", "stop"),
        _write(1, b"\x08\x01"),  # accepted, the indication lost
        Entry(2, "treadmill", "control_lost_delivered"),
        _write(3, b"\x00"),
    )
    assert lost.first("rc_after_ff") is None
    # The link heard the Stop land: after 0xFF nothing of the user's is pending any more.
    heard = _rules()
    _judge(
        heard,
        Entry(1, "user", "stop"),
        _write(1, b"\x08\x01"),
        _indication(1, b"\x80\x08\x01"),
        Entry(2, "treadmill", "control_lost_delivered"),
        _write(3, b"\x00"),
    )
    assert heard.first("rc_after_ff") is not None


def test_rules_standstill_bound_counts_from_a_console_speed_up() -> None:
    # Stop asked at 0.2 km/h (bound 1 + 12 s), then the console runs the belt up to 6 km/h:
    # the bound is now 6 / 0.2 + 12 s from the console's change, and past it still a violation.
    rules = _rules()
    _judge(rules, Entry(1, "user", "stop", belt_kmh=0.2), now=1, belt=0.2)
    _judge(rules, Entry(1, "treadmill", "console_speed", {"kmh": 6.0}), now=1, belt=0.2)
    _judge(rules, now=30, belt=3.0)
    assert rules.first("standstill") is None
    _judge(rules, now=44, belt=1.0)
    assert rules.first("standstill") is not None


def test_rules_standstill_bound_counts_from_the_belt_when_the_stop_landed() -> None:
    # Stop asked at 1 km/h (bound 1 / 0.2 + 12 = 17 s); the belt kept ramping while Stops were
    # refused, and the Stop landed at 10 s with the belt at 4 km/h: 10 + 4 / 0.2 + 2 = 32 s.
    rules = _rules()
    _judge(rules, Entry(1, "user", "stop", belt_kmh=1.0), now=1, belt=1.0)
    _judge(rules, _write(10, b"\x08\x01", belt=4.0), now=10, belt=4.0)
    _judge(rules, now=25, belt=1.5)
    assert rules.first("standstill") is None
    _judge(rules, now=33, belt=0.5)
    assert rules.first("standstill") is not None
    # A Stop landing after the deadline it missed extends nothing.
    late = _rules()
    _judge(late, Entry(1, "user", "stop", belt_kmh=1.0), now=1, belt=1.0)
    _judge(late, _write(19, b"\x08\x01", belt=4.0), now=19, belt=4.0)
    assert late.first("standstill") is not None


def test_rules_a_stop_after_a_summary_saying_the_belt_may_run_is_told() -> None:
    def after(summary: Summary) -> StopPathRules:
        rules = _rules()
        _judge(rules, Entry(1, "event", "summary", summary), now=1, belt=4.0)
        _judge(rules, Entry(2, "user", "quit", "stopped", belt_kmh=4.0), now=2, belt=4.0)
        _judge(rules, now=60, belt=4.0)
        return rules

    assert after(_summary(belt_may_be_running=True)).first("standstill") is None
    # a summary saying the belt stopped tells nothing: the belt running on is a violation
    assert after(_summary(belt_may_be_running=False)).first("standstill") is not None


def test_rules_standstill_or_told_within_the_bound() -> None:
    told = _rules()
    _judge(told, Entry(1, "user", "stop", belt_kmh=4.0), now=1, belt=4.0)
    _judge(told, Entry(5, "event", "fault", _fault("stop_unconfirmed")), now=5, belt=4.0)
    _judge(told, now=100, belt=4.0)
    assert told.first("standstill") is None
    silent = _rules()
    _judge(silent, Entry(1, "user", "stop", belt_kmh=4.0), now=1, belt=4.0)
    _judge(silent, now=10, belt=2.0)
    assert silent.first("standstill") is None  # still within 4.0 / 0.2 + 12 s
    _judge(silent, now=40, belt=2.0)
    assert silent.first("standstill") is not None


def test_rules_backward_step_above_its_cap() -> None:
    rules = _rules()
    backward = next(s.index for s in rules.steps if s.is_backward)
    _judge(rules, _segment(0, backward, rules, belt=4.3))
    assert rules.first("step_above_cap") is None  # within the 0.55 km/h tolerance of 4.0
    _judge(rules, _segment(1, backward, rules, belt=5.0))
    assert rules.first("step_above_cap") is not None


def _fault(kind: str) -> Fault:
    return Fault(t=0, kind=kind)


def _summary(*, belt_may_be_running: bool) -> Summary:
    return Summary(
        t=0, completed=False, plan="model", duration_s=1.0, distance_m=0.0,
        planned_backward_s=60.0, backward_s=0.0, backward_distance_m=0.0,
        stop_reason=StopReason.QUIT, belt_may_be_running=belt_may_be_running,
    )  # fmt: skip


def test_model_a_user_stop_whose_answer_was_lost_may_ask_for_control_after_0xff() -> None:
    # The long run's example (hypothesis 6.170.17 blob AXicZUvLDQAwFKG/d2iXsv9SpdcSJAQEKCyLauqJ
    # Y4Omp0UVNejeyLrxLp8uDHgGXg==): the user's Stop is accepted but its answer lost, the
    # console takes control, the link drops. On reconnect Stop gets 0x05 and the link asks for
    # control to land it: for the link the user's stop is unconfirmed (12 c/e), no rc_after_ff.
    model = ModelSession(excused=frozenset())
    try:
        model.start()
        model.advance(5)
        model.inject(FaultKind.DROP_INDICATION, count=1)
        model.stop()
        model.inject(FaultKind.CONTROL_LOST)
        model.inject(FaultKind.DISCONNECT, down_s=0.0)
        model.advance(20)
        model.finish()
    finally:
        model.close()
    assert model.rules.violations == {}
    reconnected = [(w.data, w.result) for w in model.treadmill.writes if w.connection == 2]
    assert reconnected[:3] == [
        (b"\x08\x01", ResultCode.CONTROL_NOT_PERMITTED),
        (b"\x00", ResultCode.SUCCESS),
        (b"\x08\x01", ResultCode.SUCCESS),
    ], reconnected
