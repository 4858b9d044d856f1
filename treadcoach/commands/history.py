"""``treadcoach history``: past sessions, one session's segments, FIT export.

    treadcoach history [--limit N] [--json] [--db PATH]
    treadcoach history show ID [--json] [--db PATH]
    treadcoach history export ID [--fit PATH] [--force] [--db PATH]

Errors (unknown id, unreadable journal) are ``HistoryError``: ``cli.py`` prints them, exit 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadcoach.history.journal import Journal

__all__ = ["add_arguments", "run"]


# SQLite integers are signed 64-bit: a larger id cannot name a session (and would not convert).
_MAX_ID = 2**63 - 1


def _session_id(text: str) -> int:
    return _whole(text, "a session id")


def _limit(text: str) -> int:
    return _whole(text, "a number of sessions")


def _whole(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} is a whole number, not {text!r}") from None
    if not 1 <= value <= _MAX_ID:
        raise argparse.ArgumentTypeError(f"{what} is from 1 up, not {text}")
    return value


def _add_common(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    # On a subcommand, SUPPRESS keeps an option given before the subcommand from being reset.
    default: object = argparse.SUPPRESS if sub else None
    parser.add_argument(
        "--db",
        type=Path,
        default=default,
        metavar="PATH",
        help="journal file (default: $TREADCOACH_DATA_DIR or the user data dir)/history.sqlite3",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_common(parser, sub=False)
    parser.add_argument("--limit", type=_limit, default=None, metavar="N", help="newest N only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    show = actions.add_parser(
        "show", help="one session's segments, stops, check-in (RPE, pain) and heart rate"
    )
    show.add_argument("id", type=_session_id, help="session id (from 'treadcoach history')")
    show.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="the session and its events"
    )
    _add_common(show, sub=True)

    export = actions.add_parser("export", help="write a session as a FIT activity file")
    export.add_argument("id", type=_session_id, help="session id (from 'treadcoach history')")
    export.add_argument(
        "--fit",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write it (default: ./treadcoach-<date>-<id>.fit)",
    )
    export.add_argument("--force", action="store_true", help="replace a file that exists")
    _add_common(export, sub=True)


def run(args: argparse.Namespace) -> int:
    from treadcoach.history.journal import Journal, default_journal_path

    path: Path = args.db if args.db is not None else default_journal_path()
    if args.action is None and args.db is None and not path.exists():
        print("[]" if args.json else "No sessions recorded yet.")  # and create no file
        return 0
    with Journal.open(path, create=False) as journal:
        if args.action == "show":
            return _show(journal, args.id, as_json=args.json)
        if args.action == "export":
            return _export(journal, args.id, args.fit, force=args.force)
        return _list(journal, args.limit, as_json=args.json)


def _list(journal: Journal, limit: int | None, *, as_json: bool) -> int:
    from treadcoach.history.report import session_json, sessions_table

    records = journal.sessions(limit)
    if as_json:
        print(json.dumps([session_json(r) for r in records], indent=2))
    elif not records:
        print(f"No sessions recorded yet ({journal.path}).")
    else:
        print("\n".join(sessions_table(records)))
    return 0


def _show(journal: Journal, session_id: int, *, as_json: bool) -> int:
    from treadcoach.history.report import heart_rate_json, session_json, session_lines

    record = journal.session(session_id)
    events = journal.events(session_id)
    if as_json:
        body = {
            "session": session_json(record),
            "heart_rate": heart_rate_json(events),  # null: no telemetry carried a pulse
            "events": [e.model_dump(mode="json") for e in events],
        }
        print(json.dumps(body, indent=2))
    else:
        print("\n".join(session_lines(record, events)))
    return 0


def _export(journal: Journal, session_id: int, target: Path | None, *, force: bool) -> int:
    from treadcoach.config import load_settings
    from treadcoach.errors import FitExportError
    from treadcoach.history.fit import default_fit_name, export_fit

    if target is None:
        target = Path.cwd() / default_fit_name(journal.session(session_id))
    if target.exists() and not force:
        raise FitExportError(str(target), "exists already; add --force to replace it.")
    written = export_fit(journal, session_id, target, sport=load_settings().history.sport)
    print(written.resolve())
    return 0
