"""The headless pause key on a real ``treadcoach run --headless`` in a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import pytest


def _until(lines: Iterator[bytes], wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for line in lines:
        event: dict[str, Any] = json.loads(line)
        if wanted(event):
            return event
    raise AssertionError("the session ended before the expected event")


def _cue(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == "cue" and e["text"] == text


@pytest.mark.timeout(90)
def test_the_pause_key_pauses_then_resumes_a_headless_session() -> None:
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "treadcoach", "run", "--sim", "--headless", "--json",
            "--plan", "backward-walk-starter", "--speedup", "10", "--no-history",
        ],
        stdin=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
    )  # fmt: skip
    os.close(child)
    try:
        stdout: IO[bytes] | None = proc.stdout
        assert stdout is not None
        lines = iter(stdout)
        _until(lines, lambda e: e["event"] == "telemetry" and e["speed_kmh"] > 1)
        os.write(main, b"p")
        paused = _until(lines, _cue("Paused (key)"))
        os.write(main, b"p")  # the same key resumes (docs/inputs-and-mqtt.md)
        resumed = _until(lines, _cue("Resumed (key)"))
        moving = _until(lines, lambda e: e["event"] == "telemetry" and e["speed_kmh"] > 1)
        os.write(main, b" ")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    assert paused["t"] < resumed["t"] <= moving["t"]
    stops = [json.loads(line) for line in out.splitlines()]
    assert [s["reason"] for s in stops if s["event"] == "stop"] == ["key"]
    assert proc.returncode == 1
    assert b"Traceback" not in err
