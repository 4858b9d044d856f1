"""``treadcoach sim``: run a simulated treadmill on its own and print its state once per second.

    treadcoach sim --speed 4.83 --fault stale@30 --speedup 10 --duration 60
    treadcoach sim --speed 3 --strap --backward --strap-fault drop@60   # and a heart-rate strap

``--speed`` drives it from an in-process bleak central (Request Control, Start, Set Target
Speed), so the belt moves and faults can be watched; without it the treadmill idles, advertising.
"""

from __future__ import annotations

import argparse
import math
import sys

__all__ = ["add_arguments", "run"]


# Set Target Speed carries u16 hundredths of a km/h (FTMS): nothing faster can be sent.
_MAX_DRIVE_KMH = 655.35


def _drive_kmh(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= _MAX_DRIVE_KMH:
        raise argparse.ArgumentTypeError(f"must be 0 to {_MAX_DRIVE_KMH:g} km/h, not {text}")
    return value


def _seconds(text: str) -> float:
    value = _number(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="advertised name (default: the profile's prefix + id)")
    parser.add_argument("--address", help="Bluetooth address (default: F0:0D:00:00:00:01 and up)")
    parser.add_argument(
        "--profile",
        default="standard",
        help="quirk profile to imitate; 'list' shows them (default: standard)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND@SECONDS",
        help="schedule a fault (disconnect, nack, control_lost, safety_key, stale, garbage, "
        "ignore_speed) at a sim time; repeatable",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=1.0,
        help="sim seconds per wall second; 'inf' runs on virtual time (needs --duration)",
    )
    parser.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop after this")
    parser.add_argument(
        "--speed",
        type=_drive_kmh,
        metavar="KMH",
        help="drive the belt at this speed from a central",
    )
    parser.add_argument("--notify-hz", type=float, default=1.0, help="Treadmill Data rate")
    parser.add_argument("--runner", action="store_true", help="simulate a runner's heart rate")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--ble",
        metavar="TRANSPORT",
        help="be a real BLE treadmill on a bumble controller, e.g. usb:0 (docs/bluetooth.md)",
    )
    parser.add_argument(
        "--strap",
        action="store_true",
        help="a simulated heart-rate strap beside it, its pulse following the belt",
    )
    parser.add_argument(
        "--strap-fault",
        action="append",
        default=[],
        metavar="KIND@SECONDS",
        help="--strap: a strap fault (drop, stale, zero, contact_lost, noisy_rr); repeatable",
    )
    parser.add_argument(
        "--backward", action="store_true", help="--strap: the person walks backward"
    )
    parser.add_argument(
        "--strap-ble",
        metavar="TRANSPORT",
        help="--strap: be a real BLE strap on another bumble controller, e.g. usb:1",
    )


def run(args: argparse.Namespace) -> int:
    from sim.errors import SimConfigError
    from sim.faults import parse_fault_spec
    from sim.profiles import PROFILES
    from sim.standalone import StandaloneOptions, run_standalone
    from treadcoach import clock

    if args.profile == "list":
        for profile in PROFILES.values():
            print(f"{profile.name:<20} {profile.name_prefix!r:<16} {profile.description}")
        return 0
    if not args.speedup > 0:
        raise SimConfigError("--speedup", f"must be a positive number, not {args.speedup:g}")
    if math.isinf(args.speedup) and args.duration is None:
        raise SimConfigError("--speedup", "virtual time ('inf') needs --duration to end")
    if not args.strap:
        for option, given in (
            ("--strap-fault", args.strap_fault),
            ("--backward", args.backward),
            ("--strap-ble", args.strap_ble),
        ):
            if given:
                raise SimConfigError(option, "needs --strap")
    from sim.strap import parse_strap_fault

    for spec in args.strap_fault:
        parse_strap_fault(spec)  # a bad one is a one-line FaultSpecError before anything runs
    options = StandaloneOptions(
        name=args.name,
        address=args.address,
        profile=args.profile,
        faults=tuple(parse_fault_spec(text) for text in args.fault),
        duration_s=args.duration,
        drive_kmh=args.speed,
        notify_hz=args.notify_hz,
        runner=args.runner,
        as_json=args.json,
        ble=args.ble,
        strap=args.strap,
        strap_faults=tuple(args.strap_fault),
        strap_backward=args.backward,
        strap_ble=args.strap_ble,
    )

    def write(line: str) -> None:
        print(line, flush=True)

    try:
        clock.run(run_standalone(options, write), speedup=args.speedup)
    except KeyboardInterrupt:
        print("treadcoach sim: stopped", file=sys.stderr)
    return 0
