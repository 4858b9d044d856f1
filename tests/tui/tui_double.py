"""A scripted ``SessionHandle`` for TUI tests: the test moves its state, it records every request.

It stands in for the session controller so the TUI can be tested on its own; the end-to-end tests
with the real controller and the simulator check the belt itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from treadcoach.coach.events import Event, Stop, Summary, Telemetry
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SegmentView, SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.cues import Utterance


class ScriptedSession:
    def __init__(self, state: SessionState | None = None, *, stop_takes_s: float = 0.0) -> None:
        self._state = state or SessionState()
        self._listeners: list[Callable[[Event], None]] = []
        self.calls: list[tuple[str, object]] = []
        self.stop_takes_s = stop_takes_s
        self._finished: asyncio.Event | None = None
        self._summary: Summary | None = None
        self.run_cancelled = False
        self.run_returned = False

    # --- what the test drives ---------------------------------------------------------------

    def set_state(self, state: SessionState, *, event: Event | None = None) -> None:
        """Replace the state and tell listeners (the controller emits telemetry as it moves)."""
        self._state = state
        self.emit(event or Telemetry(t=state.elapsed_s, speed_kmh=state.speed_kmh, distance_m=0.0))

    def set_state_quietly(self, state: SessionState) -> None:
        """Replace the state without an event: only the app's tick can notice."""
        self._state = state

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    def finish(self, summary: Summary) -> None:
        self._summary = summary
        self._finished_event().set()

    # --- SessionHandle ------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def request_stop(self, reason: StopReason, detail: str = "") -> None:
        self.calls.append(("stop", reason))
        if self._state.phase in (Phase.STOPPED, Phase.FINISHED):
            return
        self.set_state(
            replace(self._state, phase=Phase.STOPPED, stop_reason=reason, stop_detail=detail),
            event=Stop(t=self._state.elapsed_s, reason=reason, detail=detail),
        )
        summary = Summary(
            t=self._state.elapsed_s,
            completed=False,
            plan=self._state.plan_name,
            duration_s=self._state.elapsed_s,
            distance_m=self._state.distance_m,
            stop_reason=reason,
        )
        loop = asyncio.get_running_loop()
        loop.call_later(self.stop_takes_s, self.finish, summary)

    def request_pause(self, source: StopReason) -> None:
        self.calls.append(("pause", source))
        self.set_state(replace(self._state, phase=Phase.PAUSED))

    def request_resume(self, source: StopReason) -> None:
        self.calls.append(("resume", source))
        self.set_state(replace(self._state, phase=Phase.RUNNING))

    def request_speed(self, kmh: float, source: StopReason) -> None:
        self.calls.append(("speed", kmh))

    def request_control_back(self) -> None:
        self.calls.append(("control_back", None))
        self.set_state(replace(self._state, link=LinkState.CONNECTED, phase=Phase.RUNNING))

    async def run(self) -> Summary:
        try:
            await self._finished_event().wait()
        except asyncio.CancelledError:
            self.run_cancelled = True
            raise
        assert self._summary is not None
        self.run_returned = True
        return self._summary

    def _finished_event(self) -> asyncio.Event:
        if self._finished is None:
            self._finished = asyncio.Event()
        return self._finished


class RecordingSpeaker:
    description = "cues: recorded by the test"

    def __init__(self) -> None:
        self.said: list[Utterance] = []
        self.hushed = 0

    def say(self, utterance: Utterance) -> None:
        self.said.append(utterance)

    def hush(self) -> None:
        self.hushed += 1

    async def aclose(self) -> None:
        pass

    @property
    def texts(self) -> list[str]:
        return [u.text for u in self.said]


def segment(
    index: int,
    kind: SegmentKind,
    target_kmh: float,
    *,
    duration_s: float | None = None,
    distance_m: float | None = None,
) -> SegmentView:
    return SegmentView(
        index=index, kind=kind, target_kmh=target_kmh, duration_s=duration_s, distance_m=distance_m
    )


WARMUP = segment(0, SegmentKind.WARMUP, 4.5, duration_s=300)
TURN_IN = segment(1, SegmentKind.TURNAROUND, 1.5, duration_s=5)
BACKWARD = segment(2, SegmentKind.BACKWARD_WALK, 3.2, duration_s=150)
TURN_OUT = segment(3, SegmentKind.TURNAROUND, 1.5, duration_s=5)
RETRO = segment(4, SegmentKind.RETRO_RUN, 4.8, distance_m=50)


def running(
    seg: SegmentView,
    nxt: SegmentView | None,
    *,
    remaining: float,
    elapsed_s: float = 321.0,
    speed_kmh: float | None = None,
    **changes: object,
) -> SessionState:
    """A fixed RUNNING state in the middle of the starter plan (deterministic for snapshots)."""
    state = SessionState(
        phase=Phase.RUNNING,
        link=LinkState.CONNECTED,
        plan_name="backward-walk starter",
        elapsed_s=elapsed_s,
        segment=seg,
        next_segment=nxt,
        segment_count=7,
        remaining=remaining,
        remaining_unit="m" if seg.distance_m is not None else "s",
        progress=0.42,
        target_kmh=seg.target_kmh,
        speed_kmh=seg.target_kmh if speed_kmh is None else speed_kmh,
        distance_m=412.0,
        heart_rate_bpm=118,
        cue="Hands on the side rails",
    )
    return replace(state, **changes)  # type: ignore[arg-type]
