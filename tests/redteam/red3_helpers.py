"""Helpers for the round-3 red-team tests (heart rate, dizzy stop, check-in, progression).

The session rig is tests/coach's (controller + real TreadmillLink + simulator on virtual time);
the strap is scripted through the real HR coach (``coach.heart_rate.HeartRateCoach``), so each
test says exactly what the walker's heart does and nothing of the governor is replaced."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "coach"))

# tests/coach's rig, on the path just above
from controller_rig import (
    SET_SPEED,
    STOP_PAUSE,
    RecordingClient,
    Run,
    Write,
    console_keeps_control,
    hold_config,
    plan_steps,
    run_session,
)
from heart_doubles import HR_MAX, MPH_PLAN, ScriptedHeart

__all__ = [
    "HR_MAX",
    "MPH_PLAN",
    "SET_SPEED",
    "STOP_PAUSE",
    "RecordingClient",
    "Run",
    "ScriptedHeart",
    "Write",
    "console_keeps_control",
    "hold_config",
    "plan_steps",
    "run_session",
]
