"""Speakers: espeak-ng one utterance at a time (a real subprocess), the bell, silence."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from treadcoach.tui.audio import BellSpeaker, EspeakSpeaker, SilentSpeaker, make_speaker
from treadcoach.tui.cues import Utterance


def _fake_espeak(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that logs what it was asked to say, 'speaks' for a while, then logs done."""
    log = tmp_path / "said.log"
    exe = tmp_path / "espeak-ng"
    exe.write_text(
        "#!/bin/sh\n"
        '[ "$3" = "--" ] || exit 2\n'
        f'echo "start $4" >> "{log}"\n'
        "sleep 0.8\n"
        f'echo "done $4" >> "{log}"\n'
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe, log


def _read(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def _lines(log: Path, want: int) -> list[str]:
    """The log once it has ``want`` lines (waits up to 3 s for the subprocess)."""
    for _ in range(300):
        lines = _read(log)
        if len(lines) >= want:
            return lines
        await asyncio.sleep(0.01)
    return _read(log)


async def test_a_segment_and_its_form_cue_are_joined_into_one_utterance(tmp_path: Path) -> None:
    exe, log = _fake_espeak(tmp_path)
    speaker = EspeakSpeaker(str(exe))
    speaker.say(Utterance("Backward walk, 2 minutes.", "segment"))
    speaker.say(Utterance("Hands on the side rails.", "form"))
    assert await _lines(log, 1) == ["start Backward walk, 2 minutes. Hands on the side rails."]
    await speaker.aclose()


async def test_a_countdown_number_cuts_off_what_is_being_said(tmp_path: Path) -> None:
    exe, log = _fake_espeak(tmp_path)
    speaker = EspeakSpeaker(str(exe))
    speaker.say(Utterance("Slowing down. Get ready to turn around.", "turnaround"))
    assert await _lines(log, 1) == ["start Slowing down. Get ready to turn around."]
    speaker.say(Utterance("3", "countdown"))
    await _lines(log, 2)
    await asyncio.sleep(1.0)  # long enough for the first one to have finished, had it lived
    lines = _read(log)
    # the first was killed mid-sentence (no "done"), the number was spoken on its own
    assert lines[:2] == ["start Slowing down. Get ready to turn around.", "start 3"]
    assert "done Slowing down. Get ready to turn around." not in lines
    await speaker.aclose()


async def test_closing_the_speaker_silences_it(tmp_path: Path) -> None:
    exe, log = _fake_espeak(tmp_path)
    speaker = EspeakSpeaker(str(exe))
    speaker.say(Utterance("Stop.", "stop"))
    assert await _lines(log, 1) == ["start Stop."]
    await speaker.aclose()
    await asyncio.sleep(1.0)
    assert _read(log) == ["start Stop."]


async def test_a_missing_executable_falls_back_to_the_bell(tmp_path: Path) -> None:
    rings: list[int] = []
    speaker = EspeakSpeaker(
        str(tmp_path / "no-such-espeak"), fallback=BellSpeaker(lambda: rings.append(1))
    )
    speaker.say(Utterance("3", "countdown"))
    for _ in range(100):
        if rings:
            break
        await asyncio.sleep(0.01)
    speaker.say(Utterance("2", "countdown"))  # later cues go straight to the bell
    assert len(rings) == 2
    await speaker.aclose()


async def test_espeak_reporting_no_audio_device_falls_back_to_the_bell(tmp_path: Path) -> None:
    # espeak-ng without a sound card prints ALSA errors and "error: ..." yet exits 0
    exe = tmp_path / "espeak-ng"
    exe.write_text(
        "#!/bin/sh\necho 'ALSA lib pcm.c: Unknown PCM default' >&2\necho 'error: No such file or directory' >&2\nexit 0\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    rings: list[int] = []
    speaker = EspeakSpeaker(str(exe), fallback=BellSpeaker(lambda: rings.append(1)))
    speaker.say(Utterance("Backward walk, 2 minutes.", "segment"))
    for _ in range(300):
        if rings:
            break
        await asyncio.sleep(0.01)
    speaker.say(Utterance("3", "countdown"))
    assert len(rings) == 2
    await speaker.aclose()


def test_bell_rings_once_per_utterance() -> None:
    rings: list[int] = []
    speaker = BellSpeaker(lambda: rings.append(1))
    speaker.say(Utterance("3", "countdown"))
    speaker.say(Utterance("Belt stopping.", "stop"))
    assert len(rings) == 2


def test_engine_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def ring() -> None:
        pass

    assert isinstance(make_speaker("none", ring), SilentSpeaker)
    assert isinstance(make_speaker("bell", ring), BellSpeaker)
    _fake_espeak(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert isinstance(make_speaker("auto", ring), EspeakSpeaker)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert isinstance(make_speaker("auto", ring), BellSpeaker)
    assert isinstance(make_speaker("espeak", ring), BellSpeaker)


def test_the_voice_in_use_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_espeak(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert make_speaker("auto", lambda: None).description == "cues: espeak-ng"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert make_speaker("auto", lambda: None).description == "cues: bell only — install espeak-ng"
    assert make_speaker("espeak", lambda: None).description == "cues: bell only — install espeak-ng"
    assert make_speaker("bell", lambda: None).description == "cues: bell"


async def test_a_speaker_that_failed_says_it_is_the_bell_now(tmp_path: Path) -> None:
    told: list[str] = []
    speaker = EspeakSpeaker(
        str(tmp_path / "no-such-espeak"),
        fallback=BellSpeaker(lambda: None),
        on_fallback=told.append,
    )
    speaker.say(Utterance("Warm-up.", "segment"))
    for _ in range(100):
        if speaker.description != "cues: espeak-ng":
            break
        await asyncio.sleep(0.01)
    await speaker.aclose()
    assert speaker.description.startswith("cues: bell only — espeak-ng cannot speak (")
    assert told == [speaker.description]
