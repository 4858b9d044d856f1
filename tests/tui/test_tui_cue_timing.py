"""The turnaround countdown as the walker hears it: rendered by espeak-ng, measured with sox.

A real session (app, controller, simulator) runs on virtual time and records when the app hands
each utterance to its speaker, and when the controller starts each countdown second. Every
utterance is then synthesised by espeak-ng with the speaker's own command line into a WAV, and
laid on one timeline the way the speaker plays them: each starts when it was handed over plus the
time espeak-ng needs to start talking (measured here), and a newer one cuts off the one before.
sox renders that timeline into one WAV; the speech onsets are found in it (from sox's samples),
and each countdown number must start within 150 ms of its second, and never be cut off.
"""

from __future__ import annotations

import array
import asyncio
import math
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Cue, Event
from treadcoach.coach.plan import parse_plan
from treadcoach.coach.schedule import Caps, backward_time_s, expand
from treadcoach.link import TreadmillLink
from treadcoach.tui import TreadcoachApp, TuiSettings
from treadcoach.tui.audio import espeak_command
from treadcoach.tui.cues import Utterance

ESPEAK = shutil.which("espeak-ng")
SOX = shutil.which("sox")


@pytest.fixture(autouse=True)
def _voice_tools() -> None:
    # scripts/test installs both; missing, this fails (never skips), as mosquitto does
    if ESPEAK is None or SOX is None:
        pytest.fail("the cue-timing test needs espeak-ng and sox: run bash scripts/test")


TOLERANCE_S = 0.150
RATE = 16000  # Hz, for the rendered timeline
LOUD = 600  # of 32767: speech, not espeak-ng's near-silence (-35 dBFS)

PLAN = """
name = "cue-timing"
title = "Cue timing"
units = "kmh"

[[segments]]
kind = "warmup"
duration = 8
speed = 3.0

[[segments]]
kind = "backward_walk"
duration = 15
speed = 2.5
"""


@dataclass(frozen=True)
class Said:
    at_s: float  # loop time the app handed it to the speaker
    utterance: Utterance


class TimelineSpeaker:
    """Records what the app says and when (the real speaker's job is measured below)."""

    description = "cues: timeline"

    def __init__(self) -> None:
        self.said: list[Said] = []

    def say(self, utterance: Utterance) -> None:
        self.said.append(Said(asyncio.get_running_loop().time(), utterance))

    def hush(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _session_timeline() -> tuple[list[Said], dict[int, float], float]:
    """(utterances, countdown number -> loop time of its second, session start)."""
    speaker = TimelineSpeaker()
    seconds: dict[int, float] = {}
    start: list[float] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        start.append(loop.time())
        steps = expand(parse_plan(PLAN, "cue-timing.toml"), Caps())
        async with SimTreadmill(name="SimTread") as treadmill:

            def link() -> TreadmillLink:
                return TreadmillLink(
                    treadmill.address,
                    client_backend=SimBleakClient,
                    scanner_backend=SimBleakScanner,
                )

            controller = SessionController(
                link,
                steps,
                SessionConfig(plan_name="cue-timing", simulated=True),
                planned_backward_s=backward_time_s(steps),
            )

            def on_event(event: Event) -> None:
                if isinstance(event, Cue) and event.countdown_s is not None:
                    seconds.setdefault(event.countdown_s, loop.time())

            controller.add_listener(on_event)
            app = TreadcoachApp(
                session=controller,
                settings=TuiSettings(summary_delay_s=0, handle_signals=False),
                speaker=speaker,
            )
            async with app.run_test(size=(80, 24)) as pilot:
                await _until(pilot, lambda: not app.session_running, sim_s=120)

    clock.run(scenario(), speedup=math.inf)
    return speaker.said, seconds, start[0]


async def _until(pilot: Pilot[object], condition, sim_s: float) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(sim_s / 0.2)):
        if condition():
            return
        await pilot.pause(0.2)
    raise AssertionError(f"not within {sim_s} s")


def _sox(*args: str) -> bytes:
    assert SOX is not None
    return subprocess.run([SOX, *args], check=True, capture_output=True).stdout


def _samples(wav: Path) -> array.array[int]:
    raw = _sox(str(wav), "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(RATE), "-")
    return array.array("h", raw)


def _loud_frames(samples: array.array[int]) -> list[float]:
    """Start times of the 10 ms frames of the timeline that carry speech."""
    frame = RATE // 100
    return [
        i / RATE
        for i in range(0, len(samples) - frame, frame)
        if max(abs(v) for v in samples[i : i + frame]) > LOUD
    ]


def _startup_latency(tmp: Path) -> float:
    """How long espeak-ng takes from being started to having a number's audio (an upper bound
    on when it starts talking: it plays as it synthesises). The best of five: what the machine
    can do, not how busy the other tests keep it right now."""
    assert ESPEAK is not None
    best = float("inf")
    for i in range(5):
        begin = time.perf_counter()
        subprocess.run(espeak_command(ESPEAK, "4", wav=str(tmp / f"probe{i}.wav")), check=True)
        best = min(best, time.perf_counter() - begin)
    return best


def test_each_countdown_number_is_heard_on_its_second_and_none_is_cut_off(tmp_path: Path) -> None:
    assert ESPEAK is not None
    said, seconds, start = _session_timeline()
    assert sorted(seconds) == [1, 2, 3, 4, 5]
    latency = _startup_latency(tmp_path)
    print(f"espeak-ng start-up: {latency * 1000:.0f} ms")

    # Lay every utterance on the timeline as the speaker plays it.
    placed: list[tuple[float, float, Utterance, Path]] = []  # (begin, natural end, ...)
    for i, item in enumerate(said):
        wav = tmp_path / f"u{i}.wav"
        subprocess.run(espeak_command(ESPEAK, item.utterance.text, wav=str(wav)), check=True)
        length = len(_samples(wav)) / RATE
        begin = item.at_s - start + latency
        placed.append((begin, begin + length, item.utterance, wav))
    parts = []
    for i, (begin, end, _, wav) in enumerate(placed):
        # a newer utterance cuts this one off where it starts (EspeakSpeaker kills the process)
        cut = placed[i + 1][0] if i + 1 < len(placed) else end
        keep = max(0.0, min(end, cut) - begin)
        parts.append(f"|{SOX} {wav} -r {RATE} -p trim 0 {keep:.3f} pad {begin:.3f}")
    timeline = tmp_path / "session-cues.wav"
    assert len(parts) >= 2
    # -v 1: sox -m would divide every input's volume by their number
    _sox("-m", *(arg for part in parts for arg in ("-v", "1", part)), str(timeline))
    heard = _loud_frames(_samples(timeline))

    # the turnaround's count (the last seconds of the timed segments are counted too)
    first, last = seconds[5] - start - 0.5, seconds[1] - start + 0.5
    numbers = [
        (b, e, u) for b, e, u, _ in placed if u.kind == "countdown" and first <= b - latency <= last
    ]
    assert len(numbers) == 5, [u.text for _, _, u in numbers]
    for number, (begin, natural_end, utterance) in zip((5, 4, 3, 2, 1), numbers, strict=True):
        # the number itself is what must land on the second: the utterance is nothing else
        assert utterance.text == str(number)
        second = seconds[number] - start
        # what sounds from here on is this utterance: it cut off the one before where it began
        onset = next((t for t in heard if t >= begin - 1e-9), None)
        assert onset is not None, f"{utterance.text!r} never heard"
        assert abs(onset - second) <= TOLERANCE_S, (
            f"{utterance.text!r} heard at {onset:.3f} s, its second is {second:.3f} s"
        )
        nxt = next((b for b, _, _, _ in placed if b > begin), None)
        print(f"{number}: second {second:.3f} s, heard {onset:.3f} .. {natural_end:.3f} s")
        assert nxt is None or natural_end <= nxt, (
            f"{utterance.text!r} (to {natural_end:.3f} s) is cut off by the next cue at {nxt:.3f} s"
        )
