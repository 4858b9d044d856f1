"""``treadcoach run --plan progression`` reads the body from the journal (issue 16): the
check-in, a dizzy stop and the heart rate decide the next session. Through the real CLI, on
the simulator, against a journal file seeded with sessions of the last four weeks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_body_input import HEATH, record, walk_session

from treadcoach.history import Journal
from treadcoach.history.checkin import CheckIn
from treadcoach.history.checkin_store import save_checkin
from treadcoach.safety.reasons import StopReason


def _days_ago(days: int) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).replace(hour=7, minute=0)


def _run_progression(db: Path) -> dict[str, Any]:
    """Run the next progression session on the simulator; its backward walk's segment event."""
    proc = subprocess.run(
        [sys.executable, "-m", "treadcoach", "run", "--sim", "--headless", "--plan",
         "progression", "--speedup", "inf", "--json", "--db", str(db)],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return next(e for e in events if e["event"] == "segment" and e["kind"] == "backward_walk")


def _seed(db: Path, bpm_by_days_ago: dict[int, int], last_stop: StopReason | None = None) -> int:
    with Journal.open(db) as journal:
        ids = [
            record(journal, walk_session(4.0, bpm), _days_ago(ago))
            for ago, bpm in sorted(bpm_by_days_ago.items(), reverse=True)
        ]
        if last_stop is not None:
            ids.append(record(journal, walk_session(4.0, 119, stop=last_stop), _days_ago(1)))
    return ids[-1]


# HEATH is by day from the first session: the last session was yesterday
def _heath_days_ago() -> dict[int, int]:
    last = max(HEATH)
    return {last + 1 - day: bpm for day, bpm in HEATH.items()}


def test_run_raises_the_walk_one_step_when_heart_rate_fell_at_the_same_speed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.sqlite3"
    _seed(db, _heath_days_ago())
    walk = _run_progression(db)
    assert walk["target_kmh"] == pytest.approx(4.2)
    assert walk["duration_s"] == 150  # the dose went up, so the volume holds


def test_run_with_a_steady_heart_rate_grows_the_volume_at_the_ladders_speed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.sqlite3"
    _seed(db, dict.fromkeys(_heath_days_ago(), 140))
    walk = _run_progression(db)
    assert (walk["target_kmh"], walk["duration_s"]) == (4.0, 180)


@pytest.mark.parametrize(
    ("checkin", "stop"),
    [(CheckIn(rpe=12, pain=6), None), (CheckIn(rpe=18), None), (None, StopReason.DIZZY)],
)
def test_run_steps_back_after_pain_a_very_hard_session_or_a_dizzy_stop(
    tmp_path: Path, checkin: CheckIn | None, stop: StopReason | None
) -> None:
    db = tmp_path / "history.sqlite3"
    heath = _heath_days_ago()
    if stop is not None:
        heath.pop(1)  # yesterday's session is the dizzy one
    last = _seed(db, heath, last_stop=stop)
    if checkin is not None:
        save_checkin(db, last, checkin)
    walk = _run_progression(db)
    assert walk["duration_s"] == 120  # 20 % back from 150 s
    assert walk["target_kmh"] <= 4.0  # and never a step up
