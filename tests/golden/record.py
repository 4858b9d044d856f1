"""Re-record the golden streams: ``PYTHONPATH=$PWD python tests/golden/record.py [--check] [NAME...]``.

Run as a script (``python -m tests.golden.record`` also works unless another installed package
owns the name ``tests``, as garmin-fit-sdk does). Without names, every scenario. ``--check`` writes nothing and prints the first differing line of
each stream that changed (exit 1 if any did). See ``golden_streams.py`` for what is recorded.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# golden_streams is imported by its file name, as pytest imports it for the test
sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_streams import (
    SCENARIOS,
    first_difference,
    load,
    record,
    save,
    scenario_named,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/golden/record.py", description=__doc__)
    parser.add_argument("names", nargs="*", help="scenarios (default: all)")
    parser.add_argument("--check", action="store_true", help="diff against the baseline only")
    args = parser.parse_args(argv)
    # the sessions' own warnings (control lost, a failed task) are part of the streams already
    logging.basicConfig(level=logging.CRITICAL)
    try:
        scenarios = [scenario_named(n) for n in args.names] if args.names else list(SCENARIOS)
    except KeyError as exc:
        print(f"tests/golden/record.py: {exc.args[0]}", file=sys.stderr)
        return 2
    changed = 0
    for scenario in scenarios:
        lines = record(scenario)
        old = load(scenario) if scenario.path.exists() else []
        diff = first_difference(scenario.name, old, lines)
        if diff is not None:
            changed += 1
            print(diff)
        if not args.check:
            save(scenario, lines)
        print(f"{scenario.name}: {len(lines)} lines{' (changed)' if diff else ''}")
    if args.check and changed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
