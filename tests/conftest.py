"""Shared fixtures. Per-area fixtures live in the conftest.py of each tests/ subfolder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes the real user's journal or log (subprocesses inherit the environment)."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("TREADCOACH_LOG", str(Path(home) / "treadcoach.log"))
    monkeypatch.setenv("TREADCOACH_DATA_DIR", str(Path(home) / "data"))


@pytest.fixture(autouse=True)
def _ordinary_scheduling(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A command-line session run in this process (``own_process``) would make the test process
    realtime for the rest of the run (treadcoach.priority): it keeps the scheduling it has.
    Subprocesses claim for real; tests/test_priority.py checks the claim itself. A test that
    raised the test process anyway fails (and the process is put back)."""
    from treadcoach import session
    from treadcoach.priority import PriorityGrant

    monkeypatch.setattr(
        session, "claim_stop_priority", lambda: PriorityGrant("normal", detail="under test")
    )
    yield
    if hasattr(os, "sched_getscheduler"):
        raised = [
            tid
            for tid in map(int, os.listdir("/proc/self/task"))
            if _policy(tid) not in (None, os.SCHED_OTHER)
        ]
        for tid in raised:
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        assert not raised, f"the test made threads {raised} of the test process realtime"


def _policy(tid: int) -> int | None:
    try:
        return os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK
    except OSError:  # the thread ended meanwhile
        return None
