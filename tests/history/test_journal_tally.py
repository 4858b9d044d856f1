"""How a session's events add up: backward time and distance, interrupted sessions, resets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.coach.events import (
    Cue,
    Event,
    Fault,
    SegmentStarted,
    Stop,
    Summary,
    Telemetry,
)
from treadcoach.coach.kinds import BACKWARD_KINDS, SegmentKind
from treadcoach.history import Tally, segments_done, step, summarize
from treadcoach.safety.reasons import StopReason

K = SegmentKind


def seg(t: float, kind: SegmentKind, index: int = 0) -> SegmentStarted:
    return SegmentStarted(t=t, index=index, kind=kind, target_kmh=3.0, duration_s=60.0)


def tel(t: float, distance: float, kmh: float = 3.0) -> Telemetry:
    return Telemetry(t=t, speed_kmh=kmh, distance_m=distance)


# (name, events, duration_s, distance_m, backward_s, backward_distance_m)
CASES: list[tuple[str, list[Event], float, float, float, float]] = [
    ("empty stream", [], 0.0, 0.0, 0.0, 0.0),
    (
        "forward only",
        [seg(0, K.WARMUP), tel(1, 0), tel(2, 1.5), tel(3, 3)],
        3.0,
        3.0,
        0.0,
        0.0,
    ),
    (
        "backward closed by the next segment",
        [
            seg(0, K.WARMUP),
            tel(5, 5),
            seg(10, K.BACKWARD_WALK, 1),
            tel(11, 6),
            tel(20, 14),
            seg(40, K.COOLDOWN, 2),
            tel(41, 30),
        ],
        41.0,
        25.0,
        30.0,
        9.0,
    ),
    (
        "backward closed by stop; telemetry after the stop is not backward",
        [
            seg(0, K.RETRO_RUN),
            tel(0, 0),
            tel(10, 20),
            Stop(t=12, reason=StopReason.KEY),
            tel(13, 22),
        ],
        13.0,
        22.0,
        12.0,
        20.0,
    ),
    (
        "backward closed by summary",
        [seg(2, K.BACKWARD_WALK), tel(2, 0), tel(6, 4), Summary(t=8, completed=True)],
        8.0,
        4.0,
        6.0,
        4.0,
    ),
    (
        "interrupted backward runs to its last telemetry, not to a later cue or fault",
        [
            seg(10, K.BACKWARD_WALK),
            tel(10, 0),
            tel(17.5, 6),
            Cue(t=19, text="shorten your stride"),
            Fault(t=19.5, kind="stale"),
        ],
        19.5,
        6.0,
        7.5,
        6.0,
    ),
    (
        "interrupted backward with no telemetry yet counts nothing",
        [tel(9, 3), seg(10, K.BACKWARD_WALK)],
        10.0,
        0.0,
        0.0,
        0.0,
    ),
    (
        "first reading is the baseline, a counter restart counts from zero",
        [tel(0, 1000), seg(1, K.BACKWARD_WALK), tel(2, 1004), tel(3, 2), tel(4, 5)],
        4.0,
        9.0,
        3.0,
        9.0,
    ),
    (
        "two backward segments add up",
        [
            seg(0, K.BACKWARD_WALK),
            tel(0, 0),
            tel(10, 8),
            seg(10, K.RECOVERY, 1),
            tel(20, 18),
            seg(20, K.RETRO_RUN, 2),
            tel(25, 28),
            seg(30, K.COOLDOWN, 3),
        ],
        30.0,
        28.0,
        20.0,
        18.0,
    ),
]


@pytest.mark.parametrize(
    ("events", "duration", "distance", "backward_s", "backward_m"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_summarize_adds_up_backward_time_and_distance(
    events: list[Event], duration: float, distance: float, backward_s: float, backward_m: float
) -> None:
    tally = summarize(events)
    assert tally.duration_s == pytest.approx(duration)
    assert tally.distance_m == pytest.approx(distance)
    assert tally.backward_s == pytest.approx(backward_s)
    assert tally.backward_distance_m == pytest.approx(backward_m)


def test_first_stop_reason_is_kept_and_a_summary_reason_overrides_it() -> None:
    stops: list[Event] = [
        Stop(t=1, reason=StopReason.STALE),
        Stop(t=2, reason=StopReason.KEY),
    ]
    assert summarize(stops).stop_reason == "stale"
    summary = Summary(t=3, completed=False, stop_reason=StopReason.DISCONNECT)
    tally = summarize([*stops, summary])
    assert tally.stop_reason == "disconnect"
    assert not tally.completed
    assert summarize([Summary(t=3, completed=True)]).completed


def test_the_sample_session_adds_up_to_its_plan(make_stream: Callable[..., list[Event]]) -> None:
    tally = summarize(make_stream(hz=2.0))
    assert tally.backward_s == pytest.approx(20.0)
    assert tally.backward_distance_m == pytest.approx(20.0 * 3.6 / 3.6, abs=0.01)
    assert tally.duration_s == pytest.approx(73.0)
    assert tally.completed
    assert tally.stop_reason == "plan_end"


def test_segments_done_lists_each_segment_with_its_actual_time() -> None:
    events: list[Event] = [
        seg(0, K.WARMUP),
        tel(0, 0),
        tel(5, 6, kmh=5.0),
        seg(5, K.BACKWARD_WALK, 1),
        tel(6, 7, kmh=3.5),
        tel(9, 9),
    ]
    done = segments_done(events)
    assert [(s.index, s.kind, s.start_t, s.end_t) for s in done] == [
        (0, K.WARMUP, 0.0, 5.0),
        (1, K.BACKWARD_WALK, 5.0, 9.0),
    ]
    assert [s.distance_m for s in done] == pytest.approx([6.0, 3.0])
    assert [s.max_speed_kmh for s in done] == [5.0, 3.5]


# --- properties ----------------------------------------------------------------------------------


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    """Plausible streams: t never goes back, distance mostly grows and sometimes restarts."""
    events: list[Event] = []
    t = 0.0
    distance = 0.0
    index = 0
    for _ in range(draw(st.integers(0, 60))):
        t += draw(st.floats(0.0, 5.0))
        choice = draw(st.sampled_from(["segment", "telemetry", "telemetry", "stop", "cue"]))
        if choice == "segment":
            events.append(seg(t, draw(st.sampled_from(list(SegmentKind))), index))
            index += 1
        elif choice == "telemetry":
            if draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()):
                distance = draw(st.floats(0.0, 5.0))  # the counter restarted
            else:
                distance += draw(st.floats(0.0, 10.0))
            events.append(tel(t, distance))
        elif choice == "stop":
            events.append(Stop(t=t, reason=draw(st.sampled_from(list(StopReason)))))
        else:
            events.append(Cue(t=t, text="cue"))
    if draw(st.booleans()):
        events.append(Summary(t=t + 1, completed=draw(st.booleans())))
    return events


@given(streams())
def test_backward_never_exceeds_the_whole_and_segments_agree_with_the_tally(
    events: list[Event],
) -> None:
    tally = summarize(events)
    assert 0.0 <= tally.backward_s <= tally.duration_s + 1e-9
    assert 0.0 <= tally.backward_distance_m <= tally.distance_m + 1e-9
    done = segments_done(events)
    backward = [s for s in done if s.kind in BACKWARD_KINDS]
    assert sum(s.duration_s for s in backward) == pytest.approx(tally.backward_s)
    assert sum(s.distance_m for s in backward) == pytest.approx(tally.backward_distance_m)
    assert sum(s.distance_m for s in done) <= tally.distance_m + 1e-6


@given(streams(), st.data())
def test_an_interrupted_session_never_shows_more_than_the_whole_session(
    events: list[Event], data: st.DataObject
) -> None:
    # A process killed after event k lists the tally of the first k events (the journal keeps
    # the running tally): it may show less than the full session, never more.
    cut = data.draw(st.integers(0, len(events)))
    running = Tally()
    for event in events[:cut]:
        running = step(running, event)
    whole = summarize(events)
    assert running.backward_s <= whole.backward_s + 1e-9
    assert running.backward_distance_m <= whole.backward_distance_m + 1e-9
    assert running.distance_m <= whole.distance_m + 1e-9


def pause(t: float) -> Cue:
    return Cue(t=t, text="Paused (key)", kind="info")


def resume(t: float) -> Cue:
    return Cue(t=t, text="Resumed (key)", kind="info")


def test_a_pause_is_counted_as_a_pause_not_as_backward_time() -> None:
    """Issue 15.1: the step clock stands still while paused, and so does the backward count."""
    events: list[Event] = [
        seg(0, K.BACKWARD_WALK),
        tel(10, 10),
        pause(20),
        tel(30, 12),
        resume(125),
        tel(140, 20),
        Stop(t=150, reason=StopReason.KEY),
        Summary(t=156, completed=False, stop_reason=StopReason.KEY),
    ]
    tally = summarize(events)
    assert tally.backward_s == pytest.approx(20 + 25)
    assert tally.paused_s == pytest.approx(105)
    [done] = segments_done(events)
    assert done.paused_s == pytest.approx(105)
    assert done.duration_s == pytest.approx(150)


def test_a_pause_the_stop_ends_counts_up_to_the_stop() -> None:
    events: list[Event] = [
        seg(0, K.RETRO_RUN),
        pause(30),
        Stop(t=40, reason=StopReason.KEY),
        tel(45, 5),
        Summary(t=46, completed=False, stop_reason=StopReason.KEY),
    ]
    tally = summarize(events)
    assert tally.backward_s == pytest.approx(30)
    assert tally.paused_s == pytest.approx(10)


def test_nothing_after_the_summary_stretches_the_session() -> None:
    """Issue 15.6: an mqtt_down fault lands ~1 s after the summary; it is not session time."""
    events: list[Event] = [
        seg(0, K.BACKWARD_WALK),
        tel(10, 10),
        Stop(t=20, reason=StopReason.KEY),
        Summary(t=24, completed=False, stop_reason=StopReason.KEY),
        Fault(t=25.1, kind="mqtt_down", detail="broker gone"),
        tel(26, 12),
    ]
    tally = summarize(events)
    assert tally.duration_s == 24
    assert tally.distance_m == 0
    assert [s.end_t for s in segments_done(events)] == [20]
