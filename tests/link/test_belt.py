"""The link's belief about the belt, which decides whether Start may be sent (pure, no loop)."""

from __future__ import annotations

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
