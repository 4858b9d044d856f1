"""The shared test doubles keep up with the protocols they stand in for."""

from __future__ import annotations

import inspect

from doubles import FakeSessionHandle

from treadcoach.coach.handle import SessionHandle


def _members(protocol: type) -> set[str]:
    return {
        name
        for klass in protocol.__mro__
        if klass.__module__.startswith("treadcoach.")
        for name in vars(klass)
        if not name.startswith("_")
    }


def test_the_fake_session_handle_has_every_session_handle_member() -> None:
    members = _members(SessionHandle)
    assert {"state", "add_listener", "request_stop", "request_control_back", "run"} <= members
    assert sorted(m for m in members if not hasattr(FakeSessionHandle, m)) == []


def test_the_fake_session_handle_takes_the_same_arguments() -> None:
    for name in _members(SessionHandle):
        ours, theirs = getattr(FakeSessionHandle, name), getattr(SessionHandle, name)
        if callable(theirs) and not isinstance(theirs, property):
            assert list(inspect.signature(ours).parameters) == list(
                inspect.signature(theirs).parameters
            ), name
