"""What the session screen says for a state: words, numbers and units."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tui_double import BACKWARD, RETRO, TURN_IN, TURN_OUT, WARMUP, running

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.safety.reasons import StopReason
from treadcoach.tui.present import _STOP_WORDS, format_clock, format_speed, heart_words, present


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (125.0, "02:05"),
        (124.2, "02:05"),
        (124.0, "02:04"),
        (0.4, "00:01"),
        (0.0, "00:00"),
        (3725, "1:02:05"),
    ],
)
def test_clock_counts_whole_seconds_up_so_zero_means_over(seconds: float, shown: str) -> None:
    assert format_clock(seconds) == shown


@given(st.floats(min_value=0, max_value=36_000), st.floats(min_value=0, max_value=36_000))
def test_clock_never_goes_up_as_time_runs_out(a: float, b: float) -> None:
    later, earlier = sorted((a, b))
    assert _seconds(format_clock(later)) <= _seconds(format_clock(earlier))


def _seconds(text: str) -> int:
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return total


def test_speeds_render_in_the_users_units_with_one_decimal() -> None:
    assert format_speed(4.828032, "kmh") == "4.8 km/h"
    assert format_speed(4.828032, "mph") == "3.0 mph"
    assert format_speed(None, "mph") == "--"


def test_mph_user_sees_mph_and_miles() -> None:
    view = present(running(BACKWARD, TURN_OUT, remaining=90, distance_m=1609.344), "mph")
    assert view.target == "2.0 mph"
    assert view.actual == "2.0 mph"
    assert view.distance == "1.00 mi"
    assert view.next_up == "TURN AROUND · 00:05 · 0.9 mph"


def test_backward_segment_is_named_and_toned_backward() -> None:
    view = present(running(BACKWARD, TURN_OUT, remaining=90), "kmh")
    assert (view.banner, view.tone) == ("BACKWARD WALK", "backward")
    assert (view.countdown, view.countdown_label) == ("01:30", "left")


def test_warmup_is_toned_forward() -> None:
    view = present(running(WARMUP, TURN_IN, remaining=10), "kmh")
    assert (view.banner, view.tone) == ("WARM-UP", "forward")


def test_turnaround_segment_counts_down_in_the_banner_and_the_digits() -> None:
    view = present(running(TURN_IN, BACKWARD, remaining=4.2, turnaround_countdown_s=5), "kmh")
    assert (view.banner, view.tone) == ("TURN AROUND IN 5", "turnaround")
    assert (view.countdown, view.countdown_label) == ("5", "seconds to turn around")


def test_turnaround_shows_no_number_while_the_belt_is_still_slowing() -> None:
    # the controller has not started counting: a number from the segment time would jump back up
    view = present(running(TURN_IN, BACKWARD, remaining=4.2), "kmh")
    assert (view.banner, view.tone) == ("SLOWING — GET READY TO TURN", "turnaround")
    assert (view.countdown, view.countdown_label) == ("", "slowing down")


def test_countdown_into_a_direction_change_overrides_the_segment_name() -> None:
    view = present(running(WARMUP, TURN_IN, remaining=3, turnaround_countdown_s=3), "kmh")
    assert (view.banner, view.tone) == ("TURN AROUND IN 3", "turnaround")


def test_distance_segment_counts_metres() -> None:
    view = present(running(RETRO, None, remaining=37.4), "kmh")
    assert (view.banner, view.countdown, view.countdown_label) == ("RETRO RUN", "38", "metres left")
    assert view.next_up == "last segment"


@pytest.mark.parametrize(
    ("reason", "banner"),
    [
        (StopReason.KEY, "STOPPED — STOP KEY"),
        (StopReason.SAFETY_KEY, "STOPPED — SAFETY KEY PULLED"),
        (StopReason.CONTROL_LOST, "STOPPED — CONSOLE TOOK CONTROL"),
    ],
)
def test_stopped_says_why_and_shows_the_belt_running_down(reason: StopReason, banner: str) -> None:
    # (it hid the countdown and showed nothing moving for the ~10 s before the summary)
    state = running(
        BACKWARD, TURN_OUT, remaining=90, phase=Phase.STOPPED, stop_reason=reason, speed_kmh=2.34
    )
    view = present(state, "kmh")
    assert (view.banner, view.tone) == (banner, "stopped")
    assert (view.countdown, view.countdown_label) == ("2.3", "km/h · belt slowing to a stop")
    assert view.cue == "Waiting for the belt to stand still, then the summary follows."
    assert view.next_up == ""


def test_the_run_down_ends_when_the_belt_stands_still() -> None:
    state = running(
        BACKWARD, TURN_OUT, remaining=90, phase=Phase.STOPPED, stop_reason=StopReason.KEY
    )
    still = present(replace(state, speed_kmh=0.0), "kmh")
    assert (still.countdown, still.countdown_label) == ("0.0", "km/h · belt stopped")
    assert still.cue == "The belt stands still: the summary follows."
    over = present(replace(state, speed_kmh=0.6), "kmh", session_over=True)
    assert over.countdown == "0.0"


def test_quitting_shows_that_it_waits_for_standstill() -> None:
    state = running(
        BACKWARD,
        TURN_OUT,
        remaining=90,
        phase=Phase.STOPPED,
        stop_reason=StopReason.QUIT,
        speed_kmh=1.8,
    )
    view = present(state, "kmh", leaving=True)
    assert view.banner == "STOPPED — QUIT"
    assert view.countdown == "1.8"
    assert view.cue == "Waiting for the belt to stand still, then quitting."
    assert view.leaving


def test_every_stop_reason_has_words_of_its_own() -> None:
    # a reason added to StopReason must get words, not fall back to its enum value
    assert set(StopReason) <= set(_STOP_WORDS)


def test_link_trouble_is_not_shown_as_ok() -> None:
    for link in LinkState:
        view = present(replace(SessionState(), link=link), "kmh")
        assert view.link_ok is (link is LinkState.CONNECTED)


def test_heart_rate_only_when_present() -> None:
    assert present(running(WARMUP, None, remaining=5), "kmh").heart_rate == "118 bpm"
    assert present(running(WARMUP, None, remaining=5, heart_rate_bpm=None), "kmh").heart_rate == ""


def test_every_kind_has_a_banner() -> None:
    for kind in SegmentKind:
        seg = replace(WARMUP, kind=kind)
        assert present(running(seg, None, remaining=30), "kmh").banner


_STRAP = {"strap_connected": True, "hr_signal": "ok"}


@pytest.mark.parametrize(
    ("changes", "words", "alert"),
    [
        # no strap configured: the belt's own pulse, or nothing at all
        ({"heart_rate_bpm": None}, "", False),
        ({"heart_rate_bpm": 0}, "", False),
        ({"heart_rate_bpm": 118}, "118 bpm", False),
        # a strap, no zone on this segment
        ({**_STRAP, "heart_rate_bpm": 121}, "121 bpm", False),
        # a zone: the arrow says the pulse is above or below it
        (
            {**_STRAP, "heart_rate_bpm": 128, "hr_zone_bpm": (115, 130), "hr_zone_state": "in"},
            "128 · zone 115-130",
            False,
        ),
        (
            {**_STRAP, "heart_rate_bpm": 136, "hr_zone_bpm": (115, 130), "hr_zone_state": "above"},
            "136 · zone 115-130 ↑",
            False,
        ),
        (
            {**_STRAP, "heart_rate_bpm": 101, "hr_zone_bpm": (115, 130), "hr_zone_state": "below"},
            "101 · zone 115-130 ↓",
            False,
        ),
        # what is wrong with the strap wins over a last pulse
        ({**_STRAP, "hr_signal": "stale", "hr_holding": True}, "HR stale: holding speed", True),
        ({**_STRAP, "hr_signal": "no_contact", "hr_holding": True}, "strap off skin", True),
        ({**_STRAP, "hr_signal": "invalid", "hr_holding": True}, "bad HR: holding speed", True),
        ({"strap_connected": False, "hr_signal": "stale"}, "strap reconnecting", True),
        ({"strap_connected": False, "heart_rate_bpm": 118}, "strap reconnecting", True),
        ({"strap_connected": True, "hr_signal": "absent"}, "waiting for HR", False),
        # holding for another reason with a good pulse: says so
        ({**_STRAP, "heart_rate_bpm": 125, "hr_holding": True}, "125 bpm · holding", False),
    ],
)
def test_heart_rate_words_with_the_zone_and_the_straps_state(
    changes: dict[str, object], words: str, alert: bool
) -> None:
    state = replace(running(BACKWARD, None, remaining=60, heart_rate_bpm=None), **changes)  # type: ignore[arg-type]
    assert heart_words(state) == (words, alert)
    view = present(state, "kmh")
    assert (view.heart_rate, view.heart_alert) == (words, alert)


def test_a_strap_problem_leaves_the_stop_banner_and_the_run_down_alone() -> None:
    state = replace(
        running(BACKWARD, None, remaining=60),
        phase=Phase.STOPPED,
        stop_reason=StopReason.KEY,
        speed_kmh=2.0,
        strap_connected=False,
    )
    plain = present(replace(state, strap_connected=None), "kmh")
    view = present(state, "kmh")
    assert view.heart_rate == "strap reconnecting"
    assert (view.banner, view.countdown, view.countdown_label, view.cue) == (
        plain.banner,
        plain.countdown,
        plain.countdown_label,
        plain.cue,
    )
