"""``treadcoach serve [run options]``: the session in a browser, on a tablet or phone on the console.

One process owns the belt: this one. It runs the session headless (the terminal prints its events
and its stop/pause keys work, as ``run --headless``), a view channel on a private Unix socket
(:mod:`treadcoach.serve.channel`), and textual-serve on ``http://127.0.0.1:8080``; every browser
that opens the page gets its own view process, a window onto this session (docs/tablet.md).

A token guards every control but stop: ``TREADCOACH_SERVE_PASSWORD`` if set, else a one-time token
made now and printed (with a QR code of the URL that carries it). Stop needs nothing.

Exit status as ``run``: 0 when the plan completed, 1 when it stopped early, 2 when it could not
start (bad options, the port in use, no treadmill) with one line saying why.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from treadcoach.commands import run as run_command

if TYPE_CHECKING:
    from treadcoach.coach.events import Event, Summary
    from treadcoach.session import Session
    from treadcoach.tui.settings import AudioEngine

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# After the session ends, how long the views keep showing STOPPED / DONE before the server closes.
LINGER_S = 5.0
_MIN_PASSWORD = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    run_command.add_arguments(parser)
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to serve on (default {DEFAULT_HOST}: this computer only; "
        "0.0.0.0 for a tablet on the LAN)",
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 1..65535, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    if args.headless or args.json:
        print("treadcoach serve: --headless/--json: serve always runs headless", file=sys.stderr)
        return 2
    if not args.sim and (args.speedup is not None or args.sim_fault):
        print("treadcoach serve: --speedup and --sim-fault need --sim", file=sys.stderr)
        return 2
    if args.rpe is not None or args.pain is not None:
        print("treadcoach serve: --rpe/--pain are for 'run --headless'", file=sys.stderr)
        return 2
    try:
        import treadcoach.serve.terminal
        import treadcoach.serve.web  # noqa: F401  (textual-serve, aiohttp)
    except ImportError as exc:
        print(
            f"treadcoach serve: needs the serve extra ({exc.name} is missing): "
            "pip install 'treadcoach[serve]'",
            file=sys.stderr,
        )
        return 2
    from treadcoach.serve.terminal import PASSWORD_ENV

    password = os.environ.get(PASSWORD_ENV, "")
    if password and len(password) < _MIN_PASSWORD:
        print(
            f"treadcoach serve: {PASSWORD_ENV} must be at least {_MIN_PASSWORD} characters",
            file=sys.stderr,
        )
        return 2
    import secrets
    import tempfile

    from treadcoach import clock
    from treadcoach.config import load_settings
    from treadcoach.session import Session, SessionOptions

    faults = tuple(args.sim_fault)
    if faults:
        from sim import parse_fault_spec

        for spec in faults:
            parse_fault_spec(spec)
    settings = load_settings(args.config)
    if args.mqtt:
        settings = settings.with_mqtt_url(args.mqtt)
    settings = run_command.with_strap(settings, args)
    journal_path = args.db if args.db is not None else settings.history_db
    options = SessionOptions(
        plan=run_command._choose_plan(args.plan, journal_path),
        device=args.device,
        sim=args.sim,
        sim_faults=faults,
        sim_strap_faults=tuple(args.sim_strap_fault),
        sim_profile=args.sim_profile,
        journal_path=journal_path,
        record=not args.no_history,
        mqtt=settings.mqtt,
        ble=args.ble,
        terminal_keys=True,
        own_process=True,  # (treadcoach.heap, treadcoach.priority)
    )
    session = Session(options, settings)
    token = password or secrets.token_urlsafe(12)
    # A directory only this user can enter (mkdtemp: 0700) holds the socket (0600).
    with tempfile.TemporaryDirectory(prefix="treadcoach-serve-") as folder:
        served = _serve(
            session,
            Path(folder) / "session.sock",
            host=args.host,
            port=args.port,
            token=token,
            one_time=not password,
            units=settings.limits.units,
            pause_key=settings.inputs.pause_key,
            audio=settings.audio.engine if settings.audio.enabled else "none",
        )
        summary = clock.run(served, speedup=args.speedup if args.sim else None)
    return run_command._exit_status(summary)


async def _serve(
    session: Session,
    socket_path: Path,
    *,
    host: str,
    port: int,
    token: str,
    one_time: bool,
    units: str,
    pause_key: str,
    audio: AudioEngine,
) -> Summary:
    import asyncio
    import logging

    from treadcoach.commands._text import HeadlessText
    from treadcoach.errors import TreadcoachError
    from treadcoach.safety.reasons import StopReason
    from treadcoach.serve.channel import ViewChannel
    from treadcoach.serve.speech import SpokenCues
    from treadcoach.serve.terminal import announce
    from treadcoach.serve.web import ViewServer
    from treadcoach.tui.audio import make_speaker

    log = logging.getLogger(__name__)
    text = HeadlessText(units="mph" if units == "mph" else "kmh", pause_key=pause_key)

    def say(line: str) -> None:
        print(line, flush=True)

    def print_event(event: Event) -> None:
        for line in text.lines(event):
            say(line)

    session.add_listener(print_event)
    cues = SpokenCues(session, make_speaker(audio, _ring))
    channel = ViewChannel(
        session,
        socket_path,
        token=token,
        on_view_lost=lambda detail: session.controller.report_fault("view_lost", detail),
        on_view_joined=lambda detail: say(f"tablet: {detail}"),
        on_mute=cues.set_muted,
    )
    view = ["-m", "treadcoach.serve.view", "--units", "mph" if units == "mph" else "kmh"]
    command = shlex.join([sys.executable, *view, "--socket", str(channel.path)])
    server = ViewServer(command, host=host, port=port)

    async def run_channel() -> None:
        try:
            await channel.run()
        except Exception as exc:
            if not channel.ready.is_set():
                raise  # before the session started: the command fails with one line
            # The tablets' stop button is gone: pause (a controlled stop that keeps the plan)
            # and say so, as a lost foot pedal does; the computer's keys resume.
            log.exception("the views' channel failed")
            session.controller.report_fault("views_failed", f"tablet views stopped: {exc}")
            session.request_pause(StopReason.KEY)

    await server.start()  # a port in use ends here, before the belt moves
    try:
        async with asyncio.TaskGroup() as tasks:
            channel_task = tasks.create_task(run_channel(), name="treadcoach-views")
            cues_task = tasks.create_task(cues.run(), name="treadcoach-cues")
            await channel.ready.wait()
            announce(host, port, token, one_time=one_time, say=say)
            try:
                summary = await session.run()
                await asyncio.sleep(LINGER_S)  # let the views show how it ended
            finally:
                channel_task.cancel()
                cues_task.cancel()
    except ExceptionGroup as group:
        # one line for the user (cli.py), not a traceback: the channel's ServeError, if that was it
        first = group.exceptions[0]
        if len(group.exceptions) == 1 and isinstance(first, TreadcoachError):
            raise first from None
        raise
    finally:
        await server.stop()
    return summary


def _ring() -> None:
    # the terminal bell, for a computer without espeak-ng (the TUI rings through Textual)
    sys.stdout.write("\a")
    sys.stdout.flush()
