"""Helpers for TUI tests: a recording speaker and fixed session states.

The session double is the shared ``tests/doubles.py`` ``FakeSessionHandle`` (the test moves its
state, it records every request).
"""

from __future__ import annotations

from dataclasses import replace

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SegmentView, SessionState
from treadcoach.tui.cues import Utterance


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
