"""A simulated session whose process is ours (``own_process``, as ``treadcoach run``'s) or not,
run until it connects: what a test looks at in that moment, before the belt moves."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from treadcoach import clock
from treadcoach.coach.events import Event
from treadcoach.coach.library import find_plan
from treadcoach.config import load_settings
from treadcoach.safety.reasons import StopReason
from treadcoach.session import Session, SessionOptions

T = TypeVar("T")


def at_connect(
    tmp_path: Path,
    observe: Callable[[], T],
    *,
    own_process: bool,
    speedup: float | None = math.inf,
) -> tuple[Session, list[T]]:
    """The session and what ``observe`` returned when it connected (then it was stopped)."""
    (tmp_path / "devices.toml").write_text("")
    session = Session(
        SessionOptions(
            plan=find_plan("gentle-intro"),
            sim=True,
            record=False,
            handle_signals=False,
            own_process=own_process,
        ),
        load_settings(tmp_path / "devices.toml"),
    )
    seen: list[T] = []

    def on_event(event: Event) -> None:
        if event.event == "connected":
            seen.append(observe())
            session.request_stop(StopReason.KEY)

    session.add_listener(on_event)
    clock.run(session.run(), speedup=speedup)
    return session, seen
