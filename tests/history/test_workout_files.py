"""Plans as workout files, both ways (issue 15, items 8-10): FIT workouts and Zwift .zwo runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from garmin_fit_sdk import Decoder, Stream

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.library import builtin_plans, find_plan
from treadcoach.coach.plan import Plan, parse_plan
from treadcoach.coach.schedule import expand
from treadcoach.errors import PlanError
from treadcoach.history.workout_files import (
    export_workout,
    import_workout,
    parse_pace_kmh,
    read_workout,
    zwo_text,
)

BUILTIN = [entry.plan for entry in builtin_plans()]
THRESHOLD_KMH = 12.0  # 5:00 per km


def same_segments(a: Plan, b: Plan) -> list[tuple[object, ...]]:
    """The plan as the session runs it, in comparable form (kind, km/h, s, m)."""

    def rows(plan: Plan) -> list[tuple[object, ...]]:
        return [
            (s.kind, round(s.target_kmh, 2), s.duration_s and round(s.duration_s, 2), s.distance_m)
            for s in expand(plan)
        ]

    assert rows(a) == rows(b)
    return rows(a)


def decode(path: Path) -> dict[str, list[dict[str, object]]]:
    decoder = Decoder(Stream.from_file(str(path)))
    assert decoder.check_integrity()
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert errors == []
    return messages


@pytest.mark.parametrize("plan", BUILTIN, ids=lambda p: p.name)
def test_every_builtin_plan_exports_as_a_fit_workout_garmin_reads(
    tmp_path: Path, plan: Plan
) -> None:
    path = export_workout(plan, tmp_path / f"{plan.name}.fit", "fit")
    messages = decode(path)
    assert messages["file_id_mesgs"][0]["type"] == "workout"
    [workout] = messages["workout_mesgs"]
    steps = messages["workout_step_mesgs"]
    expanded = expand(plan)
    assert workout["num_valid_steps"] == len(steps) == len(expanded)
    for step, planned in zip(steps, expanded, strict=True):
        assert step["target_type"] == "speed"
        speed = planned.target_kmh / 3.6
        assert step["custom_target_speed_low"] == pytest.approx(speed, abs=0.001)
        if planned.duration_s is not None:
            assert step["duration_type"] == "time"
            assert step["duration_time"] == pytest.approx(planned.duration_s)
        else:
            assert step["duration_type"] == "distance"
            assert step["duration_distance"] == pytest.approx(planned.distance_m)
    backward = [s for s, p in zip(steps, expanded, strict=True) if p.kind.is_backward]
    assert all(str(s["wkt_step_name"]).startswith(("Backward walk", "Retro run")) for s in backward)
    turnarounds = [s for s, p in zip(steps, expanded, strict=True) if p.is_turnaround]
    assert turnarounds, "every plan with backward work turns around"
    assert all(
        s["wkt_step_name"] == "Turnaround" or "Turnaround" in str(s["wkt_step_name"])
        for s in turnarounds
    )
    assert all(s["intensity"] == "rest" for s in turnarounds)


@pytest.mark.parametrize("plan", BUILTIN, ids=lambda p: p.name)
def test_every_builtin_plan_round_trips_through_a_fit_workout(tmp_path: Path, plan: Plan) -> None:
    path = export_workout(plan, tmp_path / "w.fit", "fit")
    imported = read_workout(path)
    same_segments(plan, imported)


@pytest.mark.parametrize(
    "plan", [p for p in BUILTIN if all(s.duration_s for s in expand(p))], ids=lambda p: p.name
)
def test_timed_builtin_plans_round_trip_through_zwift(tmp_path: Path, plan: Plan) -> None:
    path = export_workout(plan, tmp_path / "w.zwo", "zwo", threshold_kmh=THRESHOLD_KMH)
    imported = read_workout(path, threshold_kmh=THRESHOLD_KMH, backward_from_names=True)
    same_segments(plan, imported)


def test_a_zwift_file_without_backward_confirmation_imports_forward_only(tmp_path: Path) -> None:
    plan = find_plan("backward-walk-starter")
    path = export_workout(plan, tmp_path / "w.zwo", "zwo", threshold_kmh=THRESHOLD_KMH)
    imported = read_workout(path, threshold_kmh=THRESHOLD_KMH)
    assert not any(s.kind.is_backward for _, s, _ in imported.flat())
    confirmed = read_workout(path, threshold_kmh=THRESHOLD_KMH, backward_from_names=True)
    assert any(s.kind is SegmentKind.BACKWARD_WALK for _, s, _ in confirmed.flat())


def test_a_zwift_import_without_a_reference_pace_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "run.zwo"
    path.write_text(
        "<workout_file><sportType>run</sportType><workout>"
        '<SteadyState Duration="60" Power="0.8" pace="1"/></workout></workout_file>'
    )
    with pytest.raises(PlanError, match="--threshold-pace") as caught:
        read_workout(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        ('<FreeRide Duration="600"/>', "no speed target"),
        ('<Warmup Duration="600" PowerLow="0.5" PowerHigh="0.8"/>', "ramps from 50% to 80%"),
        ('<SteadyState Duration="600"/>', "no usable Power"),
    ],
)
def test_a_zwift_step_a_plan_cannot_say_is_one_line_naming_it(
    tmp_path: Path, element: str, reason: str
) -> None:
    path = tmp_path / "run.zwo"
    path.write_text(
        "<workout_file><sportType>run</sportType><workout>"
        f'<SteadyState Duration="60" Power="0.8"/>{element}</workout></workout_file>'
    )
    with pytest.raises(PlanError) as caught:
        read_workout(path, threshold_kmh=THRESHOLD_KMH)
    message = str(caught.value)
    assert "step 2" in message
    assert reason in message
    assert "\n" not in message


def test_a_bike_workout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ride.zwo"
    path.write_text(
        "<workout_file><sportType>bike</sportType><workout>"
        '<SteadyState Duration="60" Power="0.8"/></workout></workout_file>'
    )
    with pytest.raises(PlanError, match="only running workouts"):
        read_workout(path, threshold_kmh=THRESHOLD_KMH)


def _fit_workout(tmp_path: Path, *steps: object) -> Path:
    """A FIT workout written with Garmin's own encoder (steps as workout_step dicts)."""
    from garmin_fit_sdk import (
        Encoder,  # type: ignore[attr-defined]
        Profile,
    )

    encoder = Encoder()
    encoder.on_mesg(
        Profile["mesg_num"]["FILE_ID"],
        {"type": "workout", "manufacturer": "development", "product": 1, "serial_number": 7},
    )
    encoder.on_mesg(
        Profile["mesg_num"]["WORKOUT"],
        {"wkt_name": "From a watch", "sport": "running", "num_valid_steps": len(steps)},
    )
    for index, step in enumerate(steps):
        encoder.on_mesg(Profile["mesg_num"]["WORKOUT_STEP"], {"message_index": index, **step})  # type: ignore[dict-item]
    path = tmp_path / "watch.fit"
    path.write_bytes(encoder.close())
    return path


def _speed_step(
    name: str, seconds: float, mps: float, intensity: str = "active"
) -> dict[str, object]:
    # Garmin's encoder takes the main fields (sub-fields are how decoders read them): times in
    # ms and speeds in mm/s, as the profile's sub-field scales say.
    return {
        "wkt_step_name": name,
        "duration_type": "time",
        "duration_value": round(seconds * 1000),
        "target_type": "speed",
        "target_value": 0,
        "custom_target_value_low": round(mps * 1000),
        "custom_target_value_high": round(mps * 1000),
        "intensity": intensity,
    }


def test_a_watch_workout_with_repeats_imports_as_its_segments(tmp_path: Path) -> None:
    path = _fit_workout(
        tmp_path,
        _speed_step("Warm up", 300, 1.4, "warmup"),
        _speed_step("Backward walk", 60, 0.9),
        _speed_step("Walk", 90, 1.4, "recovery"),
        {"duration_type": "repeat_until_steps_cmplt", "duration_value": 1, "target_value": 3},
        _speed_step("Cool down", 180, 1.3, "cooldown"),
    )
    plan = read_workout(path, backward_from_names=True)
    kinds = [s.kind for _, s, _ in plan.flat()]
    assert kinds == [
        SegmentKind.WARMUP,
        *[SegmentKind.BACKWARD_WALK, SegmentKind.RECOVERY] * 3,
        SegmentKind.COOLDOWN,
    ]
    first = next(s for _, s, _ in plan.flat() if s.kind is SegmentKind.BACKWARD_WALK)
    assert first.speed == pytest.approx(3.24)
    assert first.duration_s == 60


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ({**_speed_step("Easy", 60, 1.4), "target_type": "heart_rate"}, "heart-rate target"),
        ({**_speed_step("Hard", 60, 1.4), "target_type": "power"}, "power target"),
        ({**_speed_step("Zone 2", 60, 1.4), "target_value": 2}, "speed zone"),
        ({**_speed_step("Until lap", 60, 1.4), "duration_type": "open"}, "lap button"),
    ],
)
def test_a_watch_step_a_plan_cannot_say_is_one_line_naming_it(
    tmp_path: Path, step: dict[str, object], reason: str
) -> None:
    path = _fit_workout(tmp_path, _speed_step("Warm up", 300, 1.4, "warmup"), step)
    with pytest.raises(PlanError) as caught:
        read_workout(path)
    message = str(caught.value)
    assert f"step 2 ({step['wkt_step_name']})" in message
    assert reason in message
    assert "\n" not in message


def test_a_repeat_of_a_repeat_is_refused(tmp_path: Path) -> None:
    path = _fit_workout(
        tmp_path,
        _speed_step("Run", 60, 2.5),
        _speed_step("Walk", 60, 1.4),
        {"duration_type": "repeat_until_steps_cmplt", "duration_value": 0, "target_value": 2},
        {"duration_type": "repeat_until_steps_cmplt", "duration_value": 0, "target_value": 2},
    )
    with pytest.raises(PlanError, match="repeats a repeat"):
        read_workout(path)


def test_import_writes_a_plan_file_that_loads_like_any_plan(tmp_path: Path) -> None:
    plan = find_plan("retro-intervals")
    exported = export_workout(plan, tmp_path / "retro.fit", "fit")
    imported, written = import_workout(exported, tmp_path / "plans")
    assert written == tmp_path / "plans" / "retro.toml"
    again = parse_plan(written.read_text(), str(written))
    assert again == imported
    same_segments(plan, again)
    with pytest.raises(PlanError, match="already exists"):
        import_workout(exported, tmp_path / "plans")


def test_zwift_speeds_are_fractions_of_the_reference_pace() -> None:
    import xml.etree.ElementTree as ET

    plan = find_plan("backward-walk-starter")
    root = ET.fromstring(zwo_text(plan, threshold_kmh=THRESHOLD_KMH))
    assert root.findtext("sportType") == "run"
    workout = root.find("workout")
    assert workout is not None
    elements = list(workout)
    expanded = expand(plan)
    assert len(elements) == len(expanded)
    for element, step in zip(elements, expanded, strict=True):
        fraction = float(element.get("Power") or element.get("PowerLow") or "nan")
        assert fraction * THRESHOLD_KMH == pytest.approx(step.target_kmh, abs=0.01)
        assert float(element.get("Duration") or 0) == pytest.approx(step.duration_s)
    names = [e.find("textevent").get("message", "") for e in elements]  # type: ignore[union-attr]
    assert any(n.startswith("Backward walk") for n in names)
    assert any(n.startswith("Turnaround") for n in names)


@pytest.mark.parametrize(
    ("text", "kmh"), [("5:00", 12.0), ("5:00/km", 12.0), ("8:03/mi", 12.0), ("6:00", 10.0)]
)
def test_a_pace_reads_as_a_speed(text: str, kmh: float) -> None:
    assert parse_pace_kmh(text) == pytest.approx(kmh, abs=0.02)


def test_a_bad_pace_is_one_line() -> None:
    with pytest.raises(PlanError, match="cannot read"):
        parse_pace_kmh("fast")


def test_a_plan_with_distance_steps_is_no_zwift_file_and_says_why(tmp_path: Path) -> None:
    plan = next(p for p in BUILTIN if any(s.distance_m for s in expand(p)))
    with pytest.raises(PlanError, match="measured in metres") as caught:
        export_workout(plan, tmp_path / "w.zwo", "zwo", threshold_kmh=THRESHOLD_KMH)
    assert "--fit" in str(caught.value)
    assert not (tmp_path / "w.zwo").exists()


@pytest.mark.parametrize(
    ("name", "sport"),
    [
        ("backward-walk-starter", "walking"),
        ("retro-intervals", "running"),  # runs between a walked warm-up and cool-down
    ],
)
def test_the_workout_sport_follows_the_main_set(tmp_path: Path, name: str, sport: str) -> None:
    path = export_workout(find_plan(name), tmp_path / "w.fit", "fit")
    assert decode(path)["workout_mesgs"][0]["sport"] == sport
