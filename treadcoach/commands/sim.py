"""`treadcoach sim` (not built yet)."""

from __future__ import annotations

import argparse

from treadcoach.commands._unbuilt import add_nothing, not_built


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_nothing(parser)


def run(args: argparse.Namespace) -> int:
    return not_built("sim", "issue 4")
