"""Built-in plans (each traceable to the guidance) and finding plans by name or path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.library import (
    PLANS_DIR_ENV,
    PROGRESSION_NAME,
    builtin_plans,
    discover,
    find_entry,
    find_plan,
    user_plans_dir,
)
from treadcoach.coach.plan import KMH_PER_MPH, Plan, Repeat, Segment
from treadcoach.coach.progression import first_plan
from treadcoach.coach.schedule import backward_time_s, expand
from treadcoach.errors import PlanError

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "backwards-running.txt"
BUILT_IN = {"backward-walk-starter", "retro-intervals", "retro-finisher", "gentle-intro"}

USER_PLAN = """
name = "{name}"
title = "Mine"
[[segments]]
kind = "backward_walk"
duration = 60
speed = 3
"""


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "plans"
    folder.mkdir()
    monkeypatch.setenv(PLANS_DIR_ENV, str(folder))
    return folder


def _plans() -> dict[str, Plan]:
    return {e.name: e.plan for e in builtin_plans()}


def _segments(plan: Plan) -> list[Segment]:
    return [s for _, s, _ in plan.flat()]


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_seed_plans_are_all_built_in() -> None:
    assert set(_plans()) == BUILT_IN


@pytest.mark.skipif(not SEED.exists(), reason="the training guidance is not next to this checkout")
@pytest.mark.parametrize(
    "plan", [*builtin_plans(), None], ids=lambda e: e.name if e else "progression"
)
def test_every_source_line_is_quoted_word_for_word_from_the_guidance(plan: object) -> None:
    source = plan.plan.source if plan is not None else first_plan().source  # type: ignore[attr-defined]
    seed = _normal(SEED.read_text(encoding="utf-8"))
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    assert lines, "a built-in plan must quote the guidance it encodes"
    for line in lines:
        assert _normal(line) in seed, line


def test_backward_walk_starter_is_2_to_3_min_at_2_to_3_mph_holding_the_rails() -> None:
    segments = _segments(_plans()["backward-walk-starter"])
    plan = _plans()["backward-walk-starter"]
    warmup, backward, cooldown = segments
    assert warmup.kind is SegmentKind.WARMUP
    assert 300 <= (warmup.duration_s or 0) <= 600
    assert backward.kind is SegmentKind.BACKWARD_WALK
    assert 120 <= (backward.duration_s or 0) <= 180
    assert plan.units == "mph"
    assert 2 <= backward.speed <= 3
    assert "side rails" in backward.cue
    assert cooldown.kind is SegmentKind.COOLDOWN


def test_retro_intervals_alternate_20_to_30_s_retro_with_forward_running() -> None:
    plan = _plans()["retro-intervals"]
    warm = [s for s in _segments(plan) if s.kind is SegmentKind.WARMUP]
    assert 300 <= sum(s.duration_s or 0 for s in warm) <= 600
    repeat = next(e for e in plan.segments if isinstance(e, Repeat))
    retro, forward = repeat.segments
    assert isinstance(retro, Segment)
    assert isinstance(forward, Segment)
    assert retro.kind is SegmentKind.RETRO_RUN
    assert 20 <= (retro.duration_s or 0) <= 30
    assert forward.kind is SegmentKind.FORWARD_RUN


def test_retro_finisher_is_4_x_50_m_retro() -> None:
    plan = _plans()["retro-finisher"]
    retro = [s for s in _segments(plan) if s.kind is SegmentKind.RETRO_RUN]
    assert [s.distance_m for s in retro] == [50.0] * 4


def test_gentle_intro_is_30_min_jog_6_x_50_m_retro_with_walk_back_then_5_min_walk() -> None:
    segments = _segments(_plans()["gentle-intro"])
    assert any(s.kind is SegmentKind.FORWARD_RUN and s.duration_s == 1800 for s in segments)
    retro = [s for s in segments if s.kind is SegmentKind.RETRO_RUN]
    recovery = [s for s in segments if s.kind is SegmentKind.RECOVERY]
    assert [s.distance_m for s in retro] == [50.0] * 6
    assert [s.distance_m for s in recovery] == [50.0] * 6
    assert segments[-1].kind is SegmentKind.COOLDOWN
    assert segments[-1].duration_s == 300


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_speeds_are_sensible(name: str) -> None:
    plan = _plans()[name]
    for segment in _segments(plan):
        kmh = segment.speed_kmh(plan.units)
        if segment.kind.is_backward:
            assert 2 * KMH_PER_MPH - 0.01 <= kmh <= 3 * KMH_PER_MPH + 0.01
        else:
            assert 4.4 <= kmh <= 8.5
        if segment.kind.is_backward:
            assert segment.cue, "backward segments carry a form cue"


def test_progression_is_listed_and_shows_its_first_step() -> None:
    entry = find_entry(PROGRESSION_NAME)
    assert entry.origin == "generated"
    assert entry.plan.name == PROGRESSION_NAME
    assert backward_time_s(expand(entry.plan)) == 120


def test_a_user_plan_is_found_by_its_name(user_dir: Path) -> None:
    (user_dir / "whatever.toml").write_text(USER_PLAN.format(name="mine"), encoding="utf-8")
    assert user_plans_dir() == user_dir
    assert find_plan("mine").title == "Mine"
    assert find_entry("mine").origin == "user"
    assert "mine" in discover().names()


def test_a_user_plan_cannot_take_a_built_in_name(user_dir: Path) -> None:
    (user_dir / "fake.toml").write_text(USER_PLAN.format(name="gentle-intro"), encoding="utf-8")
    library = discover()
    assert [e.origin for e in library.entries if e.name == "gentle-intro"] == ["built-in"]
    assert len(library.problems) == 1
    assert "fake.toml" in str(library.problems[0])
    assert "built-in plan" in str(library.problems[0])
    assert find_entry("gentle-intro").origin == "built-in"


def test_two_user_plans_with_one_name_are_reported(user_dir: Path) -> None:
    (user_dir / "a.toml").write_text(USER_PLAN.format(name="twin"), encoding="utf-8")
    (user_dir / "b.toml").write_text(USER_PLAN.format(name="twin"), encoding="utf-8")
    library = discover()
    assert [e.path for e in library.entries if e.name == "twin"] == [str(user_dir / "a.toml")]
    assert "already used by" in str(library.problems[0])


def test_a_broken_user_plan_does_not_hide_the_others(user_dir: Path) -> None:
    (user_dir / "broken.toml").write_text("name = ", encoding="utf-8")
    (user_dir / "fine.toml").write_text(USER_PLAN.format(name="fine"), encoding="utf-8")
    assert find_plan("fine").name == "fine"
    with pytest.raises(PlanError, match=r"1 user plan file could not be read"):
        find_plan("missing")


def test_an_unknown_name_lists_the_available_plans() -> None:
    with pytest.raises(PlanError) as exc:
        find_plan("gentle")
    message = str(exc.value)
    assert message.startswith("gentle: no plan by this name; available: ")
    for name in [*BUILT_IN, PROGRESSION_NAME]:
        assert name in message


def test_a_path_loads_that_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text(USER_PLAN.format(name="elsewhere"), encoding="utf-8")
    entry = find_entry(str(path))
    assert (entry.name, entry.origin) == ("elsewhere", "file")
    with pytest.raises(PlanError, match="no such plan file"):
        find_plan(str(tmp_path / "nope.toml"))


def test_every_listed_plan_expands_under_the_default_caps() -> None:
    for entry in discover().entries:
        steps = expand(entry.plan)
        assert steps
