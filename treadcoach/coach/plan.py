"""Plan files: the model (pydantic, frozen) and the TOML reader.

A plan is a list of segments and repeat blocks, as written by a person. Speeds are in the plan's
own units; ``coach.schedule.expand`` turns a plan into km/h steps, applies the caps and inserts
the turnarounds. A bad plan file raises one :class:`~treadcoach.errors.PlanError` naming the file,
the segment ("repeat 2 > segment 1 (retro_run)") and the problem.

The file format is documented for users in ``docs/plans.md``.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from treadcoach.coach.heart_rate import HrZone, parse_hr_zone
from treadcoach.coach.kinds import SegmentKind
from treadcoach.errors import PlanError

__all__ = [
    "KMH_PER_MPH",
    "MAX_PLAN_KMH",
    "MAX_STEPS",
    "Entry",
    "Plan",
    "Repeat",
    "Segment",
    "Units",
    "describe_path",
    "load_plan",
    "parse_distance_m",
    "parse_duration_s",
    "parse_plan",
    "to_kmh",
]

KMH_PER_MPH = 1.609344

# No plan may ask for more than this: above any home treadmill, and it catches a typo such as
# 80 for 8.0. (The caps in coach.schedule clamp far lower; this only rejects nonsense.)
MAX_PLAN_KMH = 30.0
MAX_DURATION_S = 4 * 3600.0
MAX_DISTANCE_M = 50_000.0
MAX_TIMES = 100
# Segments after flattening repeats (before turnarounds): guards against 100 x 100 x 100 blocks.
MAX_STEPS = 1000

Units = Literal["kmh", "mph"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def to_kmh(speed: float, units: Units) -> float:
    return speed * KMH_PER_MPH if units == "mph" else speed


# --- durations and distances ---------------------------------------------------------------

_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_UNIT_DURATION_RE = re.compile(
    rf"^(?:{_NUM}\s*h(?:ours?|rs?)?)?\s*"
    rf"(?:{_NUM}\s*m(?:in(?:utes?|s)?)?)?\s*"
    rf"(?:{_NUM}\s*s(?:ec(?:onds?|s)?)?)?$",
    re.IGNORECASE,
)
_CLOCK_DURATION_RE = re.compile(r"^(?:(\d+):)?(\d+):([0-5]\d(?:\.\d+)?)$")
_DISTANCE_RE = re.compile(rf"^{_NUM}\s*(m|km|mi)$", re.IGNORECASE)
_METRES_PER = {"m": 1.0, "km": 1000.0, "mi": 1609.344}


def _number(value: object) -> float | None:
    # bool is an int in Python; `duration = true` is a mistake, not one second
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_duration_s(value: object) -> float:
    """Seconds from a number (seconds) or a string: "90 s", "2m30s", "5 min", "1h", "1:30"."""
    number = _number(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        raise ValueError(
            f'a duration is a number of seconds or a string like "2m30s", not {value!r}'
        )
    text = value.strip()
    clock = _CLOCK_DURATION_RE.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    match = _UNIT_DURATION_RE.match(text)
    if text and match and any(match.groups()):
        hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    raise ValueError(
        f"cannot read {value!r} as a duration; write seconds as a number (90) "
        f'or a string such as "90 s", "2m30s", "5 min" or "1:30"'
    )


def parse_distance_m(value: object) -> float:
    """Metres from a number (metres) or a string: "50 m", "1.5 km", "0.5 mi"."""
    number = _number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        match = _DISTANCE_RE.match(value.strip())
        if match:
            return float(match.group(1)) * _METRES_PER[match.group(2).lower()]
    raise ValueError(
        f"cannot read {value!r} as a distance; write metres as a number (50) "
        f'or a string such as "50 m", "1.5 km" or "0.5 mi"'
    )


# --- the model ------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True)


class Segment(_Frozen):
    """One stretch at one speed, ended by time or by distance (exactly one of the two)."""

    kind: SegmentKind
    duration_s: float | None = Field(
        default=None,
        validation_alias=AliasChoices("duration", "duration_s"),
        gt=0,
        le=MAX_DURATION_S,
    )
    distance_m: float | None = Field(
        default=None,
        validation_alias=AliasChoices("distance", "distance_m"),
        gt=0,
        le=MAX_DISTANCE_M,
    )
    speed: float = Field(gt=0, description="in the plan's units (km/h or mph)")
    incline_pct: float | None = Field(default=None, ge=-10, le=40)
    cue: str = Field(default="", max_length=300)
    label: str = Field(default="", max_length=60)
    # issue 16: [low, high] in bpm, or ["60%", "70%"] of limits.hr_max_bpm (coach.heart_rate)
    hr_zone: HrZone | None = None

    @field_validator("hr_zone", mode="before")
    @classmethod
    def _read_hr_zone(cls, value: object) -> object:
        return None if value is None else parse_hr_zone(value)

    @field_validator("duration_s", mode="before")
    @classmethod
    def _read_duration(cls, value: object) -> object:
        return None if value is None else parse_duration_s(value)

    @field_validator("distance_m", mode="before")
    @classmethod
    def _read_distance(cls, value: object) -> object:
        return None if value is None else parse_distance_m(value)

    @field_validator("speed", "incline_pct", mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, not {str(value).lower()}")
        return value

    @field_validator("speed", "incline_pct", "duration_s", "distance_m")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("cue", "label")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _one_end(self) -> Segment:
        if (self.duration_s is None) == (self.distance_m is None):
            if self.duration_s is None:
                raise ValueError("needs a duration or a distance (one of the two)")
            raise ValueError("give a duration or a distance, not both")
        if self.kind is SegmentKind.TURNAROUND and self.duration_s is None:
            raise ValueError("a turnaround is timed: give it a duration, not a distance")
        return self

    def speed_kmh(self, units: Units) -> float:
        return to_kmh(self.speed, units)


class Repeat(_Frozen):
    """``times`` x the segments in order (6 x [retro 50 m, walk-back recovery])."""

    times: int = Field(ge=1, le=MAX_TIMES)
    segments: list[Entry] = Field(min_length=1)

    @field_validator("times", mode="before")
    @classmethod
    def _whole(cls, value: object) -> object:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"must be a whole number, not {value!r}")
        return value


def _entry_tag(value: Any) -> str | None:
    if isinstance(value, Segment):
        return "segment"
    if isinstance(value, Repeat):
        return "repeat"
    if isinstance(value, dict):
        return "repeat" if "times" in value or "segments" in value else "segment"
    return None


Entry = Annotated[
    Annotated[Segment, Tag("segment")] | Annotated[Repeat, Tag("repeat")],
    Discriminator(
        _entry_tag,
        custom_error_type="entry",
        custom_error_message="each entry must be a segment table (kind = ...) or a repeat table (times = ..., segments)",
    ),
]

Repeat.model_rebuild()


class Plan(_Frozen):
    """A workout as written: named, sourced, in one unit system."""

    name: str
    title: str = Field(min_length=1, max_length=80)
    description: str = ""
    source: str = Field(default="", description="the guidance this plan encodes, quoted")
    units: Units = "kmh"
    segments: list[Entry] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                f"{value!r} is not a plan name: use lowercase letters, digits and '-' "
                '(e.g. "my-retro-plan")'
            )
        return value

    @field_validator("segments")
    @classmethod
    def _sane(
        cls, segments: list[Segment | Repeat], info: ValidationInfo
    ) -> list[Segment | Repeat]:
        units: Units = info.data.get("units", "kmh")
        count = 0
        for path, segment, multiplier in _walk(segments, (), 1):
            kmh = segment.speed_kmh(units)
            if kmh > MAX_PLAN_KMH:
                shown = f"{segment.speed:g} {units}" + (
                    f" ({kmh:.1f} km/h)" if units == "mph" else ""
                )
                raise PydanticCustomError(
                    "speed_too_high",
                    f"{shown} is above the {MAX_PLAN_KMH:g} km/h any plan may ask for",
                    {"entry_path": ".".join(map(str, path))},
                )
            count += multiplier
        if count > MAX_STEPS:
            raise ValueError(f"expands to {count} segments; a plan may have at most {MAX_STEPS}")
        return segments

    def flat(self) -> Iterator[tuple[tuple[int, ...], Segment, tuple[tuple[int, int], ...]]]:
        """Every segment in running order: (entry path, segment, ((round, times), ...) per repeat)."""
        yield from _flatten(self.segments, (), ())


def _walk(
    entries: list[Segment | Repeat], path: tuple[int, ...], multiplier: int
) -> Iterator[tuple[tuple[int, ...], Segment, int]]:
    for i, entry in enumerate(entries):
        if isinstance(entry, Repeat):
            yield from _walk(entry.segments, (*path, i), multiplier * entry.times)
        else:
            yield (*path, i), entry, multiplier


def _flatten(
    entries: list[Segment | Repeat],
    path: tuple[int, ...],
    rounds: tuple[tuple[int, int], ...],
) -> Iterator[tuple[tuple[int, ...], Segment, tuple[tuple[int, int], ...]]]:
    for i, entry in enumerate(entries):
        if isinstance(entry, Repeat):
            for n in range(1, entry.times + 1):
                yield from _flatten(entry.segments, (*path, i), (*rounds, (n, entry.times)))
        else:
            yield (*path, i), entry, rounds


def describe_path(plan_or_entries: Plan | list[Segment | Repeat], path: tuple[int, ...]) -> str:
    """Human name of an entry path: (1, 0) -> "repeat 2 > segment 1 (retro_run)"."""
    entries: list[Any] = (
        list(plan_or_entries.segments) if isinstance(plan_or_entries, Plan) else plan_or_entries
    )
    parts: list[str] = []
    for i in path:
        entry = entries[i] if 0 <= i < len(entries) else None
        if isinstance(entry, Repeat):
            parts.append(f"repeat {i + 1}")
            entries = list(entry.segments)
        else:
            kind = entry.kind.value if isinstance(entry, Segment) else None
            parts.append(f"segment {i + 1}" + (f" ({kind})" if kind else ""))
    return " > ".join(parts)


# --- reading files --------------------------------------------------------------------------


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; any problem raises one PlanError naming the file."""
    shown = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanError(shown, "", "no such plan file") from None
    except IsADirectoryError:
        raise PlanError(shown, "", "is a directory, not a plan file") from None
    except OSError as exc:
        raise PlanError(shown, "", f"cannot read the file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(shown, "", f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    return parse_plan(text, shown)


def parse_plan(text: str, source_name: str) -> Plan:
    """Validate plan TOML text; ``source_name`` (usually the path) names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # the message already ends with "(at line L, column C)"
        raise PlanError(source_name, "", f"is not valid TOML: {exc}") from None
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise _plan_error(exc, data, source_name) from None


_SEGMENT_KEYS = ("kind", "duration", "distance", "speed", "incline_pct", "cue", "label", "hr_zone")
_REPEAT_KEYS = ("times", "segments")
_PLAN_KEYS = ("name", "title", "description", "source", "units", "segments")
_SHOW_INPUT = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "float_parsing",
    "float_type",
    "int_parsing",
    "int_type",
    "int_from_float",
    "string_type",
}


def _plan_error(exc: ValidationError, data: dict[str, Any], source_name: str) -> PlanError:
    errors = _typos_first(exc.errors(include_url=False))
    first = errors[0]
    loc = tuple(first["loc"])
    ctx = first.get("ctx") or {}
    if ctx.get("entry_path"):
        # raised by Plan._sane with the path of the offending segment inside the list
        loc = (
            *loc,
            *_loc_from_path(data, tuple(int(p) for p in str(ctx["entry_path"]).split("."))),
        )
    where, field, entry = _where(loc, data)
    problem = _problem(first, field, entry)
    if len(errors) > 1:
        more = len(errors) - 1
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return PlanError(source_name, where, problem)


def _typos_first(errors: list[Any]) -> list[Any]:
    """A misspelt key is reported as the typo ("unknown key 'spede' (did you mean 'speed'?)"),
    not as the required key it leaves missing: the missing error is dropped, the typo goes first."""
    typos = [e for e in errors if e["type"] == "extra_forbidden"]
    if not typos:
        return errors
    explained: set[tuple[Any, ...]] = set()
    for typo in typos:
        *entry, key = typo["loc"]
        for error in errors:
            *other_entry, wanted = error["loc"] or ("",)
            if (
                error["type"] == "missing"
                and other_entry == entry
                and difflib.get_close_matches(str(key), [str(wanted)], n=1)
            ):
                explained.add(tuple(error["loc"]))
    rest = [e for e in errors if e["type"] != "extra_forbidden"]
    return typos + [e for e in rest if tuple(e["loc"]) not in explained]


def _loc_from_path(data: dict[str, Any], path: tuple[int, ...]) -> list[str | int]:
    loc: list[str | int] = []
    entries: Any = data.get("segments")
    for depth, i in enumerate(path):
        entry = entries[i] if isinstance(entries, list) and 0 <= i < len(entries) else None
        tag = _entry_tag(entry) or "segment"
        loc.extend([i, tag] if depth == 0 else ["segments", i, tag])
        entries = entry.get("segments") if isinstance(entry, dict) else None
    loc.append("speed")
    return loc


def _where(loc: tuple[Any, ...], data: dict[str, Any]) -> tuple[str, str, str]:
    """(where, field, entry type) from a pydantic loc walked over the raw TOML data."""
    parts: list[str] = []
    fields: list[str] = []
    node: Any = data
    entry_type = "plan"
    i = 0
    while i < len(loc):
        key = loc[i]
        if key == "segments" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = loc[i + 1]
            items = node.get("segments") if isinstance(node, dict) else None
            entry = items[idx] if isinstance(items, list) and 0 <= idx < len(items) else None
            tag = loc[i + 2] if i + 2 < len(loc) and loc[i + 2] in ("segment", "repeat") else None
            tag = tag or _entry_tag(entry)
            if tag == "repeat":
                parts.append(f"repeat {idx + 1}")
            else:
                kind = entry.get("kind") if isinstance(entry, dict) else None
                parts.append(f"segment {idx + 1}" + (f" ({kind})" if isinstance(kind, str) else ""))
            entry_type = tag or "entry"
            node = entry
            fields = []
            i += 3 if i + 2 < len(loc) and loc[i + 2] in ("segment", "repeat") else 2
        else:
            fields.append(str(key))
            i += 1
    return " > ".join(parts), ".".join(fields), entry_type


def _problem(error: Any, field: str, entry_type: str) -> str:
    kind = error["type"]
    message = str(error["msg"])
    value = error.get("input")
    if kind == "missing":
        return f"missing required key '{field}'"
    if kind == "extra_forbidden":
        known = {"segment": _SEGMENT_KEYS, "repeat": _REPEAT_KEYS}.get(entry_type, _PLAN_KEYS)
        close = difflib.get_close_matches(field, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
        return f"unknown key '{field}'{hint}"
    if kind == "enum" and field == "kind":
        kinds = ", ".join(k.value for k in SegmentKind)
        return f"kind {value!r} is not a segment kind; use one of: {kinds}"
    if kind == "literal_error" and field == "units":
        return f'units {value!r} must be "kmh" or "mph"'
    if kind == "entry":
        return message
    if kind == "too_short" and field == "segments":
        return "needs at least one segment"
    message = message.removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if kind in _SHOW_INPUT:
        message += f" (got {value!r})"
    return f"{field}: {message}" if field else message
