"""``treadcoach serve`` as the user runs it (a subprocess on the simulator, real time)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadcoach", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--sim", "--headless"],
            "treadcoach serve: --headless/--json: serve always runs headless",
        ),
        (["--speedup", "10"], "treadcoach serve: --speedup and --sim-fault need --sim"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    proc = _serve(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip() == message


def test_a_bad_port_is_refused_by_the_parser_with_exit_2() -> None:
    proc = _serve("--sim", "--port", "70000")
    assert proc.returncode == 2
    assert "--port: must be 1..65535, got '70000'" in proc.stderr


def test_a_short_password_is_refused_before_anything_starts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "treadcoach", "serve", "--sim", "--no-history"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_env(), "TREADCOACH_SERVE_PASSWORD": "short"},
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "treadcoach serve: TREADCOACH_SERVE_PASSWORD must be at least 8 characters"
    )


def test_a_port_in_use_is_one_line_and_the_belt_never_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve("--sim", "--plan", "gentle-intro", "--no-history", "--port", str(port))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(f"treadcoach: cannot serve on 127.0.0.1:{port}: ")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "connected to" not in proc.stdout  # no session was started


def test_serve_prints_the_url_serves_the_page_and_sigint_stops_the_session() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = ["serve", "--sim", "--plan", "gentle-intro", "--no-history", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "treadcoach", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            found = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "no URL printed"
        with urllib.request.urlopen(url, timeout=10) as page:  # the token becomes a cookie
            html = page.read().decode()
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in html
        for line in proc.stdout:
            if "connected to treadcoach-sim" in line:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert "session stopped before the end (sigint)" in err
