"""``treadcoach plans``: list the plans; ``treadcoach plans show NAME|FILE``: the steps as they run.

``show`` applies what ``run`` applies: the user's limits from devices.toml (``--config`` to pick
another file), the treadmill's speed range and increment with ``--device`` (a devices.toml entry,
or ``sim`` for the simulator), and times as the session takes them on that belt -- turnarounds
wait for the belt to slow, distance steps ramp up, and the session ends at standstill.

Kept cheap to import (the CLI imports every command module): the coach is imported in ``run``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from treadcoach.coach.library import PlanEntry
    from treadcoach.coach.plan import Plan, Units
    from treadcoach.coach.schedule import BeltMotion, Caps, PlanTotals, Step
    from treadcoach.config import Settings

__all__ = ["Belt", "add_arguments", "belt_for", "run", "session_totals"]

KMH_PER_MPH = 1.609344
FTMS_RESOLUTION_KMH = 0.01  # Set Target Speed travels in hundredths of a km/h


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
        "--device",
        metavar="NAME|ADDRESS",
        help="the treadmill to show it on: a devices.toml entry, or 'sim' (default: "
        "default_device from devices.toml)",
    )
    parser.add_argument("--config", type=Path, help="devices.toml to use instead of the user's")
    parser.add_argument(
        "--max-kmh", type=float, default=None, help="instead of limits.max_kmh (km/h)"
    )
    parser.add_argument(
        "--backward-max-kmh",
        type=float,
        default=None,
        help="instead of limits.backward_max_kmh (km/h, default 4.83 = 3 mph)",
    )
    from treadcoach.commands.workouts import add_workout_arguments

    add_workout_arguments(parser)


def run(args: argparse.Namespace) -> int:
    if args.action in ("export", "import"):  # workout files: treadcoach/commands/workouts.py
        from treadcoach.commands.workouts import run_workout

        return run_workout(args)
    from treadcoach.config import load_settings

    if args.action == "show" and not args.name:
        print("treadcoach plans show: name a plan (see 'treadcoach plans')", file=sys.stderr)
        return 2
    if args.action == "list" and args.name:
        print(
            f"treadcoach plans: did you mean 'treadcoach plans show {args.name}'?", file=sys.stderr
        )
        return 2
    settings = load_settings(args.config)
    belt = belt_for(settings, args.device or settings.default_device)
    caps = _caps(args, settings, belt)
    if args.action == "show":
        return _show(args.name, caps, belt, settings.limits.units, sys.stdout)
    return _list(caps, belt, sys.stdout, sys.stderr)


# --- the belt a plan is shown on ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Belt:
    """What is known before connecting about the treadmill a plan will run on."""

    description: str  # for the "Belt:" line
    motion: BeltMotion
    min_kmh: float | None = None
    max_kmh: float | None = None
    increment_kmh: float | None = None

    @property
    def grid_known(self) -> bool:
        return self.increment_kmh is not None

    def running_kmh(self, step: Step) -> float:
        """The speed the link will send for ``step``: on the belt's grid, never above the cap."""
        if self.increment_kmh is None:
            return step.target_kmh
        from treadcoach.link.ranges import snap  # the link's own rounding: one owner

        low = self.min_kmh if self.min_kmh is not None else 0.0
        high = min(self.max_kmh if self.max_kmh is not None else step.target_kmh, step.target_kmh)
        return snap(step.target_kmh, low, max(low, high), self.increment_kmh)


def belt_for(settings: Settings, device: str | None) -> Belt:
    """The simulator (``sim``), a devices.toml entry matching ``device``, or an unknown belt."""
    from treadcoach.coach.schedule import BeltMotion
    from treadcoach.session import SIM_DEVICE

    if device == SIM_DEVICE:
        from sim.physics import Belt as SimBelt
        from sim.profiles import PROFILES

        sim_profile, physics = PROFILES["standard"], SimBelt()
        return Belt(
            description=f"the simulator ({sim_profile.min_kmh:g}-{sim_profile.max_kmh:g} km/h in "
            f"{sim_profile.speed_increment_kmh:g} km/h steps, {physics.decel_kmh_per_s:g} km/h/s)",
            motion=BeltMotion(
                accel_kmh_per_s=physics.accel_kmh_per_s, decel_kmh_per_s=physics.decel_kmh_per_s
            ),
            min_kmh=sim_profile.min_kmh,
            max_kmh=sim_profile.max_kmh,
            increment_kmh=sim_profile.speed_increment_kmh,
        )
    generic = settings.profile_for(None, None) if settings.devices else None
    known = settings.known_profile(device, device) if device else None
    profile = known or generic
    rate = profile.accel_kmh_per_s if profile is not None else BeltMotion().accel_kmh_per_s
    motion = BeltMotion(accel_kmh_per_s=rate, decel_kmh_per_s=rate)
    if known is None:
        what = f"{device} (not in devices.toml)" if device else "an unknown treadmill (no --device)"
        return Belt(
            description=f"{what}, changing speed at {rate:g} km/h/s; its speed range is read "
            "when it connects",
            motion=motion,
        )
    low = "?" if known.min_kmh is None else f"{known.min_kmh:g}"
    high = "?" if known.max_kmh is None else f"{known.max_kmh:g}"
    step = (
        "" if known.speed_increment_kmh is None else f" in {known.speed_increment_kmh:g} km/h steps"
    )
    return Belt(
        description=f"{known.name} (devices.toml: {low}-{high} km/h{step}, {rate:g} km/h/s)",
        motion=motion,
        min_kmh=known.min_kmh,
        max_kmh=known.max_kmh,
        increment_kmh=known.speed_increment_kmh,
    )


def _caps(args: argparse.Namespace, settings: Settings, belt: Belt) -> Caps:
    from treadcoach.coach.schedule import Caps
    from treadcoach.session import caps_from

    caps = caps_from(settings)
    # Caps validates the numbers (LimitsError, one line)
    return Caps(
        max_kmh=caps.max_kmh if args.max_kmh is None else args.max_kmh,
        backward_max_kmh=(
            caps.backward_max_kmh if args.backward_max_kmh is None else args.backward_max_kmh
        ),
        device_max_kmh=belt.max_kmh,
        device_min_kmh=belt.min_kmh,
        turnaround_kmh=caps.turnaround_kmh,
        turnaround_s=caps.turnaround_s,
    )


def session_totals(plan: Plan, caps: Caps, belt: Belt) -> tuple[PlanTotals, list[Step]]:
    """(totals on the belt's speed grid, the steps as expanded): what ``show`` and the setup
    screen report. The second list keeps the plan's own numbers for marks and mph."""
    from treadcoach.coach.schedule import expand, totals_of

    steps = expand(plan, caps)
    running = [dataclasses.replace(s, target_kmh=belt.running_kmh(s)) for s in steps]
    return totals_of(running, belt.motion), steps


# --- output ---------------------------------------------------------------------------------------


def _list(caps: Caps, belt: Belt, out: TextIO, err: TextIO) -> int:
    from treadcoach.coach.library import discover, user_plans_dir

    library = discover()
    rows = [("NAME", "TITLE", "TAKES", "BACKWARD", "FROM")]
    for entry in library.entries:
        t, _ = session_totals(entry.plan, caps, belt)
        rows.append(
            (entry.name, entry.plan.title, _clock(t.expected_s), _clock(t.backward_s), entry.origin)
        )
    _table(rows, out)
    print(f"\nTimes on {belt.description}.", file=out)
    print(f"User plans: {user_plans_dir()}/*.toml   Details: treadcoach plans show NAME", file=out)
    for problem in library.problems:
        print(f"treadcoach: {problem}", file=err)
    return 2 if library.problems else 0


def _show(name: str, caps: Caps, belt: Belt, units: Units, out: TextIO) -> int:
    from treadcoach.coach.library import find_entry

    entry = find_entry(name)
    t, planned = session_totals(entry.plan, caps, belt)
    _header(entry, out)
    print(f"Limits: {_describe_limits(caps)}", file=out)
    print(f"Belt: {belt.description}", file=out)
    print(file=out)
    increment = belt.increment_kmh or FTMS_RESOLUTION_KMH
    _steps_table(t, planned, entry.plan.units, units, increment, out)
    print(file=out)
    extra = t.expected_s - t.duration_s
    print(
        f"Total {_clock(t.expected_s)} on the belt ({_clock(t.duration_s)} of planned steps, "
        f"{_clock(extra)} more for slowing into turnarounds, ramps and the stop); "
        f"backward {_clock(t.backward_s)}, {_distance(t.backward_m, units)}; "
        f"{t.turnarounds} turnaround{'s' if t.turnarounds != 1 else ''}",
        file=out,
    )
    if any(s.clamped for s in planned):
        print(
            "* adjusted to the limits: clamped to the cap that applies, "
            "or raised to the belt's minimum",
            file=out,
        )
    return 0


def _describe_limits(caps: Caps) -> str:
    return (
        f"max {caps.max_kmh:g} km/h, backward max {caps.backward_max_kmh:g} km/h, "
        f"turnaround {caps.turnaround_kmh:g} km/h with a {caps.turnaround_s:g} s countdown"
    )


def _header(entry: PlanEntry, out: TextIO) -> None:
    plan = entry.plan
    # built-in plans carry a "<built-in>/x.toml" label, not a path anyone can open
    where = (
        entry.origin
        if entry.origin == "built-in" or not entry.path
        else f"{entry.origin}: {entry.path}"
    )
    print(f"{plan.name}: {plan.title} ({where})", file=out)
    if plan.description:
        print(plan.description, file=out)
    quotes = [line.strip() for line in plan.source.splitlines() if line.strip()]
    if quotes:
        print("From the guidance:", file=out)
        for line in quotes:
            print(f"  \u201c{line}\u201d", file=out)


def _steps_table(
    t: PlanTotals,
    planned: Sequence[Step],
    plan_units: Units,
    units: Units,
    increment_kmh: float,
    out: TextIO,
) -> None:
    speed_columns = ("MPH", "KM/H") if units == "mph" else ("KM/H", "MPH")
    rows = [("#", "KIND", *speed_columns, "FOR", "TAKES", "LABEL", "CUE")]
    for step, asked, takes in zip(t.steps, planned, t.step_expected_s, strict=True):
        kmh, mph = _speeds(step, asked, plan_units, increment_kmh)
        if asked.clamped:
            kmh, mph = f"{kmh}*", f"{mph}*"
        # a step's length as the plan gives it (plans measure distances in metres)
        length = (
            _clock(step.duration_s) if step.duration_s is not None else f"{step.distance_m:g} m"
        )
        speeds = (mph, kmh) if units == "mph" else (kmh, mph)
        rows.append(
            (
                str(step.index + 1),  # counted from 1, as plan errors count segments
                step.kind.value,
                *speeds,
                length,
                _clock(takes),
                step.label,
                step.cue,
            )
        )
    _table(rows, out, right={0, 2, 3, 4, 5})


def _speeds(step: Step, asked: Step, plan_units: Units, increment_kmh: float) -> tuple[str, str]:
    """(km/h, mph) as shown. The km/h is what is sent, as it will run. In an mph plan, where the
    mph differs from the plan's own number only by rounding finer than the belt's increment (2 mph
    is sent as 3.21 km/h = 1.995 mph), the plan's number is shown (2.00 mph, not 1.99)."""
    kmh = step.target_kmh
    mph = kmh / KMH_PER_MPH
    rounding_only = not asked.clamped and abs(kmh - asked.requested_kmh) < increment_kmh - 1e-9
    if plan_units == "mph" and rounding_only and not step.is_turnaround:
        mph = asked.requested_kmh / KMH_PER_MPH
    return f"{kmh:.2f}", f"{mph:.2f}"


def _distance(metres: float, units: Units) -> str:
    return f"{metres / 1609.344:.2f} mi" if units == "mph" else f"{metres:.0f} m"


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
