"""What goes over the wire: the state JSON, the command grammar and the command result JSON.

Commands on ``treadcoach/<id>/command`` are accepted in two spellings (case and surrounding
whitespace don't matter in the text form)::

    stop | stop dizzy | pause | resume | speed <kmh>        plain text, e.g. "speed 4.5"
    {"command": "stop"}  {"command": "stop", "reason": "dizzy"}  {"command": "speed", "kmh": 4.5}

``stop dizzy`` (and ``"reason": "dizzy"`` beside a JSON stop) is the dizzy stop: the same stop,
recorded as reason ``dizzy`` (and counted by the progression as a step back). Any other reason
beside a JSON stop is ignored: it is still a stop.

In JSON the command name ignores case and surrounding whitespace too. A JSON object whose
``command`` is ``stop`` stops whatever else it carries (extra keys, a ``kmh``, a duplicate
``command`` key): a stop button's payload is not ours to design, and refusing a stop over
formatting is the one mistake this parser must not make. Every other command is strict.

Anything else raises ``ValueError`` (pydantic's ``ValidationError`` is one): the bridge logs it and
carries on. Whether a valid command is *allowed* (resume/speed need remote control) is the bridge's
decision, not the parser's.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.state import LinkState, Phase, SessionState
from treadcoach.safety.reasons import StopReason

__all__ = [
    "MAX_COMMAND_BYTES",
    "MAX_JSON_COMMAND_BYTES",
    "MAX_REMOTE_KMH",
    "STOP_DIZZY",
    "Command",
    "CommandName",
    "CommandResult",
    "HrZone",
    "StatePayload",
    "parse_command",
]

# A text command is a word and a number: anything longer is garbage, refused before decoding.
MAX_COMMAND_BYTES = 256
# A JSON object may carry other keys beside a stop (a button's metadata), so it may be longer.
MAX_JSON_COMMAND_BYTES = 4096
# Sanity bound for the parser only; the controller still clamps to the session's caps.
MAX_REMOTE_KMH = 30.0
# The one stop reason a remote may name (CONTRACTS.md): "stop dizzy".
STOP_DIZZY = "dizzy"


class HrZone(BaseModel):
    """The current segment's heart-rate zone, in bpm (``value_json.hr_zone.low``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    low: int
    high: int


class StatePayload(BaseModel):
    """The JSON on ``treadcoach/<id>/state`` (Home Assistant reads it with ``value_json.<field>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase: Phase
    running: bool = Field(description="the plan is running (not paused, stopped or finished)")
    link: LinkState
    plan: str
    elapsed_s: float
    segment_index: int | None
    segment_count: int
    segment_kind: SegmentKind | None
    segment_label: str
    remaining: float | None = Field(description="left in this segment, in remaining_unit")
    remaining_unit: str
    remaining_s: float | None = Field(description="seconds left (duration segments only)")
    remaining_m: float | None = Field(description="metres left (distance segments only)")
    countdown_s: int | None = Field(description="seconds to a direction change, while cued")
    target_kmh: float | None
    speed_kmh: float
    distance_m: float
    incline_pct: float | None
    heart_rate_bpm: int | None = Field(
        description="the strap's trusted pulse when a strap is used, else the belt's"
    )
    strap_connected: bool | None = Field(description="None: no heart-rate strap configured")
    hr_signal: str | None = Field(
        description="ok, stale, no_contact, invalid, absent; None: no strap"
    )
    hr_zone: HrZone | None = Field(description="this segment's heart-rate zone, if it has one")
    hr_zone_state: str | None = Field(description="below, in or above the zone")
    hr_holding: bool = Field(description="HR-driven speed changes suspended (strap trouble)")
    progress: float
    cue: str
    stop_reason: StopReason | None
    stop_detail: str
    faults: tuple[str, ...]

    @classmethod
    def from_state(cls, state: SessionState) -> StatePayload:
        segment = state.segment
        remaining = _round(state.remaining, 1)
        return cls(
            phase=state.phase,
            running=state.phase is Phase.RUNNING,
            link=state.link,
            plan=state.plan_name,
            elapsed_s=round(state.elapsed_s, 1),
            segment_index=segment.index if segment else None,
            segment_count=state.segment_count,
            segment_kind=segment.kind if segment else None,
            segment_label=segment.label if segment else "",
            remaining=remaining,
            remaining_unit=state.remaining_unit,
            remaining_s=remaining if state.remaining_unit == "s" else None,
            remaining_m=remaining if state.remaining_unit == "m" else None,
            countdown_s=state.turnaround_countdown_s,
            target_kmh=_round(state.target_kmh, 2),
            speed_kmh=round(state.speed_kmh, 2),
            distance_m=round(state.distance_m, 1),
            incline_pct=_round(state.incline_pct, 1),
            heart_rate_bpm=state.heart_rate_bpm,
            strap_connected=state.strap_connected,
            hr_signal=state.hr_signal,
            hr_zone=(
                HrZone(low=state.hr_zone_bpm[0], high=state.hr_zone_bpm[1])
                if state.hr_zone_bpm is not None
                else None
            ),
            hr_zone_state=state.hr_zone_state,
            hr_holding=state.hr_holding,
            progress=round(state.progress, 3),
            cue=state.cue,
            stop_reason=state.stop_reason,
            stop_detail=state.stop_detail,
            faults=state.faults,
        )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class CommandName(StrEnum):
    STOP = "stop"
    PAUSE = "pause"
    RESUME = "resume"
    SPEED = "speed"

    @property
    def needs_remote_control(self) -> bool:
        """Stop and pause are always allowed; starting or speeding up needs the user's opt-in."""
        return self in {CommandName.RESUME, CommandName.SPEED}


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    command: CommandName
    kmh: float | None = Field(None, ge=0.0, le=MAX_REMOTE_KMH, allow_inf_nan=False)
    dizzy: bool = False  # a stop the walker asked for because they feel dizzy

    @property
    def stop_reason(self) -> StopReason:
        """The reason a stop command is recorded with."""
        return StopReason.DIZZY if self.dizzy else StopReason.MQTT

    @field_validator("command", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _speed_has_kmh(self) -> Command:
        if (self.command is CommandName.SPEED) != (self.kmh is not None):
            raise ValueError("'kmh' is required with 'speed' and allowed only with 'speed'")
        if self.dizzy and self.command is not CommandName.STOP:
            raise ValueError("only a stop can be a dizzy stop")
        return self


class CommandResult(BaseModel):
    """Published (not retained) on ``treadcoach/<id>/command/result`` after each command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: CommandName | None
    kmh: float | None = None
    accepted: bool
    detail: str


def parse_command(payload: bytes) -> Command:
    """Parse a command payload (text or JSON, see the module doc); raise ValueError if it is not one."""
    stripped = payload.strip()
    if stripped.startswith(b"{"):
        return _parse_json_command(stripped)
    if len(payload) > MAX_COMMAND_BYTES:
        raise ValueError(f"command payload of {len(payload)} bytes is too long")
    text = payload.decode("utf-8").strip()  # UnicodeDecodeError is a ValueError
    words = text.lower().split()
    if len(words) == 1 and words[0] in {"stop", "pause", "resume"}:
        return Command(command=CommandName(words[0]), kmh=None)
    if words == ["stop", STOP_DIZZY]:
        return _STOP_DIZZY
    if len(words) == 2 and words[0] == "speed":
        kmh = float(words[1])  # ValueError on junk; nan/inf are refused by the model
        if not math.isfinite(kmh):
            raise ValueError(f"speed {words[1]!r} is not a finite number")
        return Command(command=CommandName.SPEED, kmh=kmh)
    raise ValueError(
        f"unknown command {text[:40]!r}: expected stop, stop dizzy, pause, resume or speed <kmh>"
    )


_STOP = Command(command=CommandName.STOP, kmh=None)
_STOP_DIZZY = Command(command=CommandName.STOP, kmh=None, dizzy=True)


def _parse_json_command(data: bytes) -> Command:
    if len(data) > MAX_JSON_COMMAND_BYTES:
        raise ValueError(f"JSON command of {len(data)} bytes is too long")
    try:
        # Pairs, not a dict: with a duplicate "command" key, any one saying stop is enough.
        top = json.loads(data, object_pairs_hook=_Pairs)
    except RecursionError:
        raise ValueError("JSON command nested too deeply") from None
    if not isinstance(top, _Pairs):
        raise ValueError("a JSON command must be an object")
    commands = [value for key, value in top if key == "command"]
    if any(_is(c, CommandName.STOP) for c in commands):
        reasons = [value for key, value in top if key == "reason"]
        return _STOP_DIZZY if any(_is(r, STOP_DIZZY) for r in reasons) else _STOP
    return Command.model_validate(top.as_dict())


def _is(value: object, word: str) -> bool:
    return isinstance(value, str) and value.strip().lower() == word


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in order (duplicates kept)."""

    def as_dict(self) -> dict[str, Any]:
        return {key: _plain(value) for key, value in self}


def _plain(value: Any) -> Any:
    if isinstance(value, _Pairs):
        return value.as_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
