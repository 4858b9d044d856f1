"""``treadcoach run``: a coached session, in the TUI or headless (``--headless [--json]``).

Exit status: 0 only when the plan completed; 1 when the session stopped early (the reason is
printed as one line); 2 when it could not start -- bad input, or no treadmill to connect to
(cli.py prints the one-line reason); 141 when whoever read the output left (``| head``): the belt
is stopped and the session ends, quietly.

After the belt stopped, the check-in (how hard it felt, RPE 6-20; pain 0-10) is stored with the
session: from ``--rpe``/``--pain`` (checked before anything starts), else, headless on a
terminal and not ``--json``, asked at a prompt (Enter skips); the TUI asks on its own screen.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadcoach.coach.events import Event, Summary
    from treadcoach.coach.plan import Plan
    from treadcoach.coach.progression import Suggestion
    from treadcoach.config import Settings
    from treadcoach.history.checkin import CheckIn
    from treadcoach.session import Session
    from treadcoach.tui import TuiSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sim", action="store_true", help="use the bundled simulated treadmill")
    parser.add_argument(
        "--plan",
        metavar="NAME|FILE",
        help="a built-in or user plan, or a plan .toml file "
        "(default: the next progression step from your history)",
    )
    parser.add_argument("--device", metavar="NAME|ADDRESS", help="which treadmill (see 'scan')")
    parser.add_argument(
        "--ble",
        metavar="bumble:TRANSPORT",
        help="Bluetooth via bumble, e.g. bumble:usb:0 (no BlueZ; docs/bluetooth.md)",
    )
    parser.add_argument(
        "--hr", metavar="NAME|ADDRESS", help="heart-rate strap (see 'scan'; overrides hr_strap)"
    )
    parser.add_argument("--headless", action="store_true", help="no TUI: print events instead")
    parser.add_argument("--json", action="store_true", help="with --headless: one JSON per line")
    parser.add_argument(
        "--speedup",
        type=_positive_float,
        metavar="X",
        help="--sim only: run the session clock X times faster ('inf': as fast as possible)",
    )
    parser.add_argument(
        "--sim-fault",
        action="append",
        default=[],
        metavar="KIND@SECONDS",
        help="--sim only: inject a simulator fault (repeatable): disconnect, nack, control_lost, "
        "safety_key, stale, garbage, ignore_speed",
    )
    parser.add_argument(
        "--sim-strap-fault",
        action="append",
        default=[],
        metavar="KIND@SECONDS",
        help="--hr sim only: a fault of the simulated strap (repeatable): drop, stale, zero, "
        "contact_lost, noisy_rr",
    )
    parser.add_argument("--sim-profile", default="standard", help="--sim only: quirk profile")
    parser.add_argument("--mqtt", metavar="URL", help="MQTT broker, e.g. mqtt://user:pw@host:1883")
    parser.add_argument("--config", type=Path, help="devices.toml to use instead of the user's")
    parser.add_argument("--db", type=Path, help="history database (default: platform data dir)")
    parser.add_argument("--no-history", action="store_true", help="do not journal this session")
    parser.add_argument(
        "--rpe",
        metavar="N",
        help="with --headless: how hard it felt, Borg 6-20, saved with the session",
    )
    parser.add_argument(
        "--pain", metavar="N", help="with --headless: pain 0-10, saved with the session"
    )


def with_strap(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with ``--hr`` applied: ``settings.hr_strap`` is the one place a session
    reads its strap from (issue 16); ``serve`` takes the same options."""
    if args.hr is None:
        return settings
    if not args.hr.strip():
        from treadcoach.errors import ConfigError

        raise ConfigError("--hr", repr(args.hr), "needs a strap name or address")
    return settings.model_copy(update={"hr_strap": args.hr.strip()})


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from treadcoach import clock
    from treadcoach.config import load_settings
    from treadcoach.errors import TreadcoachError
    from treadcoach.safety.reasons import StopReason
    from treadcoach.session import Session, SessionOptions

    if not args.sim and (args.speedup is not None or args.sim_fault):
        print("treadcoach run: --speedup and --sim-fault need --sim", file=sys.stderr)
        return 2
    if args.json and not args.headless:
        print("treadcoach run: --json needs --headless", file=sys.stderr)
        return 2
    given_checkin = _checkin_from_flags(args)
    if isinstance(given_checkin, str):
        print(f"treadcoach run: {given_checkin}", file=sys.stderr)
        return 2
    faults = tuple(args.sim_fault)
    if faults:
        from sim import parse_fault_spec

        for spec in faults:
            parse_fault_spec(spec)  # a bad spec raises a one-line SimError
    strap_faults = tuple(args.sim_strap_fault)
    if strap_faults:
        from sim.strap import parse_strap_fault

        for spec in strap_faults:
            parse_strap_fault(spec)

    settings = load_settings(args.config)
    if args.mqtt:
        settings = settings.with_mqtt_url(args.mqtt)
    if args.hr is not None and not args.hr.strip():
        print("treadcoach run: --hr needs a strap name or address", file=sys.stderr)
        return 2
    settings = with_strap(settings, args)
    journal_path = args.db if args.db is not None else settings.history_db

    if not args.headless and args.plan is None:
        return _run_tui_setup(args, settings, journal_path)

    plan = _choose_plan(args.plan, journal_path, settings.limits.backward_max_kmh)
    options = SessionOptions(
        plan=plan,
        device=args.device,
        sim=args.sim,
        sim_faults=faults,
        sim_strap_faults=strap_faults,
        sim_profile=args.sim_profile,
        journal_path=journal_path,
        record=not args.no_history,
        mqtt=settings.mqtt,
        ble=args.ble,
        own_process=True,  # (treadcoach.heap, treadcoach.priority)
    )
    speedup = args.speedup if args.sim else None
    if not args.headless:
        # The app owns SIGHUP/SIGTERM/SIGINT on every screen (it stops the belt and leaves).
        options = dataclasses.replace(options, hold_on_control_lost=True, handle_signals=False)
        return _run_tui(Session(options, settings), settings, speedup)
    session = Session(dataclasses.replace(options, terminal_keys=True), settings)

    render = _json_line if args.json else _text_printer(settings)
    remove_printer: Callable[[], None] = lambda: None  # noqa: E731
    reader_left = False

    def printer(event: Event) -> None:
        nonlocal remove_printer, reader_left
        try:
            render(event)
        except OSError as exc:
            # Stop printing, keep the session's stop path and journal going, and make later
            # writes harmless. A terminal that went away sends SIGHUP, which stops the belt;
            # a pipe whose reader left (`| head`) sends nothing we hear (Python ignores
            # SIGPIPE), so nobody is watching any more: stop the belt here.
            remove_printer()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            if isinstance(exc, BrokenPipeError):
                reader_left = True
                session.request_stop(StopReason.QUIT, "the output pipe was closed")

    remove_printer = session.add_listener(printer)
    try:
        summary = clock.run(_headless(session), speedup=speedup)
    except TreadcoachError:
        raise
    if reader_left:
        # the belt has stopped and the session is journalled: end as `history | head` does
        # (cli.main turns it into exit status 141, quietly)
        raise BrokenPipeError("the output pipe was closed")
    status = _exit_status(summary)
    checkin = given_checkin
    # not after a signal: the terminal is gone (SIGHUP), or the user or the system wants out
    signalled = summary.stop_reason in {StopReason.SIGHUP, StopReason.SIGTERM, StopReason.SIGINT}
    if checkin is None and not args.json and not signalled and session.session_id is not None:
        checkin = _ask_checkin()
    if checkin is not None:
        _save_checkin(session, checkin)
    return status


def _checkin_from_flags(args: argparse.Namespace) -> CheckIn | str | None:
    """The check-in given as ``--rpe``/``--pain`` (None: none given), or what is wrong with it."""
    from treadcoach.errors import CheckInError
    from treadcoach.history.checkin import CheckIn, parse_pain, parse_rpe

    if args.rpe is None and args.pain is None:
        return None
    flags = " and ".join(f for f, v in (("--rpe", args.rpe), ("--pain", args.pain)) if v)
    if not args.headless:
        return f"{flags}: only with --headless (the TUI asks after the session)"
    if args.no_history:
        return f"{flags}: saved with the session, so not with --no-history"
    try:
        return CheckIn(rpe=parse_rpe(args.rpe), pain=parse_pain(args.pain))
    except CheckInError as exc:
        option = "--rpe" if str(exc).startswith("RPE") else "--pain"
        return f"{option}: {exc}"


def _ask_checkin() -> CheckIn | None:
    """Ask RPE and pain on the terminal (Enter skips each); None when stdin is no terminal."""
    from treadcoach.errors import CheckInError
    from treadcoach.history.checkin import CheckIn, parse_pain, parse_rpe

    if not sys.stdin.isatty():
        return None
    answers: list[int | None] = []
    for question, parse in (
        ("How hard did it feel? RPE 6 (no effort) to 20 (maximal), Enter skips: ", parse_rpe),
        ("Any pain? 0 (none) to 10 (worst), Enter skips: ", parse_pain),
    ):
        while True:
            try:
                text = input(question)
            except (EOFError, KeyboardInterrupt, OSError):  # OSError: the terminal went away
                with contextlib.suppress(OSError):
                    print()
                return CheckIn(*answers) if answers else None
            try:
                answers.append(parse(text))
                break
            except CheckInError as exc:
                print(f"  {exc}", flush=True)
    return CheckIn(rpe=answers[0], pain=answers[1])


def _save_checkin(session: Session, checkin: CheckIn) -> None:
    from treadcoach.errors import HistoryError

    if checkin.empty:
        return
    try:
        session.save_checkin(checkin)
    except HistoryError as exc:
        print(f"treadcoach: check-in not saved: {exc}", file=sys.stderr)
        return
    print(f"Check-in saved with session {session.session_id}.", flush=True)


async def _headless(session: Session) -> Summary:
    return await session.run()


def _exit_status(summary: Summary) -> int:
    if summary.completed:
        return 0
    reason = summary.stop_reason.value if summary.stop_reason else "unknown"
    print(f"treadcoach: session stopped before the end ({reason})", file=sys.stderr)
    return 1


def _choose_plan(
    name: str | None, journal_path: Path | None, backward_max_kmh: float | None = None
) -> Plan:
    from treadcoach.coach.library import PROGRESSION_NAME, find_plan

    if name is None or name == PROGRESSION_NAME:
        return _suggested(journal_path, backward_max_kmh).plan
    return find_plan(name)


def _suggested(journal_path: Path | None, backward_max_kmh: float | None = None) -> Suggestion:
    from treadcoach.coach.progression import DEFAULT_DOSE_CAPS, DoseCaps, suggest_next
    from treadcoach.history import Journal
    from treadcoach.history.body_input import past_sessions

    # check-in, dizzy stops and heart rate too (issue 16); the walk never above [limits]
    caps = DEFAULT_DOSE_CAPS if backward_max_kmh is None else DoseCaps.within(backward_max_kmh)
    with Journal.open(journal_path) as journal:
        past = past_sessions(journal, date.today())
    return suggest_next(past, date.today(), caps=caps)


def _json_line(event: Event) -> None:
    print(event.model_dump_json(exclude_none=True), flush=True)


def _text_printer(settings: Settings) -> Callable[[Event], None]:
    from treadcoach.commands._text import HeadlessText

    text = HeadlessText(units=settings.limits.units, pause_key=settings.inputs.pause_key)

    def print_lines(event: Event) -> None:
        for line in text.lines(event):
            print(line, flush=True)

    return print_lines


def _tui_settings(settings: Settings) -> TuiSettings:
    from treadcoach.tui import TuiSettings

    audio = settings.audio
    return TuiSettings(
        units=settings.limits.units,
        stop_key=settings.inputs.stop_key,
        pause_key=settings.inputs.pause_key,
        audio=audio.engine if audio.enabled else "none",
    )


def _run_tui(session: Session, settings: Settings, speedup: float | None) -> int:
    from treadcoach import clock
    from treadcoach.tui import TreadcoachApp

    app = TreadcoachApp(
        session=session, settings=_tui_settings(settings), save_checkin=session.save_checkin
    )
    clock.run(app.run_async(), speedup=speedup)
    if app.failure is not None:  # the app printed its one line
        return app.failure.status
    summary = session.controller.summary
    if summary is None:
        return 1
    return _exit_status(summary)


def _run_tui_setup(args: argparse.Namespace, settings: Settings, journal_path: Path | None) -> int:
    from treadcoach import clock
    from treadcoach.coach.library import discover
    from treadcoach.commands.plans import belt_for, session_totals
    from treadcoach.session import SIM_DEVICE, Session, SessionOptions, caps_from
    from treadcoach.tui import Choice, SessionRequest, SetupChoices, TreadcoachApp

    caps = caps_from(settings)
    belt = belt_for(settings, SIM_DEVICE if args.sim else settings.default_device)
    suggestion = _suggested(journal_path, settings.limits.backward_max_kmh)
    plans = [
        Choice(
            label=f"Next progression step: {suggestion.plan.title}",
            value="progression",
            detail=suggestion.reason,
        )
    ]
    for entry in discover().entries:
        t, _ = session_totals(entry.plan, caps, belt)
        plans.append(
            Choice(
                label=entry.plan.title,
                value=entry.plan.name,
                # what the session takes (turnarounds slow the belt first), as `plans` lists it
                detail=f"{t.expected_s / 60:.0f} min · {t.backward_s / 60:.1f} min backward",
            )
        )
    devices = [Choice(label="Simulated treadmill", value=SIM_DEVICE, detail="no hardware needed")]
    if settings.default_device:
        devices.insert(0, Choice(label=settings.default_device, value=settings.default_device))

    def factory(request: SessionRequest) -> Session:
        sim = args.sim or request.device == SIM_DEVICE
        return Session(
            SessionOptions(
                plan=_choose_plan(request.plan, journal_path, settings.limits.backward_max_kmh),
                device=None if sim else request.device,
                sim=sim,
                sim_faults=tuple(args.sim_fault),
                sim_strap_faults=tuple(args.sim_strap_fault),
                sim_profile=args.sim_profile,
                journal_path=journal_path,
                record=not args.no_history,
                mqtt=settings.mqtt,
                hold_on_control_lost=True,
                ble=args.ble,
                own_process=True,  # (treadcoach.heap, treadcoach.priority)
                handle_signals=False,
            ),
            settings,
        )

    setup = SetupChoices(
        devices=devices,
        plans=plans,
        default_device=SIM_DEVICE if args.sim else settings.default_device,
        suggested_plan="progression",
        suggested_reason=suggestion.reason,
    )

    def save_checkin(checkin: CheckIn) -> None:
        # the session the setup screen started (the app asks only after one has run)
        session = app.session
        if not isinstance(session, Session):
            from treadcoach.errors import HistoryError

            raise HistoryError("the session was not saved")
        session.save_checkin(checkin)

    app = TreadcoachApp(
        setup=setup,
        session_factory=factory,
        settings=_tui_settings(settings),
        save_checkin=save_checkin,
    )
    clock.run(app.run_async(), speedup=args.speedup if args.sim else None)
    if app.failure is not None:  # the app printed its one line
        return app.failure.status
    session = app.session
    summary = session.controller.summary if isinstance(session, Session) else None
    if summary is None:
        return 0
    return _exit_status(summary)
