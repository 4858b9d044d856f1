"""Plan files: what reads, and the one-line message for everything that does not (invariant 7)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import (
    Plan,
    Repeat,
    Segment,
    load_plan,
    parse_distance_m,
    parse_duration_s,
    parse_plan,
)
from treadcoach.errors import PlanError

GOOD = """
name = "my-plan"
title = "My plan"
units = "kmh"

[[segments]]
kind = "warmup"
duration = "5 min"
speed = 5

[[segments]]
times = 6

[[segments.segments]]
kind = "retro_run"
distance = "50 m"
speed = 4.8
cue = "short steps"

[[segments.segments]]
kind = "recovery"
duration = 60
speed = 4.5

[[segments]]
kind = "cooldown"
duration = "2m30s"
speed = 4.5
"""


def bad(replace: str, by: str) -> str:
    assert replace in GOOD
    return GOOD.replace(replace, by, 1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (12.5, 12.5),
        ("90 s", 90.0),
        ("90s", 90.0),
        ("2m30s", 150.0),
        ("2 min 30 sec", 150.0),
        ("5 min", 300.0),
        ("1.5 min", 90.0),
        ("1h", 3600.0),
        ("1 h 5 min", 3900.0),
        ("1:30", 90.0),
        ("1:00:00", 3600.0),
    ],
)
def test_durations_read_as_seconds(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "abc", "90", "5 mins please", "30ms", "-5 s", "1:75", True, None, [5]]
)
def test_garbage_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_s(text)


@pytest.mark.parametrize(
    ("text", "metres"), [(50, 50.0), ("50 m", 50.0), ("1.5 km", 1500.0), ("0.5 mi", 804.672)]
)
def test_distances_read_as_metres(text: object, metres: float) -> None:
    assert parse_distance_m(text) == pytest.approx(metres)


@pytest.mark.parametrize("text", ["50", "fifty m", "50 yards", False])
def test_garbage_distances_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="distance"):
        parse_distance_m(text)


def test_a_good_plan_reads_with_repeats_flattened_in_order() -> None:
    plan = parse_plan(GOOD, "my.toml")
    flat = list(plan.flat())
    assert [s.kind for _, s, _ in flat] == [
        SegmentKind.WARMUP,
        *[SegmentKind.RETRO_RUN, SegmentKind.RECOVERY] * 6,
        SegmentKind.COOLDOWN,
    ]
    assert flat[0][1].duration_s == 300
    assert flat[1][1].distance_m == 50
    assert flat[1][0] == (1, 0)
    assert flat[-3][2] == ((6, 6),)
    assert flat[-1][1].duration_s == 150


def test_mph_plans_convert_to_kmh() -> None:
    plan = parse_plan(bad('units = "kmh"', 'units = "mph"'), "my.toml")
    retro = plan.segments[1]
    assert isinstance(retro, Repeat)
    assert retro.segments[0].speed_kmh(plan.units) == pytest.approx(4.8 * 1.609344)


def test_plans_are_frozen() -> None:
    plan = parse_plan(GOOD, "my.toml")
    with pytest.raises(ValidationError):
        plan.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            bad("speed = 4.8", "speed = 0"),
            "my.toml: repeat 2 > segment 1 (retro_run): speed: input should be greater than 0",
        ),
        (
            bad("speed = 4.8", "speed = 48"),
            "my.toml: repeat 2 > segment 1 (retro_run): speed: 48 kmh is above the 30 km/h",
        ),
        (
            bad('units = "kmh"', 'units = "mph"').replace("speed = 4.8", "speed = 20"),
            "repeat 2 > segment 1 (retro_run): speed: 20 mph (32.2 km/h) is above",
        ),
        (
            bad('kind = "cooldown"', 'kind = "cool"'),
            "segment 3 (cool): kind 'cool' is not a segment kind",
        ),
        (
            bad('duration = "2m30s"', 'duration = "2m30x"'),
            "segment 3 (cooldown): duration: cannot read '2m30x' as a duration",
        ),
        (
            bad('duration = "2m30s"', 'distance = 500\nduration = "2m30s"'),
            "segment 3 (cooldown): give a duration or a distance, not both",
        ),
        (
            bad('duration = "2m30s"', ""),
            "segment 3 (cooldown): needs a duration or a distance (one of the two)",
        ),
        (
            bad('cue = "short steps"', 'cue = "short steps"\nspede = 3'),
            "repeat 2 > segment 1 (retro_run): unknown key 'spede' (did you mean 'speed'?)",
        ),
        (
            # a misspelt required key: the typo is the problem, not the missing key
            bad("speed = 4.8", "spede = 4.8"),
            "repeat 2 > segment 1 (retro_run): unknown key 'spede' (did you mean 'speed'?)",
        ),
        (
            bad('title = "My plan"', 'titel = "My plan"'),
            "my.toml: unknown key 'titel' (did you mean 'title'?)",
        ),
        (
            bad("times = 6", "times = 0"),
            "repeat 2: times: input should be greater than or equal to 1",
        ),
        (bad("times = 6", "times = 2.5"), "repeat 2: times: must be a whole number, not 2.5"),
        (bad('units = "kmh"', 'units = "kph"'), 'my.toml: units \'kph\' must be "kmh" or "mph"'),
        (
            bad('name = "my-plan"', 'name = "My Plan"'),
            "my.toml: name: 'My Plan' is not a plan name",
        ),
        (bad('name = "my-plan"\n', ""), "my.toml: missing required key 'name'"),
        (bad("speed = 5\n", "speed = 5\n[oops\n"), "my.toml: is not valid TOML:"),
        (bad("speed = 5\n", "speed = 5 5\n"), "(at line 9, column"),
        (
            bad("speed = 5\n", "speed = true\n"),
            "segment 1 (warmup): speed: must be a number, not true",
        ),
        (
            'name = "x"\ntitle = "X"\n[[segments]]\nkind = "turnaround"\ndistance = 5\nspeed = 1',
            "segment 1 (turnaround): a turnaround is timed",
        ),
        ('name = "x"\ntitle = "X"\nsegments = []', "my.toml: needs at least one segment"),
        (
            'name = "x"\ntitle = "X"\nsegments = [3]',
            "my.toml: segment 1: each entry must be a segment",
        ),
        (
            'name = "x"\ntitle = "X"\n[[segments]]\ntimes = 100\n'
            'segments = [{times = 100, segments = [{kind = "retro_run", duration = 1, speed = 3}]}]',
            "segments: expands to 10000 segments; a plan may have at most 1000",
        ),
    ],
)
def test_a_bad_plan_is_one_message_naming_file_segment_and_problem(text: str, message: str) -> None:
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "my.toml")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert exc.value.path == "my.toml"


def test_the_error_carries_the_segment_as_a_field() -> None:
    with pytest.raises(PlanError) as exc:
        parse_plan(bad("speed = 4.8", "speed = -1"), "my.toml")
    assert exc.value.segment == "repeat 2 > segment 1 (retro_run)"
    assert exc.value.problem.startswith("speed:")


def test_load_plan_names_the_file_it_could_not_read(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "missing.toml")
    with pytest.raises(PlanError, match="is a directory"):
        load_plan(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = \xff\xfe")
    with pytest.raises(PlanError, match=r"binary\.toml: is not UTF-8 text"):
        load_plan(binary)
    good = tmp_path / "good.toml"
    good.write_text(GOOD, encoding="utf-8")
    assert load_plan(good).name == "my-plan"


def test_plans_built_in_code_are_validated_too() -> None:
    with pytest.raises(ValidationError):
        Segment(kind=SegmentKind.RETRO_RUN, duration_s=10, distance_m=None, speed=0)
    with pytest.raises(ValidationError):
        Plan(
            name="x",
            title="X",
            units="mph",
            segments=[
                Segment(kind=SegmentKind.RETRO_RUN, duration_s=10, distance_m=None, speed=25)
            ],
        )


_LINES = st.sampled_from(
    [
        'name = "fuzz"',
        'title = "Fuzz"',
        'units = "mph"',
        'units = "lightyears"',
        "[[segments]]",
        "[[segments.segments]]",
        "times = 3",
        "times = -1",
        'kind = "retro_run"',
        'kind = "backward_walk"',
        'kind = "moonwalk"',
        "speed = 4.5",
        "speed = 0",
        "speed = 1e9",
        "speed = nan",
        'speed = "fast"',
        'duration = "30 s"',
        'duration = "soon"',
        "duration = -3",
        "distance = 50",
        'distance = "1 km"',
        "incline_pct = 99",
        'cue = "tall"',
        "extra = 1",
        "segments = 3",
        "segments = []",
        "[segments]",
        "= broken",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=14))
def test_any_plan_text_reads_or_raises_plan_error_only(lines: list[str]) -> None:
    message = ""
    try:
        parse_plan("\n".join(lines), "fuzz.toml")
    except PlanError as exc:
        message = str(exc)
    if message:
        assert message.startswith("fuzz.toml")
        assert "\n" not in message


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_reads_or_raises_plan_error_only(text: str) -> None:
    with contextlib.suppress(PlanError):
        parse_plan(text, "fuzz.toml")
