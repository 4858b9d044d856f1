"""Plans as workout files, both ways: FIT workouts (Garmin watches) and Zwift ``.zwo`` runs.

Export writes the plan as the session runs it (``coach.schedule.expand``: caps applied,
turnarounds as their own short steps), one step per segment, repeats unrolled (every watch
follows a flat list). Steps are named "Backward walk 2/6", "Turnaround", ... and FIT steps also
carry treadcoach's developer field ``kind`` (the segment kind), so a file treadcoach wrote
imports back exactly.

Import reads a FIT workout or a Zwift running workout into a plan (``coach.plan.Plan``), to be
written as TOML into the user's plan folder; the plan then gets the caps and turnarounds any
plan gets. What a plan cannot say is refused with one line naming the step and the reason --
never a silent default: power or heart-rate targets, speed zones, repeats of repeats, open or
unknown steps. Relative targets (Zwift's paces) need the user's reference pace
(``--threshold-pace``). A step whose *name* says backward or retro becomes a backward step
only when the user confirms it (``backward_from_names``): a forward-walking workout from
elsewhere must never turn the person around by guessing.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

from fit_tool.base_type import BaseType

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import KMH_PER_MPH, Plan, Segment, parse_plan
from treadcoach.coach.schedule import DEFAULT_CAPS, Caps, expand
from treadcoach.errors import PlanError
from treadcoach.history.fit_encode import (
    RUNNING_FROM_KMH,
    DevField,
    FitWriter,
    StepSpec,
    dev_field,
    developer_messages,
    software_version,
    sport_of,
    step_names,
    workout_step,
)

__all__ = [
    "WorkoutFormat",
    "export_workout",
    "import_workout",
    "parse_pace_kmh",
    "plan_steps",
    "plan_toml",
    "read_workout",
    "workout_fit_bytes",
    "zwo_text",
]

WorkoutFormat = Literal["fit", "zwo"]

# A FIT workout_step carries the segment kind as a developer field (index 0, field 3) so that
# treadcoach's own files import back exactly; other tools ignore it.
KIND_FIELD = DevField(3, "kind", BaseType.STRING)
_BACKWARD_NAME = re.compile(r"\b(backward|backwards|retro|reverse)\b", re.IGNORECASE)
_TURNAROUND_NAME = re.compile(r"\bturn ?around\b", re.IGNORECASE)
_RECOVERY_NAME = re.compile(r"\b(recovery|recover|rest|walk-back|walk back)\b", re.IGNORECASE)
_ZWIFT_PACE = "1"  # the profile pace Zwift scales each step by; docs/history.md explains it


@dataclass(frozen=True, slots=True)
class _ImportedStep:
    where: str  # "step 3 (Backward walk 2/6)": how a message names it
    name: str
    kmh: float
    duration_s: float | None
    distance_m: float | None
    kind: SegmentKind | None  # known exactly (our own FIT files), else inferred
    intensity: str | None  # FIT intensity or Zwift element
    notes: str = ""


# --- export ----------------------------------------------------------------------------------


def plan_steps(plan: Plan, caps: Caps = DEFAULT_CAPS) -> list[StepSpec]:
    """The plan as the session runs it, one named step per segment."""
    steps = expand(plan, caps)
    names = step_names([s.kind for s in steps])
    return [
        StepSpec(
            kind=s.kind,
            name=name,
            target_kmh=s.target_kmh,
            duration_s=s.duration_s,
            distance_m=s.distance_m,
            notes=s.cue or s.label,
        )
        for s, name in zip(steps, names, strict=True)
    ]


def _sport(specs: Sequence[StepSpec]) -> Literal["walking", "running"]:
    return sport_of(
        (
            spec.kind,
            spec.target_kmh,
            spec.duration_s or (spec.distance_m or 0.0) / (spec.target_kmh / 3.6),
        )
        for spec in specs
    )


def workout_fit_bytes(plan: Plan, caps: Caps = DEFAULT_CAPS, *, created_s: float = 0.0) -> bytes:
    """A FIT workout file (file type workout) a Garmin watch can follow."""
    from fit_tool.profile.messages.file_id_message import FileIdMessage
    from fit_tool.profile.messages.workout_message import WorkoutMessage
    from fit_tool.profile.profile_type import FileType, Manufacturer, Sport, SubSport

    from treadcoach import __version__

    specs = plan_steps(plan, caps)
    sport = _sport(specs)
    writer = FitWriter()
    file_id = FileIdMessage()
    file_id.type = FileType.WORKOUT
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = 1
    file_id.serial_number = 1
    file_id.time_created = round((created_s or time.time()) * 1000)
    writer.add(file_id)
    for message in developer_messages(round(software_version(__version__) * 100), (KIND_FIELD,)):
        writer.add(message)
    workout = WorkoutMessage()
    if sport == "running":
        workout.sport, workout.sub_sport = Sport.RUNNING, SubSport.TREADMILL
    else:
        workout.sport, workout.sub_sport = Sport.WALKING, SubSport.INDOOR_WALKING
    workout.num_valid_steps = len(specs)
    workout.workout_name = (plan.title or plan.name)[:40]
    writer.add(workout)
    for index, spec in enumerate(specs):
        message = workout_step(index, spec)
        message.developer_fields.append(dev_field(KIND_FIELD, spec.kind.value))
        writer.add(message)
    return writer.to_bytes()


def zwo_text(plan: Plan, caps: Caps = DEFAULT_CAPS, *, threshold_kmh: float) -> str:
    """A Zwift running workout: each step's speed as a fraction of the reference pace."""
    specs = plan_steps(plan, caps)
    measured = [s for s in specs if s.distance_m is not None]
    if measured:
        raise PlanError(
            plan.name,
            f"step {specs.index(measured[0]) + 1} ({measured[0].name})",
            "is measured in metres; a Zwift workout is either all timed or all measured, and "
            "a plan's turnarounds are timed -- export it with --fit instead",
        )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<workout_file>",
        "  <author>treadcoach</author>",
        f"  <name>{_xml_text(plan.title or plan.name)}</name>",
        f"  <description>{_xml_text(plan.description)}</description>",
        "  <sportType>run</sportType>",
        "  <durationType>time</durationType>",
        "  <workout>",
    ]
    for spec in specs:
        fraction = f"{spec.target_kmh / threshold_kmh:.4f}"
        duration = f"{spec.duration_s:g}"
        message = spec.name + (f": {spec.notes}" if spec.notes else "")
        event = f'      <textevent timeoffset="0" message={quoteattr(message)}/>'
        if spec.kind in (SegmentKind.WARMUP, SegmentKind.COOLDOWN):
            tag = "Warmup" if spec.kind is SegmentKind.WARMUP else "Cooldown"
            head = (
                f'    <{tag} Duration="{duration}" PowerLow="{fraction}" '
                f'PowerHigh="{fraction}" pace="{_ZWIFT_PACE}">'
            )
        else:
            tag = "SteadyState"
            head = f'    <{tag} Duration="{duration}" Power="{fraction}" pace="{_ZWIFT_PACE}">'
        lines += [head, event, f"    </{tag}>"]
    lines += ["  </workout>", "</workout_file>", ""]
    return "\n".join(lines)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def export_workout(
    plan: Plan,
    path: Path,
    fmt: WorkoutFormat,
    caps: Caps = DEFAULT_CAPS,
    *,
    threshold_kmh: float | None = None,
) -> Path:
    """Write ``plan`` as a FIT workout or a Zwift workout at ``path`` (replaced atomically)."""
    if fmt == "zwo":
        if threshold_kmh is None:
            raise PlanError(
                str(path),
                "",
                "a Zwift workout gives speeds relative to your pace: pass --threshold-pace "
                '(for example "5:30" per km or "8:50/mi")',
            )
        data = zwo_text(plan, caps, threshold_kmh=threshold_kmh).encode()
    else:
        data = workout_fit_bytes(plan, caps)
    return _write(Path(path), data)


def _write(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PlanError(str(path), "", f"cannot write it ({exc.strerror or exc})") from exc
    return path


# --- import ----------------------------------------------------------------------------------

_PACE = re.compile(r"^\s*(\d{1,2}):([0-5]\d)\s*(?:/?\s*(km|mi|mile))?\s*$", re.IGNORECASE)


def parse_pace_kmh(text: str) -> float:
    """ "5:30" or "5:30/km" (minutes per km), "8:50/mi" -> the speed in km/h."""
    match = _PACE.match(text)
    if not match:
        raise PlanError(
            "--threshold-pace",
            "",
            f'cannot read {text!r} as a pace; write minutes:seconds per km ("5:30") '
            'or per mile ("8:50/mi")',
        )
    minutes = int(match.group(1)) + int(match.group(2)) / 60
    if minutes <= 0:
        raise PlanError("--threshold-pace", "", f"{text!r} is not a pace above zero")
    per_km = minutes / KMH_PER_MPH if (match.group(3) or "km").lower() != "km" else minutes
    return 60.0 / per_km


def read_workout(
    path: Path,
    *,
    threshold_kmh: float | None = None,
    backward_from_names: bool = False,
    name: str | None = None,
) -> Plan:
    """A FIT workout or Zwift ``.zwo`` running workout as a plan; ``PlanError`` otherwise."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(str(path), "", f"cannot read it ({exc.strerror or exc})") from exc
    if len(data) >= 12 and data[8:12] == b".FIT":
        title, steps = _read_fit(path, data)
    elif path.suffix.lower() == ".zwo" or data.lstrip()[:1] == b"<":
        title, steps = _read_zwo(path, data, threshold_kmh)
    else:
        raise PlanError(str(path), "", "is neither a FIT workout nor a Zwift .zwo workout")
    if not steps:
        raise PlanError(str(path), "", "has no steps")
    segments = [_segment(path, step, backward_from_names=backward_from_names) for step in steps]
    plan_name = name or _plan_name(path.stem)
    data_toml = {
        "name": plan_name,
        "title": (title or plan_name)[:80],
        "description": f"Imported from {path.name}.",
        "units": "kmh",
    }
    text = plan_toml(data_toml, segments)
    return parse_plan(text, str(path))


def _plan_name(stem: str) -> str:
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")
    return (cleaned or "imported")[:64]


def _segment(path: Path, step: _ImportedStep, *, backward_from_names: bool) -> dict[str, Any]:
    kind = step.kind or _infer_kind(step, backward_from_names=backward_from_names)
    if step.kmh <= 0 or not math.isfinite(step.kmh):
        raise PlanError(str(path), step.where, "has no speed target")
    segment: dict[str, Any] = {"kind": kind.value, "speed": round(step.kmh, 2)}
    if step.duration_s is not None:
        segment["duration"] = round(step.duration_s, 3)
    elif step.distance_m is not None:
        if kind is SegmentKind.TURNAROUND:
            raise PlanError(str(path), step.where, "a turnaround must be timed, not measured")
        segment["distance"] = round(step.distance_m, 2)
    label = step.name[:60]
    if label:
        segment["label"] = label
    if step.notes:
        segment["cue"] = step.notes[:300]
    return segment


def _infer_kind(step: _ImportedStep, *, backward_from_names: bool) -> SegmentKind:
    name = step.name
    if backward_from_names and _BACKWARD_NAME.search(name):
        running = "run" in name.lower() or "retro" in name.lower()
        return SegmentKind.RETRO_RUN if running else SegmentKind.BACKWARD_WALK
    if _TURNAROUND_NAME.search(name) and step.duration_s is not None:
        return SegmentKind.TURNAROUND
    intensity = (step.intensity or "").lower()
    if intensity in ("warmup", "warm_up"):
        return SegmentKind.WARMUP
    if intensity in ("cooldown", "cool_down"):
        return SegmentKind.COOLDOWN
    if intensity in ("rest", "recovery") or _RECOVERY_NAME.search(name):
        return SegmentKind.RECOVERY
    return SegmentKind.FORWARD_RUN if step.kmh >= RUNNING_FROM_KMH else SegmentKind.FORWARD_WALK


def _read_fit(path: Path, data: bytes) -> tuple[str, list[_ImportedStep]]:
    from fit_tool.fit_file import FitFile
    from fit_tool.profile.messages.file_id_message import FileIdMessage
    from fit_tool.profile.messages.workout_message import WorkoutMessage
    from fit_tool.profile.messages.workout_step_message import WorkoutStepMessage
    from fit_tool.profile.profile_type import (
        FileType,
        Intensity,
        WorkoutStepDuration,
        WorkoutStepTarget,
    )

    try:
        fit = FitFile.from_bytes(data)
    except Exception as exc:  # fit-tool raises several types for a broken file
        raise PlanError(str(path), "", f"is not a readable FIT file ({exc})") from exc
    messages = [r.message for r in fit.records if not r.is_definition]
    file_ids = [m for m in messages if isinstance(m, FileIdMessage)]
    if not file_ids or file_ids[0].type != FileType.WORKOUT.value:
        raise PlanError(str(path), "", "is a FIT file but not a workout (file type 5)")
    title = next((m.workout_name or "" for m in messages if isinstance(m, WorkoutMessage)), "")
    raw = [m for m in messages if isinstance(m, WorkoutStepMessage)]
    names = [(m.workout_step_name or "").strip() for m in raw]

    def where(i: int) -> str:
        return f"step {i + 1}" + (f" ({names[i]})" if names[i] else "")

    single: list[_ImportedStep | None] = []
    repeats: list[tuple[int, int, int]] = []  # (repeat step index, from step, times)
    for i, m in enumerate(raw):
        duration = m.duration_type
        if duration == WorkoutStepDuration.REPEAT_UNTIL_STEPS_CMPLT.value:
            first = int(m.duration_value or 0)
            times = int(m.target_value or 0)
            if not 0 <= first < i or times < 1:
                raise PlanError(str(path), where(i), "is a repeat that points nowhere")
            if any(first <= r[0] < i for r in repeats):
                raise PlanError(
                    str(path), where(i), "repeats a repeat; a plan repeats one level only"
                )
            repeats.append((i, first, times))
            single.append(None)
            continue
        if duration == WorkoutStepDuration.TIME.value:
            seconds, metres = m.duration_time, None
        elif duration == WorkoutStepDuration.DISTANCE.value:
            seconds, metres = None, m.duration_distance
        elif duration == WorkoutStepDuration.OPEN.value:
            raise PlanError(
                str(path), where(i), "is open (ends on the lap button); a plan step needs a time"
            )
        else:
            raise PlanError(
                str(path), where(i), f"ends on a condition treadcoach cannot follow ({duration})"
            )
        target = m.target_type
        if target != WorkoutStepTarget.SPEED.value:
            what = {
                WorkoutStepTarget.HEART_RATE.value: "a heart-rate target",
                WorkoutStepTarget.POWER.value: "a power target",
                WorkoutStepTarget.OPEN.value: "no target",
                WorkoutStepTarget.CADENCE.value: "a cadence target",
            }.get(target, f"a target of type {target}")
            raise PlanError(
                str(path), where(i), f"has {what}; treadcoach steps need a speed target"
            )
        low, high = m.custom_target_speed_low, m.custom_target_speed_high
        if not m.target_value and low and high:
            kmh = (low + high) / 2 * 3.6
        else:
            raise PlanError(
                str(path),
                where(i),
                "has a speed zone, not a speed; zones live on the watch, not in the file",
            )
        kind_value = next(
            (f.get_value(0) for f in m.developer_fields if f.name == KIND_FIELD.name), None
        )
        kind = None
        if kind_value is not None:
            try:
                kind = SegmentKind(kind_value)
            except ValueError:
                kind = None
        intensity = None
        if m.intensity is not None:
            intensity = Intensity(m.intensity).name.lower()
        single.append(
            _ImportedStep(
                where(i),
                names[i],
                kmh,
                seconds,
                metres,
                kind,
                intensity,
                notes=(m.notes or "").strip(),
            )
        )
    steps: list[_ImportedStep] = []
    index = 0
    while index < len(raw):
        closing = next((r for r in repeats if r[1] == index), None)
        if closing is not None:
            repeat_at, first, times = closing
            block = [s for s in single[first:repeat_at] if s is not None]
            steps += block * times
            index = repeat_at + 1
            continue
        step = single[index]
        if step is not None:
            steps.append(step)
        index += 1
    return title, steps


_ZWO_ELEMENTS = {"Warmup", "Cooldown", "SteadyState", "Ramp", "IntervalsT"}


def _read_zwo(
    path: Path, data: bytes, threshold_kmh: float | None
) -> tuple[str, list[_ImportedStep]]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise PlanError(str(path), "", f"is not a readable .zwo file ({exc})") from exc
    if root.tag != "workout_file":
        raise PlanError(str(path), "", "is XML but not a Zwift workout (<workout_file>)")
    sport = (root.findtext("sportType") or "").strip().lower()
    if sport != "run":
        raise PlanError(
            str(path), "", f"is a Zwift {sport or 'bike'} workout; only running workouts import"
        )
    if threshold_kmh is None:
        raise PlanError(
            str(path),
            "",
            "gives speeds relative to your pace: pass --threshold-pace "
            '(for example "5:30" per km or "8:50/mi")',
        )
    measured = (root.findtext("durationType") or "time").strip().lower() == "distance"
    title = (root.findtext("name") or "").strip()
    workout = root.find("workout")
    if workout is None:
        raise PlanError(str(path), "", "has no <workout>")
    steps: list[_ImportedStep] = []
    for i, element in enumerate(workout):
        tag = element.tag
        events = [e.get("message", "") for e in element.findall("textevent")]
        name, _, notes = (events[0] if events else "").partition(": ")
        where = f"step {i + 1} ({tag}{', ' + name if name else ''})"
        if tag not in _ZWO_ELEMENTS:
            raise PlanError(
                str(path), where, "has no speed target treadcoach can follow (free run or effort)"
            )

        def number(attribute: str, element: ET.Element = element, where: str = where) -> float:
            return _zwo_number(path, element, where, attribute)

        def make(
            length: float,
            fraction: float,
            intensity: str,
            where: str = where,
            name: str = name,
            notes: str = notes,
        ) -> _ImportedStep:
            timed, measured_m = (None, length) if measured else (length, None)
            kmh = fraction * threshold_kmh
            return _ImportedStep(where, name, kmh, timed, measured_m, None, intensity, notes)

        if tag == "IntervalsT":
            times = int(number("Repeat"))
            on = make(number("OnDuration"), number("OnPower"), "active")
            off = make(number("OffDuration"), number("OffPower"), "rest")
            steps += [on, off] * times
            continue
        if tag == "SteadyState":
            fraction = number("Power")
        else:
            low, high = number("PowerLow"), number("PowerHigh")
            if abs(low - high) > 1e-3:
                raise PlanError(
                    str(path),
                    where,
                    f"ramps from {low:.0%} to {high:.0%}; a plan step holds one speed "
                    "(split it into steady steps)",
                )
            fraction = low
        intensity = {"Warmup": "warmup", "Cooldown": "cooldown"}.get(tag, "active")
        steps.append(make(number("Duration"), fraction, intensity))
    return title, steps


def _zwo_number(path: Path, element: ET.Element, where: str, attribute: str) -> float:
    value = element.get(attribute)
    try:
        result = float(value) if value is not None else math.nan
    except ValueError:
        result = math.nan
    if not math.isfinite(result) or result <= 0:
        raise PlanError(str(path), where, f"has no usable {attribute} ({value!r})")
    return result


def plan_toml(header: dict[str, str], segments: Sequence[dict[str, Any]]) -> str:
    """A plan file (docs/plans.md) from its fields; strings quoted as TOML basic strings."""

    def value(v: Any) -> str:
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)  # JSON string escapes are TOML's too
        return repr(float(v)) if isinstance(v, float) else str(v)

    lines = [f"{key} = {value(v)}" for key, v in header.items()]
    for segment in segments:
        lines += ["", "[[segments]]"]
        lines += [f"{key} = {value(v)}" for key, v in segment.items()]
    return "\n".join(lines) + "\n"


def import_workout(
    path: Path,
    folder: Path,
    *,
    threshold_kmh: float | None = None,
    backward_from_names: bool = False,
    replace: bool = False,
) -> tuple[Plan, Path]:
    """Read ``path`` into a plan and write it as ``folder/NAME.toml``; the written file."""
    plan = read_workout(path, threshold_kmh=threshold_kmh, backward_from_names=backward_from_names)
    expand(plan)  # the same checks any plan gets (caps, turnarounds) before it is saved
    target = Path(folder) / f"{plan.name}.toml"
    if target.exists() and not replace:
        raise PlanError(str(target), "", "already exists; move it aside or pass --force")
    segments = [
        {
            key: value
            for key, value in {
                "kind": seg.kind.value,
                "duration": seg.duration_s,
                "distance": seg.distance_m,
                "speed": seg.speed,
                "label": seg.label,
                "cue": seg.cue,
            }.items()
            if value not in (None, "")
        }
        for seg in plan.segments
        if isinstance(seg, Segment)
    ]
    header = {
        "name": plan.name,
        "title": plan.title,
        "description": plan.description,
        "units": plan.units,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PlanError(str(target), "", f"cannot write it ({exc.strerror or exc})") from exc
    _write(target, plan_toml(header, segments).encode())
    return plan, target
