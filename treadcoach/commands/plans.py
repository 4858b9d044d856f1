"""``treadcoach plans``: list the plans; ``treadcoach plans show NAME|FILE``: the expanded steps.

Kept cheap to import (the CLI imports every command module): the coach is imported in ``run``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from treadcoach.coach.library import PlanEntry
    from treadcoach.coach.schedule import Caps, Step

KMH_PER_MPH = 1.609344


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("list", "show", "export", "import"),
        default="list",
        help="list (default), show, export or import",
    )
    parser.add_argument("name", nargs="?", help="plan name or path to a .toml plan file (show)")
    parser.add_argument(
        "--max-kmh", type=float, default=None, help="your speed limit for 'show' (km/h)"
    )
    parser.add_argument(
        "--backward-max-kmh",
        type=float,
        default=None,
        help="backward speed limit for 'show' (km/h, default 4.83 = 3 mph)",
    )
    from treadcoach.history.workout_cli import add_workout_arguments

    add_workout_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.action in ("export", "import"):  # workout files: treadcoach/history/workout_cli.py
        from treadcoach.history.workout_cli import run_workout

        return run_workout(args)
    if args.action == "show":
        if not args.name:
            print("treadcoach plans show: name a plan (see 'treadcoach plans')", file=sys.stderr)
            return 2
        return _show(args.name, _caps(args), sys.stdout)
    if args.name:
        print(
            f"treadcoach plans: did you mean 'treadcoach plans show {args.name}'?", file=sys.stderr
        )
        return 2
    return _list(sys.stdout, sys.stderr)


def _caps(args: argparse.Namespace) -> Caps:
    from treadcoach.coach.schedule import DEFAULT_CAPS, Caps

    changes = {}
    if args.max_kmh is not None:
        changes["max_kmh"] = args.max_kmh
    if args.backward_max_kmh is not None:
        changes["backward_max_kmh"] = args.backward_max_kmh
    if not changes:
        return DEFAULT_CAPS
    return Caps(
        max_kmh=changes.get("max_kmh", DEFAULT_CAPS.max_kmh),
        backward_max_kmh=changes.get("backward_max_kmh", DEFAULT_CAPS.backward_max_kmh),
    )


def _list(out: TextIO, err: TextIO) -> int:
    from treadcoach.coach.library import discover, user_plans_dir
    from treadcoach.coach.schedule import totals

    library = discover()
    rows = [("NAME", "TITLE", "TOTAL", "BACKWARD", "FROM")]
    for entry in library.entries:
        t = totals(entry.plan)
        rows.append(
            (entry.name, entry.plan.title, _clock(t.duration_s), _clock(t.backward_s), entry.origin)
        )
    _table(rows, out)
    print(
        f"\nUser plans: {user_plans_dir()}/*.toml   Details: treadcoach plans show NAME", file=out
    )
    for problem in library.problems:
        print(f"treadcoach: {problem}", file=err)
    return 2 if library.problems else 0


def _show(name: str, caps: Caps, out: TextIO) -> int:
    from treadcoach.coach.library import find_entry
    from treadcoach.coach.schedule import totals

    entry = find_entry(name)
    t = totals(entry.plan, caps)
    _header(entry, out)
    print(f"Caps: {caps.describe()}", file=out)
    print(file=out)
    _steps_table(t.steps, out)
    print(file=out)
    print(
        f"Total {_clock(t.duration_s)} planned; backward {_clock(t.backward_s)}, "
        f"{t.backward_m:.0f} m; {t.turnarounds} turnaround{'s' if t.turnarounds != 1 else ''}",
        file=out,
    )
    if any(s.clamped for s in t.steps):
        print(
            "* adjusted to the limits: clamped to the cap that applies, "
            "or raised to the belt's minimum",
            file=out,
        )
    return 0


def _header(entry: PlanEntry, out: TextIO) -> None:
    plan = entry.plan
    where = f" ({entry.origin}: {entry.path})" if entry.path else f" ({entry.origin})"
    print(f"{plan.name}: {plan.title}{where}", file=out)
    if plan.description:
        print(plan.description, file=out)
    quotes = [line.strip() for line in plan.source.splitlines() if line.strip()]
    if quotes:
        print("From the guidance:", file=out)
        for line in quotes:
            print(f"  \u201c{line}\u201d", file=out)


def _steps_table(steps: Sequence[Step], out: TextIO) -> None:
    rows = [("#", "KIND", "KM/H", "MPH", "FOR", "LABEL", "CUE")]
    for s in steps:
        mark = "*" if s.clamped else ""
        length = _clock(s.duration_s) if s.duration_s is not None else f"{s.distance_m:g} m"
        rows.append(
            (
                str(s.index),
                s.kind.value,
                f"{s.target_kmh:.2f}{mark}",
                f"{s.target_kmh / KMH_PER_MPH:.2f}",
                length,
                s.label,
                s.cue,
            )
        )
    _table(rows, out, right={0, 2, 3, 4})


def _table(rows: Sequence[Sequence[str]], out: TextIO, right: set[int] | None = None) -> None:
    right = right or set()
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip(), file=out)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
