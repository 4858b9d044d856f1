"""A simulated session whose process is ours (``own_process``, as ``treadcoach run``'s) or not,
run until it connects: what a test looks at in that moment, before the belt moves. And
:func:`run_probe`: code run in a process of its own, for what must not happen to the test process
(a real claim of the stop priority would leave it realtime)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
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

_REPO = Path(__file__).resolve().parents[1]


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


def run_probe(code: str, *args: str, timeout_s: float = 120.0) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter (this tree importable) with ``args``; the JSON object
    it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=_REPO,
        env={**os.environ, "PYTHONPATH": str(_REPO)},
        check=True,
        timeout=timeout_s,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
