"""``treadcoach plans export NAME --fit FILE | --zwo FILE`` and ``treadcoach plans import FILE``.

The argument handling for the workout files (``workout_files.py``), hooked into
``commands/plans.py``. Kept cheap to import: the work is imported in ``run_workout``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadcoach.history.workout_files import WorkoutFormat

__all__ = ["WORKOUT_ACTIONS", "add_workout_arguments", "run_workout"]

WORKOUT_ACTIONS = ("export", "import")


def add_workout_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("export and import (workout files)")
    group.add_argument("--fit", type=Path, metavar="FILE", help="export: a FIT workout file")
    group.add_argument("--zwo", type=Path, metavar="FILE", help="export: a Zwift running workout")
    group.add_argument(
        "--threshold-pace",
        metavar="PACE",
        help='your reference pace for Zwift files, "5:30" (per km) or "8:50/mi"',
    )
    group.add_argument(
        "--backward-from-names",
        action="store_true",
        help="import: steps named backward/retro become backward steps (confirm you want that)",
    )
    group.add_argument(
        "--force", action="store_true", help="import: replace a plan file of the same name"
    )


def run_workout(args: argparse.Namespace) -> int:
    from treadcoach.coach.library import find_plan, user_plans_dir
    from treadcoach.config import load_settings
    from treadcoach.history.workout_files import (
        export_workout,
        import_workout,
        parse_pace_kmh,
    )
    from treadcoach.session import caps_from

    if not args.name:
        what = "a plan name" if args.action == "export" else "a .fit or .zwo file"
        print(f"treadcoach plans {args.action}: name {what}", file=sys.stderr)
        return 2
    threshold = parse_pace_kmh(args.threshold_pace) if args.threshold_pace else None
    if args.action == "import":
        plan, written = import_workout(
            Path(args.name),
            user_plans_dir(),
            threshold_kmh=threshold,
            backward_from_names=args.backward_from_names,
            replace=args.force,
        )
        print(written)
        return 0
    targets: list[tuple[Path | None, WorkoutFormat]] = [(args.fit, "fit"), (args.zwo, "zwo")]
    chosen = [(path, fmt) for path, fmt in targets if path is not None]
    if not chosen:
        print("treadcoach plans export: give --fit FILE and/or --zwo FILE", file=sys.stderr)
        return 2
    plan = find_plan(args.name)
    caps = caps_from(load_settings())
    for path, fmt in chosen:
        print(export_workout(plan, path, fmt, caps, threshold_kmh=threshold).resolve())
    return 0
