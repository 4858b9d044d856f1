"""The garbage collector's full passes stop the loop, the stop path included: a session started
from the command line first settles its heap (``treadcoach.heap``), so later passes walk only
what the session made since, not the tens of thousands of objects it was built from."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from own_process import at_connect

from treadcoach.heap import settle_heap


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test process collects as usual


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settling_the_heap_collects_the_garbage_first_then_freezes_the_rest() -> None:
    _Cycle()  # garbage only the cyclic collector can free
    settle_heap()
    assert gc.get_freeze_count() > 1000  # the imported modules, classes, the plan library ...
    assert not any(type(o) is _Cycle for o in gc.get_objects())


def _frozen_at_connect(tmp_path: Path, *, settle: bool) -> int:
    _, seen = at_connect(tmp_path, gc.get_freeze_count, own_process=settle)
    return seen[0]


def test_a_command_line_session_settles_its_heap_before_the_belt_moves(tmp_path: Path) -> None:
    assert _frozen_at_connect(tmp_path, settle=True) > 1000


def test_a_session_embedded_in_another_program_leaves_its_collector_alone(
    tmp_path: Path,
) -> None:
    assert _frozen_at_connect(tmp_path, settle=False) == 0
