"""Which failed Stop is a refusal, which is unconfirmed, which is a link down (table)."""

from __future__ import annotations

import pytest

from treadcoach.errors import (
    CommandTimeout,
    ControlLost,
    ControlRejected,
    LinkError,
    StopRefused,
)
from treadcoach.safety.reasons import StopReason
from treadcoach.safety.stop import USER_STOPS, stop_failure


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (StopRefused("AA", 0x08, 0x05, "refused even after Request Control"), "stop_refused"),
        (ControlLost("AA", "the console has control"), "stop_refused"),
        (ControlRejected("AA", 0x08, 0x05, "control not permitted"), "stop_refused"),
        (ControlRejected("AA", 0x08, 0x04, "failed"), "stop_failed"),
        (CommandTimeout("AA", 0x08, 1.0), "stop_failed"),
        (LinkError("AA", "the link is down"), None),  # the reconnect stops the belt
    ],
)
def test_stop_failure(error: Exception, kind: str | None) -> None:
    failure = stop_failure(error)
    assert (failure[0] if failure else None) == kind


def test_user_stops_are_the_inputs_and_signals_only() -> None:
    assert {
        StopReason.KEY,
        StopReason.DIZZY,
        StopReason.PEDAL,
        StopReason.MQTT,
        StopReason.QUIT,
        StopReason.SIGINT,
        StopReason.SIGTERM,
        StopReason.SIGHUP,
    } == USER_STOPS
