"""What the session does about each link event, as a table."""

from __future__ import annotations

import pytest

from treadcoach.coach import reactions as r
from treadcoach.ftms import MachineStatus, MachineStatusOp, TreadmillData
from treadcoach.link import events as le
from treadcoach.safety.reasons import StopReason

DATA = TreadmillData(speed_kmh=4.0)
NOW = 100.0


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (le.TelemetryEvent(DATA, 99.5), r.Reading(DATA, 99.5)),
        (
            le.StatusEvent(MachineStatus(MachineStatusOp.STOPPED_BY_SAFETY_KEY), NOW),
            r.StopFor(
                StopReason.SAFETY_KEY,
                "safety key pulled",
                ("safety_key", "the treadmill's safety key was pulled"),
            ),
        ),
        (
            le.StatusEvent(MachineStatus(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER), NOW),
            r.StopFor(StopReason.CONSOLE, "stopped at the treadmill console"),
        ),
        (le.StatusEvent(MachineStatus(MachineStatusOp.STARTED_OR_RESUMED_BY_USER), NOW), None),
        (le.ControlLostEvent(NOW), r.ControlLostReaction()),
        (le.LinkUpEvent(True, True, True, NOW), r.LinkUpReaction()),
        (
            le.BadFrameEvent("Treadmill Data", "too short", b"\x00", NOW),
            r.Fault("garbage", "skipped a malformed frame: too short"),
        ),
    ],
)
def test_each_link_event_has_its_reaction(event: object, expected: r.Reaction | None) -> None:
    assert r.react(event, now=NOW, own_stop_until=0.0, last_bad_frame_at=-1e9) == expected


def test_a_link_drop_stops_the_session_and_says_why() -> None:
    reaction = r.react(
        le.LinkDownEvent("gone", True, NOW), now=NOW, own_stop_until=0.0, last_bad_frame_at=0.0
    )
    assert isinstance(reaction, r.StopFor)
    assert reaction.reason is StopReason.DISCONNECT
    assert reaction.link_down
    assert reaction.fault == ("disconnect", "link lost: gone")


def test_the_echo_of_our_own_stop_is_not_someone_at_the_console() -> None:
    status = le.StatusEvent(MachineStatus(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER), NOW)
    assert r.react(status, now=NOW, own_stop_until=NOW + 1, last_bad_frame_at=0.0) is None


def test_bad_frames_are_reported_at_most_once_a_second() -> None:
    frame = le.BadFrameEvent("Treadmill Data", "too short", b"\x00", NOW)
    assert r.react(frame, now=NOW, own_stop_until=0.0, last_bad_frame_at=NOW - 0.5) is None
    assert r.react(frame, now=NOW, own_stop_until=0.0, last_bad_frame_at=NOW - 1.0) is not None
