"""Where plans come from: built-in TOML files, the user's plan folder, and the progression entry.

Built-in plans ship as package data in ``treadcoach/coach/plans/*.toml``. User plans live in
``<user_config_dir("treadcoach")>/plans/*.toml`` (``TREADCOACH_PLANS_DIR`` overrides the folder)
and are found by the ``name`` inside the file. A user plan may not take a built-in's name: a
look-alike "gentle-intro" with other speeds must never run in its place.

``progression`` is generated, not a file: here it resolves to the programme's first session;
``treadcoach run --plan progression`` asks ``coach.progression.suggest_next`` with the journal.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from treadcoach.coach.plan import Plan, load_plan, parse_plan
from treadcoach.errors import PlanError

__all__ = [
    "PLANS_DIR_ENV",
    "PROGRESSION_NAME",
    "Library",
    "PlanEntry",
    "builtin_plans",
    "discover",
    "find_entry",
    "find_plan",
    "is_plan_path",
    "user_plans_dir",
]

log = logging.getLogger(__name__)

PLANS_DIR_ENV = "TREADCOACH_PLANS_DIR"
PROGRESSION_NAME = "progression"

Origin = Literal["built-in", "user", "file", "generated"]


@dataclass(frozen=True, slots=True)
class PlanEntry:
    plan: Plan
    origin: Origin
    path: str  # the file it came from ("" for generated plans)

    @property
    def name(self) -> str:
        return self.plan.name


@dataclass(frozen=True, slots=True)
class Library:
    """Every plan that could be found, and every user file that could not be read."""

    entries: tuple[PlanEntry, ...]
    problems: tuple[PlanError, ...] = field(default=())

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def get(self, name: str) -> PlanEntry | None:
        for entry in self.entries:
            if entry.name == name:
                return entry
        return None


def user_plans_dir() -> Path:
    override = os.environ.get(PLANS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("treadcoach")) / "plans"


def builtin_plans() -> list[PlanEntry]:
    """The shipped plans, sorted by name. A broken one is a bug in treadcoach: it raises."""
    folder = resources.files("treadcoach.coach").joinpath("plans")
    entries = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".toml") and item.is_file():
            shown = f"<built-in>/{item.name}"
            entries.append(PlanEntry(parse_plan(item.read_text("utf-8"), shown), "built-in", shown))
    return entries


def _progression_entry() -> PlanEntry:
    from treadcoach.coach.progression import first_plan

    return PlanEntry(first_plan(), "generated", "")


def _user_plans(folder: Path, taken: set[str]) -> tuple[list[PlanEntry], list[PlanError]]:
    entries: list[PlanEntry] = []
    problems: list[PlanError] = []
    if not folder.is_dir():
        return entries, problems
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            plan = load_plan(path)
        except PlanError as exc:
            problems.append(exc)
            continue
        if plan.name in taken:
            problems.append(
                PlanError(
                    str(path),
                    "",
                    f"name: '{plan.name}' is a built-in plan; give your plan another name",
                )
            )
            continue
        if plan.name in seen:
            problems.append(
                PlanError(
                    str(path), "", f"name: '{plan.name}' is already used by {seen[plan.name]}"
                )
            )
            continue
        seen[plan.name] = str(path)
        entries.append(PlanEntry(plan, "user", str(path)))
    return entries, problems


def discover(user_dir: Path | None = None) -> Library:
    """Built-in plans, the progression entry, then the user's plans (sorted by file name)."""
    entries = [*builtin_plans(), _progression_entry()]
    taken = {e.name for e in entries}
    users, problems = _user_plans(user_dir or user_plans_dir(), taken)
    return Library(tuple(entries + users), tuple(problems))


def is_plan_path(name_or_path: str) -> bool:
    """A path to a plan file (as opposed to a plan name)?"""
    # Deliberately not "an existing file": a stray file named like a built-in plan in the
    # current folder must not replace it. Paths end in .toml or contain a separator.
    return name_or_path.endswith(".toml") or os.sep in name_or_path or "/" in name_or_path


def find_plan(name_or_path: str, user_dir: Path | None = None) -> Plan:
    """A plan file by path, or a built-in/user plan by name; PlanError says what exists."""
    return find_entry(name_or_path, user_dir).plan


def find_entry(name_or_path: str, user_dir: Path | None = None) -> PlanEntry:
    if is_plan_path(name_or_path):
        return PlanEntry(load_plan(name_or_path), "file", name_or_path)
    library = discover(user_dir)
    entry = library.get(name_or_path)
    if entry is not None:
        return entry
    for skipped in library.problems:
        log.warning("skipped a user plan: %s", skipped)
    problem = f"no plan by this name; available: {', '.join(library.names())}"
    if library.problems:
        count = len(library.problems)
        problem += (
            f" ({count} user plan file{'s' if count > 1 else ''} could not be read: "
            "see 'treadcoach plans')"
        )
    raise PlanError(name_or_path, "", problem)
