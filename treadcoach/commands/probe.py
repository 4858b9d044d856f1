"""``treadcoach probe``: a guided check of an unknown treadmill, with nobody on the belt.

It says so in large letters, waits for the user to type ``clear`` (``--yes-the-belt-is-clear``
for scripts), then runs the probe steps (``treadcoach.probe``), never faster than the belt's
minimum + 1 km/h. Any key, the pedal, SIGINT/SIGTERM/SIGHUP or one of the probe's own checks
stops the belt through the link's one stop path. It then writes a commented ``[[device]]``
entry, shows how it differs from the shipped entry that matched, and prints a short report to
paste into a bug report.

Exit status: 0 when the probe ran to the end; 1 when it stopped early (the belt was told to stop)
or the user did not confirm; 2 when it could not start (cli.py prints the one-line reason).
Kept cheap to import: bleak, the link and the simulator load in ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Coroutine, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sim import SimTreadmill
    from treadcoach.config import DeviceProfile, Settings
    from treadcoach.probe import ProbeRecord, Step
    from treadcoach.probe._driver import Prober

BANNER = r"""
  #   #  ###  ####   ###  ####  #   #      ###  #   #
  ##  # #   # #   # #   # #   #  # #      #   # ##  #
  # # # #   # ####  #   # #   #   #       #   # # # #
  #  ## #   # #   # #   # #   #   #       #   # #  ##
  #   #  ###  ####   ###  ####    #        ###  #   #

  ##### #   # #####     ####  ##### #     #####
    #   #   # #         #   # #     #       #
    #   ##### ####      ####  ####  #       #
    #   #   # #         #   # #     #       #
    #   #   # #####     ####  ##### #####   #

  NOBODY ON THE BELT. The probe starts and stops the belt by itself.
  Step off; keep children and pets away. Any key, the pedal or Ctrl-C stops it.
"""
CONFIRM_WORD = "clear"

STEP_TEXT: dict[str, str] = {
    "survey": "reading the treadmill's characteristics (nothing moves)",
    "control": "is Request Control needed? (a Pause to a standing belt)",
    "start_needed": "does a speed alone move the belt? (minimum speed, no Start)",
    "start": "Start: how long until the belt moves and takes a speed",
    "units": "commanded vs reported speed: km/h or mph",
    "increment": "a half step: which speed increment is honoured",
    "hold": "leaving the belt alone: does it change speed by itself?",
    "keepalive": "the same, with a keep-alive every few seconds",
    "stop": "Stop: how fast the belt comes down",
    "incline": "belt stopped: does the incline follow a target?",
    "console": "the console: does a button take control back?",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", metavar="NAME|ADDRESS", help="which treadmill (see 'scan')")
    parser.add_argument("--sim", action="store_true", help="probe the bundled simulated treadmill")
    parser.add_argument(
        "--sim-profile",
        default="standard",
        metavar="P",
        help="--sim only: quirk profile, or several joined by + (e.g. mph_target+speed_revert)",
    )
    parser.add_argument(
        "--yes-the-belt-is-clear",
        action="store_true",
        help="skip the typed confirmation (scripts and tests; you still must clear the belt)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="where to write the [[device]] entry (default: ./probe-NAME.toml)",
    )
    parser.add_argument("--config", type=Path, help="devices.toml to use instead of the user's")


def run(args: argparse.Namespace) -> int:
    from treadcoach import clock
    from treadcoach.config import load_settings
    from treadcoach.probe._driver import ProbeAborted

    out = sys.stdout
    if args.sim_profile != "standard" and not args.sim:
        print("treadcoach probe: --sim-profile needs --sim", file=sys.stderr)
        return 2
    if args.sim and args.device:
        print("treadcoach probe: --device and --sim exclude each other", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    treadmill = _simulator(args.sim_profile) if args.sim else None
    target = treadmill.address if treadmill is not None else _device(args.device, settings)

    out.write(BANNER + "\n")
    if not args.yes_the_belt_is_clear and not _confirmed(out):
        print("treadcoach probe: not confirmed; nothing was sent to the treadmill", file=sys.stderr)
        return 1
    out.write("probe: starting; the belt stays at or below its minimum + 1 km/h\n")
    out.flush()

    prober = _prober(target, treadmill, out)
    try:
        if treadmill is not None:
            import math

            record = clock.run(_probe_sim(prober, treadmill, settings), speedup=math.inf)
        else:
            record = asyncio.run(_probe(prober, settings))
    except ProbeAborted as exc:
        out.write(f"probe: STOPPED - {exc.detail}. The belt was told to stop.\n")
        if prober.record is not None:
            from treadcoach.probe import analyse, render_report

            out.write("\nWhat was measured before the stop (no entry written):\n")
            out.write(render_report(analyse(prober.record)))
        return 1
    _report(record, settings, args.out, out)
    return 0


# --- the target ----------------------------------------------------------------------------


def _simulator(profile: str) -> SimTreadmill:
    from sim import SimTreadmill

    return SimTreadmill(profile=profile)  # a bad profile is a one-line SimError


def _device(device: str | None, settings: Settings) -> str:
    from treadcoach.errors import ConfigError

    target = device or settings.default_device
    if not target or target == "sim":
        raise ConfigError(
            "devices.toml",
            "default_device",
            "no treadmill chosen: pass --device NAME|ADDRESS, or try the simulator with --sim",
        )
    return target


def _confirmed(out: TextIO) -> bool:
    if not sys.stdin.isatty():
        from treadcoach.errors import InputDeviceUnavailable

        raise InputDeviceUnavailable(
            "terminal",
            f"the probe needs you to type {CONFIRM_WORD!r} in a terminal",
            "Run it in a terminal, or pass --yes-the-belt-is-clear once the belt is clear.",
        )
    out.write(f"Type {CONFIRM_WORD!r} and Enter when nobody is on the belt: ")
    out.flush()
    try:
        return input().strip().lower() == CONFIRM_WORD
    except EOFError:
        return False


def _prober(target: str, treadmill: SimTreadmill | None, out: TextIO) -> Prober:
    from treadcoach.probe._driver import ConsoleTester, ProbeOptions, Prober

    client = scanner = None
    console: ConsoleTester = _ConsolePrompt(out)
    if treadmill is not None:
        from sim.bleak_backend import SimBleakClient, SimBleakScanner

        client, scanner = SimBleakClient, SimBleakScanner
        console = _SimConsole(treadmill, out)
    order = list(STEP_TEXT)

    def on_step(step: Step) -> None:
        n = order.index(step.value) + 1
        out.write(f"probe: step {n}/{len(order)} {step.value}: {STEP_TEXT[step.value]}\n")
        out.flush()

    return Prober(
        ProbeOptions(
            target, client_backend=client, scanner_backend=scanner, console=console,
            on_step=on_step,
        )
    )  # fmt: skip


class _ConsolePrompt:
    """The real console test: the user presses a button; the probe watches for 0xFF."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    async def press(self) -> bool:
        self._out.write(
            "probe: press ONE button on the treadmill's console now (speed + or incline +); "
            "the probe watches for 10 s\n"
        )
        self._out.flush()
        return True


class _SimConsole:
    """``--sim``: the simulator's console button is pressed for the user."""

    def __init__(self, treadmill: SimTreadmill, out: TextIO) -> None:
        self._treadmill = treadmill
        self._out = out

    async def press(self) -> bool:
        from sim.quirks import press_console

        took = press_console(self._treadmill)
        self._out.write(
            f"probe: (sim) console button pressed; the console {'took it' if took else 'ignored it'}\n"
        )
        return True


# --- running, with the session's stop inputs -------------------------------------------------


async def _probe_sim(prober: Prober, treadmill: SimTreadmill, settings: Settings) -> ProbeRecord:
    async with treadmill:
        return await _probe(prober, settings)


async def _probe(prober: Prober, settings: Settings) -> ProbeRecord:
    from treadcoach.errors import TreadcoachError
    from treadcoach.probe._driver import ProbeAborted

    # Kept and raised after the task group, which would wrap them in an ExceptionGroup:
    # cli.py turns a TreadcoachError into one line.
    aborted: Exception | None = None
    with _signals(prober):
        # The stop inputs live beside the probe in one task group; one that fails stops the
        # belt (it cannot be trusted to stop it any more) instead of ending the group.
        async with asyncio.TaskGroup() as tg:
            helpers = [
                tg.create_task(_guarded(prober, name, coro), name=f"probe-{name}")
                for name, coro in (("pedal", _pedal(prober, settings)), ("keys", _any_key(prober)))
                if coro is not None
            ]
            try:
                record = await prober.run()
            except (ProbeAborted, TreadcoachError) as exc:
                aborted = exc
            finally:
                for task in helpers:
                    task.cancel()
    if aborted is not None:
        raise aborted
    return record


async def _guarded(prober: Prober, name: str, coro: Coroutine[Any, Any, None]) -> None:
    from treadcoach.errors import TreadcoachError
    from treadcoach.safety.reasons import StopReason

    try:
        await coro
    except TreadcoachError as exc:
        prober.request_stop(StopReason.ERROR, f"the {name} stop input failed: {exc}")


_SIGNALS = ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"))


@contextlib.contextmanager
def _signals(prober: Prober) -> Iterator[None]:
    """SIGINT/SIGTERM/SIGHUP stop the belt, as in a session (treadcoach/session.py)."""
    from treadcoach.safety.reasons import StopReason

    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig, name in _SIGNALS:
        try:
            loop.add_signal_handler(sig, prober.request_stop, StopReason(name.lower()), name)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _pedal(prober: Prober, settings: Settings) -> Coroutine[Any, Any, None] | None:
    inputs = settings.inputs
    if not inputs.pedal_device:
        return None
    from treadcoach.inputs.pedal import PedalInput

    pedal = PedalInput(prober, device=inputs.pedal_device, key=None, action="stop")
    pedal.open()  # a missing pedal is an error before the belt moves
    return pedal.run()


def _any_key(prober: Prober, fd: int | None = None) -> Coroutine[Any, Any, None] | None:
    """Every key on the terminal (stdin, or ``fd``) stops the belt; None without a terminal."""
    if fd is None and not sys.stdin.isatty():
        return None
    from treadcoach.inputs.keys import TerminalKeys
    from treadcoach.safety.reasons import StopReason

    class AnyKeyStops(TerminalKeys):
        """The session's terminal reader (cbreak, Ctrl-Z off), but every key is the stop key."""

        def feed(self, chunk: bytes) -> None:
            if chunk:
                prober.request_stop(StopReason.KEY, "a key was pressed")

    return AnyKeyStops(prober, stop_key="space", pause_key=None, fd=fd).run()


# --- the result --------------------------------------------------------------------------------


def shipped_entry(name: str, address: str) -> DeviceProfile:
    """The shipped devices.toml entry that matches (the generic one when no model does)."""
    import tomllib

    from treadcoach.config import Settings, shipped_devices

    shipped = Settings.model_validate(tomllib.loads(shipped_devices().read_text("utf-8")))
    return shipped.profile_for(name, address)


def explicit_fields(profile: DeviceProfile) -> dict[str, object]:
    return {k: getattr(profile, k) for k in sorted(profile.model_fields_set)}


def _report(record: ProbeRecord, settings: Settings, path: Path | None, out: TextIO) -> None:
    from treadcoach.config import user_devices_path
    from treadcoach.probe import analyse, diff_against, entry_keys, render_entry, render_report
    from treadcoach.probe._validate import validate_entry

    analysis = analyse(record)
    shipped = shipped_entry(record.name, record.address)
    keys = entry_keys(analysis, shipped=explicit_fields(shipped), when=date.today().isoformat())
    header = (
        f"treadcoach probe of {record.name} ({record.address})\n"
        f"Paste this table into your devices.toml ({user_devices_path()}):\n"
        "entries there are tried before the shipped ones."
    )
    text = render_entry(keys, header=header)
    validate_entry(text)  # the entry must load; a failure here is a bug, said in one line
    path = path or Path(f"probe-{_safe(record.name)}.toml")
    path.write_text(text, encoding="utf-8")
    out.write("\n" + render_report(analysis) + "\n")
    out.write(f"probe: wrote the [[device]] entry to {path}:\n\n{text}\n")
    label = shipped.name + (" (the generic entry)" if shipped.is_generic else "")
    diff = diff_against(keys, explicit_fields(shipped), label)
    out.write(f"probe: compared with the shipped entry {label!r}:\n")
    out.write(diff or "  (no difference)\n")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "treadmill"
