"""``treadcoach scan``: list the FTMS treadmills in range, and save one as the default device.

With ``--sim`` it starts simulated treadmills in this process (one per ``--sim-profile``) and
scans them through the simulator's bleak backend, on virtual time, so the listing is instant.
Kept cheap to import (the CLI imports every command module): bleak and the link load in ``run``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from treadcoach.config import Settings
    from treadcoach.link import FoundTreadmill
    from treadcoach.link.strap import FoundStrap


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sim",
        action="store_true",
        help="scan simulated treadmills started in this process instead of Bluetooth",
    )
    parser.add_argument(
        "--sim-profile",
        action="append",
        metavar="PROFILE",
        help="with --sim: start one simulated treadmill with this quirk profile (repeatable; "
        "default: one 'standard' treadmill)",
    )
    parser.add_argument(
        "--sim-strap",
        action="store_true",
        help="with --sim: also start a simulated heart-rate strap",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS", help="how long to listen (5)"
    )
    parser.add_argument(
        "--name", metavar="PATTERN", help="only names starting with / matching this"
    )
    parser.add_argument(
        "--all", action="store_true", help="also list FTMS machines that are not treadmills"
    )
    parser.add_argument(
        "--save",
        metavar="ADDRESS",
        help="save the treadmill heard at ADDRESS as the default device in your devices.toml",
    )


def run(args: argparse.Namespace) -> int:
    from treadcoach.config import load_settings

    if not args.timeout > 0:
        print("treadcoach scan: --timeout must be more than 0 seconds", file=sys.stderr)
        return 2
    if args.sim_profile and not args.sim:
        print("treadcoach scan: --sim-profile needs --sim", file=sys.stderr)
        return 2
    if args.sim_strap and not args.sim:
        print("treadcoach scan: --sim-strap needs --sim", file=sys.stderr)
        return 2
    settings = load_settings()
    found, straps = _scan_sim(args, settings) if args.sim else _scan_bluetooth(args, settings)
    _print_table(found, args.timeout, sys.stdout)
    if straps is not None:
        _print_straps(straps, args.timeout, sys.stdout)
    if args.save:
        return _save(args.save, found, sys.stdout)
    return 0 if found else 1


def _scan_bluetooth(
    args: argparse.Namespace, settings: Settings
) -> tuple[list[FoundTreadmill], list[FoundStrap] | None]:
    import asyncio

    from treadcoach.link import discover_treadmills
    from treadcoach.link.strap import discover_straps

    async def both() -> tuple[list[FoundTreadmill], list[FoundStrap]]:
        # one listening window for both (issue 16); gather, not a TaskGroup, so "no Bluetooth"
        # stays one BluetoothUnavailable rather than a group of two
        return await asyncio.gather(
            discover_treadmills(
                timeout_s=args.timeout,
                name_pattern=args.name,
                other_machines=args.all,
                profile_lookup=_known_profile(settings),
            ),
            discover_straps(timeout_s=args.timeout),
        )

    return asyncio.run(both())


def _known_profile(settings: Settings) -> Callable[[str | None, str], str | None]:
    def known(name: str | None, address: str) -> str | None:
        profile = settings.known_profile(name, address)
        return profile.name if profile is not None else None

    return known


def _scan_sim(
    args: argparse.Namespace, settings: Settings
) -> tuple[list[FoundTreadmill], list[FoundStrap] | None]:
    import contextlib
    import math

    import sim
    from sim.bleak_backend import SimBleakScanner
    from sim.strap import SimStrap
    from treadcoach.clock import run as run_on_clock
    from treadcoach.link import discover_treadmills
    from treadcoach.link.strap import discover_straps

    profiles = [sim.get_profile(name) for name in (args.sim_profile or ["standard"])]

    async def scan() -> tuple[list[FoundTreadmill], list[FoundStrap] | None]:
        async with contextlib.AsyncExitStack() as stack:
            for profile in profiles:
                await stack.enter_async_context(sim.SimTreadmill(profile=profile))
            if args.sim_strap:
                await stack.enter_async_context(SimStrap())
            mills = await discover_treadmills(
                timeout_s=args.timeout,
                name_pattern=args.name,
                other_machines=args.all,
                scanner_backend=SimBleakScanner,
                profile_lookup=_known_profile(settings),
            )
            if not args.sim_strap:
                return mills, None
            straps = await discover_straps(timeout_s=args.timeout, scanner_backend=SimBleakScanner)
            return mills, straps

    return run_on_clock(scan(), speedup=math.inf)


def _print_table(found: list[FoundTreadmill], timeout_s: float, out: TextIO) -> None:
    if not found:
        print(
            f"No FTMS treadmill heard in {timeout_s:g} s. Is it switched on, awake, and not "
            "connected to another app (a phone, a watch)?",
            file=out,
        )
        return
    rows = [("NAME", "ADDRESS", "RSSI", "TYPE", "KNOWN PROFILE")]
    for f in found:
        rows.append(
            (
                f.name or "(no name)",
                f.address,
                "" if f.rssi is None else str(f.rssi),
                f.type_label,
                f.known_profile or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )


def _print_straps(straps: list[FoundStrap], timeout_s: float, out: TextIO) -> None:
    print(file=out)
    if not straps:
        print(
            f"No heart-rate strap heard in {timeout_s:g} s (wear it: most straps only advertise "
            "while they touch skin).",
            file=out,
        )
        return
    rows = [("HEART-RATE STRAP", "ADDRESS", "RSSI")]
    rows += [
        (s.name or "(no name)", s.address, "" if s.rssi is None else str(s.rssi)) for s in straps
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )
    print(
        'Use one with `treadcoach run --hr NAME|ADDRESS` or hr_strap = "..." in devices.toml.',
        file=out,
    )


def _save(address: str, found: list[FoundTreadmill], out: TextIO) -> int:
    from treadcoach.config import save_default_device
    from treadcoach.errors import DeviceNotFound

    match = next((f for f in found if f.address.upper() == address.upper()), None)
    if match is None:
        raise DeviceNotFound(
            address,
            f"no treadmill at {address} was heard in this scan, so it was not saved; switch it on "
            "and scan again (addresses are listed above)",
        )
    path = save_default_device(match.address)
    print(
        f"Saved {match.name or match.address} ({match.address}) as the default device in {path}.",
        file=out,
    )
    return 0
