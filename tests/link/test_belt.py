"""The link's belief about the belt, which decides whether Start may be sent (pure, no loop)."""

from __future__ import annotations

import pytest

from treadcoach.link.belt import BeltBelief


def test_unknown_until_told() -> None:
    belt = BeltBelief()
    assert belt.running is None
    assert belt.speed_kmh is None


def test_standstill_telemetry_means_stopped() -> None:
    belt = BeltBelief()
    belt.telemetry(0.0, now=0.0)
    assert belt.running is False


def test_zero_speed_while_spinning_up_after_start_is_still_running() -> None:
    # A toggle machine would pause on a second Start: the belt at 0 just after Start is running.
    belt = BeltBelief()
    belt.telemetry(0.0, now=0.0)
    belt.started(now=1.0)
    belt.telemetry(0.0, now=1.5)
    assert belt.running is True
    belt.telemetry(0.0, now=12.0)  # still 0 long after Start: it did not start after all
    assert belt.running is False


def test_a_lone_zero_frame_while_running_is_a_glitch() -> None:
    belt = BeltBelief()
    belt.started(now=0.0)
    belt.telemetry(5.0, now=20.0)
    belt.telemetry(0.0, now=21.0)
    assert belt.running is True
    belt.telemetry(5.0, now=22.0)
    belt.telemetry(0.0, now=30.0)
    belt.telemetry(0.0, now=31.0)
    assert belt.running is False  # zeros for 8 s: stopped at the console


def test_moving_from_standstill_means_started_at_the_console() -> None:
    belt = BeltBelief()
    belt.telemetry(0.0, now=0.0)
    belt.telemetry(1.2, now=1.0)
    assert belt.running is True


def test_a_belt_coasting_down_after_stop_is_not_running() -> None:
    belt = BeltBelief()
    belt.started(now=0.0)
    belt.telemetry(6.0, now=20.0)
    belt.stopped(now=21.0)
    belt.telemetry(4.0, now=22.0)
    belt.telemetry(2.0, now=23.0)
    assert belt.running is False
    assert belt.speed_kmh == 2.0


def test_idle_training_status_only_fills_in_an_unknown_state() -> None:
    belt = BeltBelief()
    belt.idle()
    assert belt.running is False
    belt.started(now=0.0)
    belt.idle()
    assert belt.running is True


def test_known_stopped_needs_two_standstill_records_or_training_status_idle() -> None:
    # what a start_toggles machine needs before Start may go out
    belt = BeltBelief()
    assert not belt.known_stopped  # nothing seen yet
    belt.telemetry(0.0, now=0.0)
    assert belt.running is False
    assert not belt.known_stopped  # one 0 km/h frame is not enough
    belt.telemetry(0.0, now=1.0)
    assert belt.known_stopped
    belt.telemetry(0.4, now=2.0)
    assert not belt.known_stopped  # moving again
    belt.telemetry(0.0, now=3.0)
    assert not belt.known_stopped
    idle = BeltBelief()
    idle.idle()
    assert idle.known_stopped
    idle.started(now=0.0)
    assert not idle.known_stopped
    idle.telemetry(0.0, now=0.5)
    idle.telemetry(0.0, now=1.0)
    assert idle.running is True  # spinning up after Start: zeros do not make it stopped
    assert not idle.known_stopped


# Coasting after a Stop, as (event, time, speed) steps and the belief after each:
# ("stop", t, None) is Machine Status stopped, ("ack", t, None) our Stop acknowledged,
# ("speed", t, kmh) a Treadmill Data record. Fresh telemetry wins over an old acknowledgement.
COAST_SCENARIOS: dict[str, list[tuple[str, float, float | None, bool | None]]] = {
    "slowing after an acknowledged Stop is coasting, not running": [
        ("speed", 0.0, 6.0, True),
        ("ack", 1.0, None, False),
        ("speed", 2.0, 5.2, False),
        ("speed", 3.0, 4.4, False),
        ("speed", 8.0, 0.4, False),  # still slowing, however long it takes
        ("speed", 9.0, 0.0, False),
    ],
    "the same speed for coast_stall_s after an acknowledged Stop: running (ack ignored)": [
        ("speed", 0.0, 4.0, True),
        ("ack", 1.0, None, False),
        ("speed", 2.0, 4.0, False),  # the first records may not show it slowing yet
        ("speed", 3.0, 4.0, False),
        ("speed", 4.0, 4.0, True),  # 3 s without slowing: the Stop did not take
    ],
    "a belt that speeds up again after Stop is running": [
        ("speed", 0.0, 4.0, True),
        ("stop", 1.0, None, False),
        ("speed", 2.0, 3.0, False),
        ("speed", 3.0, 3.5, False),
        ("speed", 5.0, 4.0, True),  # not below 3.0 since t=2
    ],
    "a slow decelerating belt (0.2 km/h per s) keeps coasting": [
        ("speed", 0.0, 4.0, True),
        ("ack", 1.0, None, False),
        *[("speed", 2.0 + n, 4.0 - 0.2 * (n + 1), False) for n in range(10)],
    ],
}


@pytest.mark.parametrize("steps", COAST_SCENARIOS.values(), ids=COAST_SCENARIOS.keys())
def test_coasting_after_stop_lasts_only_while_telemetry_shows_the_belt_slowing(
    steps: list[tuple[str, float, float | None, bool | None]],
) -> None:
    belt = BeltBelief()
    belt.started(now=-10.0)
    for n, (what, now, kmh, running) in enumerate(steps):
        if what == "speed":
            assert kmh is not None
            belt.telemetry(kmh, now)
        else:
            belt.stopped(now, acknowledged=what == "ack")
        assert belt.running is running, f"step {n}: {what} at {now}"


def test_after_an_ignored_stop_acknowledgements_no_longer_say_stopped() -> None:
    belt = BeltBelief()
    belt.started(now=0.0)
    belt.telemetry(4.0, now=1.0)
    belt.stopped(now=2.0, acknowledged=True)
    for t in (3.0, 4.0, 5.0):
        belt.telemetry(4.0, now=t)
    assert belt.running is True
    assert belt.acks_ignored
    belt.stopped(now=6.0, acknowledged=True)  # acknowledged again, ignored again
    assert belt.running is True
    belt.stopped(now=7.0)  # the machine's own Machine Status still counts
    assert belt.running is False
    belt.telemetry(0.0, now=8.0)
    assert belt.running is False


def test_a_stop_status_without_our_ack_does_not_make_acks_untrusted() -> None:
    belt = BeltBelief()
    belt.started(now=0.0)
    belt.telemetry(4.0, now=1.0)
    belt.stopped(now=2.0)  # Machine Status "stopped", then the belt runs on (console restart)
    for t in (3.0, 4.0, 5.0):
        belt.telemetry(4.0, now=t)
    assert belt.running is True
    assert not belt.acks_ignored


def _reported_start(belt: BeltBelief, now: float) -> None:
    belt.started(now=now)


def _moved_from_standstill(belt: BeltBelief, now: float) -> None:
    belt.telemetry(0.0, now=now)
    belt.telemetry(0.0, now=now + 0.5)
    belt.telemetry(1.0, now=now + 1.0)


def _our_start_accepted(belt: BeltBelief, now: float) -> None:
    belt.started(now=now, reported=False)


@pytest.mark.parametrize(
    ("between", "believed_stopped"),
    [
        (None, True),  # nothing between our write and its acknowledgement
        (_reported_start, False),  # Machine Status "started by user" (the console)
        (_moved_from_standstill, False),  # telemetry: the belt moved off standstill
        (_our_start_accepted, True),  # our own Start, answered in order before it
    ],
)
def test_an_acknowledged_pause_written_before_a_reported_start_is_no_news_of_a_stopped_belt(
    between: object, believed_stopped: bool
) -> None:
    belt = BeltBelief()
    belt.started(now=0.0)
    belt.telemetry(3.0, now=5.0)
    at_write = belt.starts_seen  # Pause written
    if callable(between):
        between(belt, 6.0)
    belt.stopped(now=8.0, acknowledged=True, starts_at_write=at_write)  # its late ack
    assert (belt.running is False) is believed_stopped
