"""The ``treadcoach`` console script: argument parsing and the one place errors become messages.

Each subcommand lives in ``treadcoach/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``. Those modules must stay cheap to import: heavy imports go inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import logging.handlers
import sys
from collections.abc import Sequence

from treadcoach import __version__
from treadcoach.errors import TreadcoachError

__all__ = ["build_parser", "main"]

# name -> one-line help. Order is the order shown in --help.
COMMANDS: dict[str, str] = {
    "run": "run a coached session (on a treadmill, or --sim)",
    "plans": "list plans, or 'plans show NAME'",
    "scan": "find FTMS treadmills nearby",
    "probe": "learn an unknown treadmill's quirks, with nobody on the belt",
    "serve": "the session in a browser: a tablet or phone on the console, with a big stop button",
    "sim": "run the simulated treadmill on its own",
    "history": "past sessions, one session in detail, FIT export",
    "bench": "benchmarks that print JSON numbers",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="treadcoach",
        description="Backward-walking and retro-running interval coach for FTMS treadmills.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="copy the log (kept in the user log dir) to stderr; -vv for debug",
    )
    parser.add_argument("--version", action="version", version=f"treadcoach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"treadcoach.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


LOG_ENV = "TREADCOACH_LOG"


def _setup_logging(verbosity: int) -> None:
    """Logs go to a file (stderr carries one clear line per problem, and the TUI owns the
    terminal); ``-v`` also copies INFO (``-vv`` DEBUG) to stderr."""
    import os

    import platformdirs

    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    path = os.environ.get(LOG_ENV) or str(
        platformdirs.user_log_path("treadcoach", ensure_exists=True) / "treadcoach.log"
    )
    try:
        # Rotated: a treadmill computer runs this daily for years.
        file_handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        file_handler = logging.NullHandler()
    file_handler.setFormatter(fmt)
    root.addHandler(file_handler)
    if verbosity:
        stderr = logging.StreamHandler()
        stderr.setFormatter(fmt)
        root.addHandler(stderr)


# What a shell reports for a command ended by SIGPIPE (128 + 13): ``treadcoach history | head``.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        # Flushed here: a reader that left (``| head``) must fail inside the try, not at exit.
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _discard_stdout() -> None:
    """Whoever read our output has gone: send the rest, and the interpreter's final flush,
    to /dev/null so nothing prints a traceback about it."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (tests capture it): nothing will flush to a pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _setup_logging(args.verbose)
    try:
        result: int = args._module.run(args)
        return result
    except TreadcoachError as exc:
        print(f"treadcoach: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("treadcoach: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
