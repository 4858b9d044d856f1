"""A simulated treadmill on its own, reporting its state once per sim second (``treadcoach sim``).

Optionally drives it from an in-process bleak central (``drive_kmh``): Request Control, Start,
Set Target Speed, through ``SimBleakClient``, so the whole GATT path and the faults can be
watched without writing any code. With ``strap``, a simulated heart-rate strap (``sim.strap``)
advertises beside it, its pulse following the belt; ``strap_ble`` serves it on a bumble controller
of its own (a second dongle: one controller is one device), so a phone app sees a treadmill and a
strap. Output goes to a ``write`` callable: this module never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.errors import SimError
from sim.faults import FaultSpec
from sim.profiles import get_profile
from sim.strap import SimStrap
from sim.treadmill import SimTreadmill

if TYPE_CHECKING:
    from bleak import BleakClient

__all__ = ["StandaloneOptions", "run_standalone", "state_line"]

_RESULTS = {1: "success", 2: "not supported", 3: "invalid parameter", 4: "failed", 5: "no control"}
_OPS = {0x00: "Request Control", 0x07: "Start/Resume", 0x02: "Set Target Speed"}


@dataclass(frozen=True, slots=True)
class StandaloneOptions:
    name: str | None = None
    address: str | None = None
    profile: str = "standard"
    faults: Sequence[FaultSpec] = ()
    duration_s: float | None = None  # sim seconds; None = until cancelled
    drive_kmh: float | None = None
    notify_hz: float = 1.0
    runner: bool = False
    as_json: bool = False
    # a bumble transport (usb:0...): serve it as a real BLE treadmill (docs/bluetooth.md)
    ble: str | None = None
    strap: bool = False  # a simulated heart-rate strap beside the treadmill
    strap_faults: Sequence[str] = ()  # KIND@SECONDS (sim.strap.StrapFault)
    strap_backward: bool = False  # the person on the belt faces backward (costs more)
    strap_ble: str | None = None  # serve the strap on this bumble controller


def state_line(
    treadmill: SimTreadmill, *, as_json: bool = False, strap: SimStrap | None = None
) -> str:
    """One line describing the treadmill now (sim time, state, belt, link, active faults), and
    the strap's pulse when there is one."""
    t = treadmill.elapsed_s
    speed, target = treadmill.belt_speed_kmh, treadmill.target_speed_kmh
    incline, distance = treadmill.incline_pct, treadmill.distance_m
    faults = sorted(f.value for f in treadmill.active_faults)
    heart = treadmill.heart_rate_bpm
    if as_json:
        state: dict[str, object] = {
            "t": round(t, 1),
            "state": treadmill.state.value,
            "speed_kmh": round(speed, 2),
            "target_kmh": round(target, 2),
            "incline_pct": round(incline, 1),
            "distance_m": round(distance, 1),
            "connected": treadmill.connected,
            "control": treadmill.control_granted,
            "faults": faults,
        }
        if heart is not None:
            state["heart_rate_bpm"] = round(heart)
        if strap is not None:
            state["strap_bpm"] = round(strap.heart_rate_bpm)
            state["strap_connected"] = strap.connected
            state["strap_faults"] = sorted(f.value for f in strap.active_faults)
        return json.dumps(state)
    link = "no central"
    if treadmill.connected:
        link = "connected, in control" if treadmill.control_granted else "connected"
    return (
        f"{t:8.1f} s  {treadmill.state.value:<8} {speed:5.2f} km/h (target {target:.2f})"
        f"  {incline:+.1f} %  {distance:8.1f} m"
        + (f"  {heart:.0f} bpm" if heart is not None else "")
        + f"  [{link}]"
        + (f"  faults: {', '.join(faults)}" if faults else "")
        + (_strap_words(strap) if strap is not None else "")
    )


def _strap_words(strap: SimStrap) -> str:
    faults = sorted(f.value for f in strap.active_faults)
    return (
        f"  strap {strap.heart_rate_bpm:.0f} bpm"
        f" [{'connected' if strap.connected else 'no central'}]"
        + (f" faults: {', '.join(faults)}" if faults else "")
    )


async def _drive(
    treadmill: SimTreadmill,
    kmh: float,
    write: Callable[[str], None],
    quitting: asyncio.Event,
    as_json: bool,
) -> BleakClient:
    """Take control and run the belt at ``kmh`` from a bleak central in this process."""
    from bleak import BleakClient

    from sim.bleak_backend import SimBleakClient
    from treadcoach.ftms import uuids

    def say(event: str) -> None:
        t = treadmill.elapsed_s
        write(
            json.dumps({"t": round(t, 1), "central": event})
            if as_json
            else f"{t:8.1f} s  central: {event}"
        )

    replies: asyncio.Queue[bytes] = asyncio.Queue()
    client = BleakClient(
        treadmill.address,
        disconnected_callback=lambda _: None if quitting.is_set() else say("link lost"),
        backend=SimBleakClient,
    )
    await client.connect()
    await client.start_notify(uuids.CONTROL_POINT_UUID, lambda _, d: replies.put_nowait(bytes(d)))
    await client.start_notify(uuids.TREADMILL_DATA_UUID, lambda _, d: None)
    for request in (b"\x00", b"\x07", b"\x02" + round(kmh * 100).to_bytes(2, "little")):
        await client.write_gatt_char(uuids.CONTROL_POINT_UUID, request, response=True)
        reply = await asyncio.wait_for(replies.get(), 2)
        result = _RESULTS.get(reply[2], f"0x{reply[2]:02X}")
        say(f"{_OPS[request[0]]} -> {result}")
    return client


async def run_standalone(options: StandaloneOptions, write: Callable[[str], None]) -> None:
    """Run until ``duration_s`` sim seconds passed (or forever), writing one line per second."""
    profile = get_profile(options.profile)
    async with (
        SimTreadmill(
            options.name,
            options.address,
            profile=profile,
            faults=options.faults,
            notify_hz=options.notify_hz,
            runner=options.runner,
        ) as treadmill,
        _on_ble(treadmill, options.ble),
        contextlib.AsyncExitStack() as stack,
    ):
        strap: SimStrap | None = None
        if options.strap:
            strap = await stack.enter_async_context(
                SimStrap(effort=treadmill, faults=options.strap_faults)
            )
            strap.backward = options.strap_backward
            await stack.enter_async_context(_on_ble(strap, options.strap_ble))
        if not options.as_json:
            faults = ", ".join(str(f) for f in options.faults) or "none"
            write(
                f"simulated treadmill {treadmill.name!r} at {treadmill.address}, profile"
                f" {profile.name} ({profile.description}); faults: {faults}"
            )
            if strap is not None:
                write(
                    f"simulated heart-rate strap {strap.name!r} at {strap.address}"
                    f" ({'backward' if strap.backward else 'forward'});"
                    f" faults: {', '.join(options.strap_faults) or 'none'}"
                )
        central = None
        quitting = asyncio.Event()
        if options.drive_kmh is not None:
            central = await _drive(treadmill, options.drive_kmh, write, quitting, options.as_json)
        end = math.inf if options.duration_s is None else options.duration_s
        second = 0
        while second <= end:
            await asyncio.sleep(max(0.0, second - treadmill.elapsed_s))
            write(state_line(treadmill, as_json=options.as_json, strap=strap))
            second += 1
        if central is not None:
            quitting.set()
            await central.disconnect()


def _on_ble(
    treadmill: SimTreadmill | SimStrap, spec: str | None
) -> contextlib.AbstractAsyncContextManager[object]:
    if spec is None:
        return contextlib.nullcontext()
    try:
        from sim.bumble_peripheral import serving
    except ImportError as error:
        raise SimError("sim --ble needs bumble: pip install 'treadcoach[bumble]'") from error
    return serving(treadmill, spec)
