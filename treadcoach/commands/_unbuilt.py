"""Placeholder for a subcommand whose feature has not landed yet: says so and fails."""

from __future__ import annotations

import argparse
import sys


def not_built(name: str, issue: str) -> int:
    print(f"treadcoach {name}: not built yet ({issue}).", file=sys.stderr)
    return 2


def add_nothing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
