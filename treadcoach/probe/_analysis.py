"""The probe's sans-I/O core: a ProbeRecord in, findings and a devices.toml entry out.

Every conclusion carries the measurement that led to it (``evidence``), and every entry key the
measurement that set it, so the user (and whoever ships the entry) can check it. No clock, no
link: tests feed recorded or hand-made records.
"""

from __future__ import annotations

import enum
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from treadcoach.errors import FtmsDecodeError
from treadcoach.ftms import (
    decode_inclination_range,
    decode_machine_features,
    decode_speed_range,
    decode_training_status,
    decode_treadmill_data,
    uuids,
)
from treadcoach.probe._record import Command, ConsoleResult, ProbeRecord, Sample, Step

__all__ = [
    "FTMS_CHARACTERISTICS",
    "Analysis",
    "EntryKey",
    "Finding",
    "Revert",
    "analyse",
    "detect_revert",
]

KMH_PER_MPH: Final = 1.609344
#: a belt this far from where it was is a change, not reporting jitter
CHANGE_KMH: Final = 0.3
#: records this close together count as settled; settled this far away is a change
SETTLE_KMH: Final = 0.03
SETTLED_OFF_KMH: Final = 0.05
#: ratio tolerances for "the belt follows in km/h" / "... in mph"
UNIT_TOLERANCE: Final = 0.12
#: a command answered this much later than sent was retried by the link (0x05 backoff)
RETRIED_S: Final = 0.4
#: the link's first 0x05 retry comes 0.5 s later: a command done within this took at most one
ONE_RETRY_S: Final = 1.0
#: Total Distance above this with the belt standing before the probe is an odometer
ODOMETER_M: Final = 100
_ENTRY_MAX_KMH: Final = 30.0  # the config's sanity bound

FTMS_CHARACTERISTICS: Final = {
    uuids.FEATURE_UUID: "Fitness Machine Feature (0x2ACC)",
    uuids.TREADMILL_DATA_UUID: "Treadmill Data (0x2ACD)",
    uuids.TRAINING_STATUS_UUID: "Training Status (0x2AD3)",
    uuids.SPEED_RANGE_UUID: "Supported Speed Range (0x2AD4)",
    uuids.INCLINATION_RANGE_UUID: "Supported Inclination Range (0x2AD5)",
    uuids.CONTROL_POINT_UUID: "Fitness Machine Control Point (0x2AD9)",
    uuids.MACHINE_STATUS_UUID: "Fitness Machine Status (0x2ADA)",
}
_DEVICE_INFO: Final = {
    uuids.MANUFACTURER_NAME_UUID: "manufacturer",
    uuids.MODEL_NUMBER_UUID: "model",
    uuids.HARDWARE_REVISION_UUID: "hardware",
    uuids.FIRMWARE_REVISION_UUID: "firmware",
    uuids.SOFTWARE_REVISION_UUID: "software",
}
# Treadmill Data: bytes per flag bit (bit 0 is inverted: speed present when clear), pace as u8.
_FIELD_BYTES: Final = {1: 2, 2: 3, 3: 4, 4: 4, 5: 1, 6: 1, 7: 5, 8: 1, 9: 1, 10: 2, 11: 2, 12: 4}
_PACE_BITS: Final = (5, 6)


@dataclass(frozen=True, slots=True)
class Finding:
    topic: str
    text: str  # the conclusion, one line
    evidence: str  # what was measured


@dataclass(frozen=True, slots=True)
class EntryKey:
    key: str
    value: str | float | bool | tuple[str, ...]
    evidence: str


@dataclass(frozen=True, slots=True)
class Revert:
    after_s: float  # since the last command
    to_kmh: float
    at: float


@dataclass(frozen=True, slots=True)
class Analysis:
    name: str
    address: str
    device: dict[str, str]  # Device Information strings
    findings: tuple[Finding, ...]
    entry: tuple[EntryKey, ...]
    aborted: str | None

    def finding(self, topic: str) -> Finding:
        for f in self.findings:
            if f.topic == topic:
                return f
        raise KeyError(topic)

    def value(self, key: str) -> str | float | bool | tuple[str, ...] | None:
        for k in self.entry:
            if k.key == key:
                return k.value
        return None


# --- small measurements ----------------------------------------------------------------------


def _fmt(kmh: float | None) -> str:
    return "none" if kmh is None else f"{kmh:.2f}"


def _speed_at(samples: Sequence[Sample], before: float) -> float | None:
    """The last reported speed before ``before``."""
    earlier = [s.speed_kmh for s in samples if s.at < before and s.speed_kmh is not None]
    return earlier[-1] if earlier else None


def _last_speed(record: ProbeRecord, step: Step) -> float | None:
    got = [s.speed_kmh for s in record.samples_in(step) if s.speed_kmh is not None]
    return got[-1] if got else None


def _first(commands: Sequence[Command], op: str) -> Command | None:
    return next((c for c in commands if c.op == op), None)


def _departure(samples: Sequence[Sample], held: float) -> Sample | None:
    """The first record of a lasting change away from ``held``, or None.

    A lasting change is a record more than CHANGE_KMH away that the last record still shows,
    or the last records settling (within SETTLE_KMH of each other) more than SETTLED_OFF_KMH
    away: a pad reverting to a speed close to the held one shows only the second.
    """
    speeds = [s for s in samples if s.speed_kmh is not None]
    if not speeds:
        return None
    last = speeds[-1].speed_kmh or 0.0
    if abs(last - held) > CHANGE_KMH:
        return next(s for s in speeds if abs((s.speed_kmh or 0.0) - held) > CHANGE_KMH)
    tail = [s.speed_kmh or 0.0 for s in speeds[-3:]]
    if (
        len(tail) == 3
        and max(tail) - min(tail) <= SETTLE_KMH
        and abs(last - held) > SETTLED_OFF_KMH
    ):
        return next(s for s in speeds if abs((s.speed_kmh or 0.0) - held) > SETTLED_OFF_KMH)
    return None


def detect_revert(record: ProbeRecord) -> Revert | None:
    """A speed the belt left by itself during HOLD (no commands were sent then)."""
    if Step.HOLD not in record.marks:
        return None
    begin, _ = record.window(Step.HOLD)
    held = _speed_at(record.samples, begin)
    samples = [s for s in record.samples_in(Step.HOLD) if s.speed_kmh is not None]
    if held is None or held <= 0:
        return None
    moved = _departure(samples, held)
    if moved is None:
        return None
    last_command = max((c.done_at for c in record.commands if c.done_at <= moved.at), default=0)
    return Revert(
        after_s=round(moved.at - last_command, 1),
        to_kmh=samples[-1].speed_kmh or 0.0,
        at=moved.at,
    )


def _ramp_rate(samples: Sequence[Sample], t0: float, v0: float, v1: float) -> tuple[float, bool]:
    """Rate (km/h per s) of a ramp from ``v0`` (commanded at ``t0``) to ``v1``.

    An exact value needs a record caught mid-ramp; otherwise the rate is only known to be at
    least the whole change over the time to the first record at the new speed. Returns
    ``(rate, exact)``; ``(0, False)`` when nothing usable came.
    """
    span = abs(v1 - v0)
    if span < 0.05:
        return 0.0, False
    after = [s for s in samples if s.at > t0 and s.speed_kmh is not None]
    # only the ramp itself: up to the first record at the new speed
    end = next((i for i, s in enumerate(after) if abs((s.speed_kmh or 0.0) - v1) <= 0.02), None)
    if end is not None:
        after = after[: end + 1]
    mid = [s for s in after if min(v0, v1) + 0.02 < (s.speed_kmh or 0.0) < max(v0, v1) - 0.02]
    if mid:
        s = mid[0]
        return abs((s.speed_kmh or 0.0) - v0) / max(s.at - t0, 1e-6), True
    reached = [s for s in after if abs((s.speed_kmh or 0.0) - v1) <= 0.02]
    if reached:
        return span / max(reached[0].at - t0, 1e-6), False
    return 0.0, False


def _pace_width(packets: Sequence[bytes]) -> tuple[str | None, str]:
    """``("u8"|"u16"|None, evidence)`` from raw Treadmill Data packets."""
    with_pace = 0
    longer = 0
    for data in packets:
        if len(data) < 2:
            continue
        flags = data[0] | data[1] << 8
        expected = 2 + (0 if flags & 1 else 2)
        expected += sum(size for bit, size in _FIELD_BYTES.items() if flags & (1 << bit))
        paces = sum(1 for bit in _PACE_BITS if flags & (1 << bit))
        if not paces:
            continue
        with_pace += 1
        if len(data) == expected + paces:
            longer += 1
    if not with_pace:
        return None, f"no pace field in {len(packets)} Treadmill Data packets"
    if longer == with_pace:
        return "u16", f"all {with_pace} packets with pace are 1 byte per pace field longer than u8"
    return "u8", f"{with_pace - longer} of {with_pace} packets with pace have u8 pace lengths"


def _flags(value: enum.IntFlag) -> str:
    names = [m.name.lower() for m in type(value) if m.name and m in value]
    return ", ".join(names) or "nothing"


# --- the analysis ----------------------------------------------------------------------------


def analyse(record: ProbeRecord) -> Analysis:
    """Findings and a devices.toml entry from one probe run (see the module docstring)."""
    findings: list[Finding] = []
    entry: list[EntryKey] = []
    notes: list[str] = []
    survey = record.survey

    def found(topic: str, text: str, evidence: str) -> None:
        findings.append(Finding(topic, text, evidence))

    def key(name: str, value: str | float | bool | tuple[str, ...], evidence: str) -> None:
        entry.append(EntryKey(name, value, evidence))

    device: dict[str, str] = {}
    chars = survey.characteristics if survey is not None else {}
    reads = survey.reads if survey is not None else {}
    for uuid, label in _DEVICE_INFO.items():
        if uuid in reads:
            device[label] = reads[uuid].decode("utf-8", "replace").strip("\x00 ")

    # characteristics
    present = [label for uuid, label in FTMS_CHARACTERISTICS.items() if uuid in chars]
    missing = [label for uuid, label in FTMS_CHARACTERISTICS.items() if uuid not in chars]
    found(
        "characteristics",
        f"{len(present)} of {len(FTMS_CHARACTERISTICS)} FTMS characteristics"
        + (f"; missing: {', '.join(missing)}" if missing else ""),
        "characteristics found: " + ", ".join(present),
    )
    if missing:
        notes.append("No " + " or ".join(m.split(" (")[0] for m in missing) + ".")
    srange = None
    if uuids.SPEED_RANGE_UUID in reads:
        try:
            srange = decode_speed_range(reads[uuids.SPEED_RANGE_UUID])
            found(
                "speed range",
                f"{srange.min_kmh:.2f}-{srange.max_kmh:.2f} by {srange.increment_kmh:.2f}",
                f"0x2AD4 read {reads[uuids.SPEED_RANGE_UUID].hex(' ')}",
            )
        except FtmsDecodeError as error:
            found("speed range", "unreadable", str(error))
    irange = None
    if uuids.INCLINATION_RANGE_UUID in reads:
        try:
            irange = decode_inclination_range(reads[uuids.INCLINATION_RANGE_UUID])
            found(
                "incline range",
                f"{irange.min_pct:g}..{irange.max_pct:g} % by {irange.increment_pct:g}",
                f"0x2AD5 read {reads[uuids.INCLINATION_RANGE_UUID].hex(' ')}",
            )
        except FtmsDecodeError as error:
            found("incline range", "unreadable", str(error))
    if uuids.FEATURE_UUID in reads:
        try:
            features = decode_machine_features(reads[uuids.FEATURE_UUID])
            found(
                "features",
                f"reports {_flags(features.machine)}; accepts targets "
                f"{_flags(features.target_setting)}",
                f"0x2ACC read {reads[uuids.FEATURE_UUID].hex(' ')}",
            )
        except FtmsDecodeError as error:
            found("features", "unreadable", str(error))
    if uuids.TRAINING_STATUS_UUID in reads:
        try:
            status = decode_training_status(reads[uuids.TRAINING_STATUS_UUID])
            code = status.status
            label = code.name.lower() if isinstance(code, enum.Enum) else f"0x{code:02X}"
            found("training status", label, "0x2AD3 read at connect")
        except FtmsDecodeError as error:
            found("training status", "unreadable", str(error))

    # control
    granted = record.control_granted
    without = record.without_request_control
    if without == "ok":
        text = "commands work without Request Control"
    elif without.startswith("refused 0x05"):
        text = "Request Control is needed before commands"
    else:
        text = f"not known ({without})"
    accepted = [c for c in record.commands if c.ok and c.op != "request_control"]
    # Commands the link had to retry (0x05, Request Control, again): right after Start a speed
    # may wait for the belt (that is the start step's finding); any other means control lapsed.
    lapsed = [
        c
        for c in accepted
        if c.done_at - c.at > RETRIED_S and not (c.step is Step.START and c.op == "set_speed")
    ]
    every = granted and len(lapsed) >= 2
    if every:
        held = f"; control lapsed after each command ({len(lapsed)} commands refused 0x05 first)"
    elif granted and accepted:
        held = "; asked once, it held for every later command"
    else:
        held = ""
    found(
        "control",
        text + held,
        f"Pause without Request Control: {without}; Request Control at connect: "
        f"{'granted' if granted else 'not granted'}; {len(accepted)} later commands accepted, "
        f"{len(lapsed)} of them only after the link asked for control again",
    )
    if every:
        key(
            "request_control",
            "before_every_command",
            f"{len(lapsed)} commands were refused 0x05 until control was asked again: "
            + ", ".join(f"{c.op} {c.done_at - c.at:.1f} s" for c in lapsed[:4]),
        )
    elif granted:
        key(
            "request_control",
            "once",
            f"Request Control granted at connect and {len(accepted)} commands accepted after it",
        )
    elif without == "ok":
        key("request_control", "never", "Request Control not granted, yet commands work without")

    lo, _hi, inc = record.speed_range
    # When control lapses after every command, the speed after Start waits one retry for that
    # alone; only a longer wait says the belt refuses speeds until it runs.
    start_retry_s = ONE_RETRY_S if every else RETRIED_S
    # Start needed?
    waited = record.samples_in(Step.START_NEEDED)
    set_first = _first(record.commands_in(Step.START_NEEDED), "set_speed")
    if set_first is not None and waited:
        moved = max((s.speed_kmh or 0.0) for s in waited)
        answer = "accepted" if set_first.ok else f"refused ({set_first.result_code or '?'})"
        if moved > 0:
            found("start", "Start is not needed: a target alone moved the belt", f"{moved:.2f}")
        else:
            found(
                "start",
                "Start is needed: a target alone does not move the belt",
                f"Set Target Speed {_fmt(set_first.value)} while stopped {answer}; belt at 0 "
                f"for {waited[-1].at - set_first.at:.1f} s",
            )
    found(
        "start toggle",
        "not probed: treadcoach never sends Start to a running belt, so a toggle cannot hit it",
        "the link checks the belt state before every Start",
    )

    # Start delay, and when a speed is first accepted
    start = _first(record.commands_in(Step.START), "start")
    first_speed = _first(record.commands_in(Step.START), "set_speed")
    move_delay: float | None = None
    accept_delay: float | None = None
    if start is not None and start.ok:
        moving = [s for s in record.samples if s.at > start.done_at and (s.speed_kmh or 0) > 0]
        if moving:
            move_delay = round(moving[0].at - start.done_at, 1)
        if first_speed is not None:
            accept_delay = round(first_speed.done_at - start.done_at, 1)
            retried = first_speed.done_at - first_speed.at > start_retry_s
            found(
                "speed after start",
                (
                    f"a speed is accepted {accept_delay:.1f} s after Start (refused 0x05 before)"
                    if first_speed.ok and retried
                    else "a speed is accepted at once after Start"
                    if first_speed.ok
                    else f"no speed accepted within {accept_delay:.1f} s of Start"
                ),
                f"Set Target Speed {_fmt(first_speed.value)} sent {first_speed.at - start.done_at:.1f} s "
                f"after Start, answered after {first_speed.done_at - first_speed.at:.1f} s: "
                f"{first_speed.result}",
            )
        found(
            "start delay",
            f"the belt moves {move_delay:.1f} s after Start"
            if move_delay is not None
            else "the belt did not move after Start",
            f"Start acknowledged at {start.done_at - record.marks[Step.START]:.1f} s into the "
            "step; first record above 0 km/h "
            + (f"{move_delay:.1f} s later" if move_delay is not None else "never"),
        )
        waits = [d for d in (move_delay, accept_delay) if d is not None]
        slow = (move_delay or 0) > 1.5 or (
            first_speed is not None
            and (not first_speed.ok or first_speed.done_at - first_speed.at > start_retry_s)
        )
        key(
            "start_before_speed",
            slow,
            f"belt moved {_fmt(move_delay)} s and took a speed {_fmt(accept_delay)} s after Start",
        )
        if slow:
            wait = min(30.0, float(math.ceil(max(waits, default=2.0) + 1.0)))
            key(
                "running_wait_s",
                max(3.0, wait),
                f"the slower of those ({max(waits, default=0):.1f} s) + 1 s, at least 3",
            )

    # Units, minimum, speed control
    units = record.commands_in(Step.UNITS, "set_speed")
    c0 = first_speed.value if first_speed is not None and first_speed.ok else None
    c1 = units[0] if units else None
    r0 = _speed_at(record.samples, c1.at) if c1 is not None else _last_speed(record, Step.START)
    r1 = _last_speed(record, Step.UNITS)
    unit = 1.0
    speed_control = True
    if c0 is not None and c1 is not None and c1.ok and c1.value is not None and r0 and r1:
        dc = c1.value - c0
        ratio = (r1 - r0) / dc if dc >= 0.1 else r1 / c1.value
        evidence = (
            f"commanded {c0:.2f} then {c1.value:.2f}; belt reported {r0:.2f} then {r1:.2f} "
            f"(ratio {ratio:.2f})"
        )
        if dc >= 0.1 and abs(r1 - r0) < 0.05:
            speed_control = False
            found("units", "speed targets are accepted and ignored", evidence)
            notes.append(
                "Set Target Speed is answered success and ignored: set speed on the console."
            )
        elif abs(ratio - KMH_PER_MPH) <= UNIT_TOLERANCE:
            unit = KMH_PER_MPH
            found("units", "targets are read as mph (the belt runs 1.61x the km/h sent)", evidence)
        elif abs(ratio - 1.0) <= UNIT_TOLERANCE:
            found("units", "targets are read as km/h", evidence)
        else:
            found(
                "units", f"the belt follows targets at {ratio:.2f}x: neither km/h nor mph", evidence
            )
        key("target_speed_in_mph", unit != 1.0, evidence)
        key(
            "reported_speed_in_mph",
            False,
            "assumed: the probe cannot see the belt; if the console shows mph and its number "
            "matches the reported one, set true",
        )
        found(
            "minimum speed",
            f"{c0 * unit:.2f} km/h honoured" if abs(r0 - c0 * unit) <= 0.1 else "not honoured",
            f"commanded {c0:.2f} (the {'0x2AD4' if srange else 'default'} minimum), belt "
            f"reported {r0:.2f}",
        )
    elif c1 is not None and not c1.ok:
        found("units", "not known: the speed command was refused", c1.result)
    key(
        "speed_control",
        speed_control,
        "the belt followed the targets" if speed_control else "the belt ignored every target",
    )

    # Range keys, in true km/h (an mph machine's range is in the unit it reads targets in)
    if srange is not None:
        key(
            "min_kmh",
            round(math.ceil(srange.min_kmh * unit * 100 - 1e-6) / 100, 2),
            f"0x2AD4 minimum {srange.min_kmh:.2f}" + (" read as mph" if unit != 1.0 else ""),
        )
        top = srange.max_kmh * unit
        if top <= _ENTRY_MAX_KMH and top > srange.min_kmh * unit:
            key(
                "max_kmh",
                round(math.floor(top * 100 + 1e-6) / 100, 2),
                f"0x2AD4 maximum {srange.max_kmh:.2f}"
                + (" read as mph" if unit != 1.0 else "")
                + "; not run (the probe stays within minimum + 1 km/h)",
            )
        if unit != 1.0:
            key(
                "speed_increment_kmh",
                round(srange.increment_kmh * unit, 2),
                f"0x2AD4 increment {srange.increment_kmh:.2f} read as mph",
            )
    else:
        key(
            "min_kmh",
            round(math.ceil(lo * unit * 100 - 1e-6) / 100, 2),
            f"no 0x2AD4: treadcoach's default minimum {lo:.2f} was run"
            + (" (read as mph)" if unit != 1.0 else ""),
        )

    # Increment honoured
    half = record.commands_in(Step.INCREMENT, "set_speed")
    r2 = _last_speed(record, Step.INCREMENT)
    if half and half[0].ok and half[0].value is not None and r1 is not None and r2 is not None:
        c2 = half[0].value
        assert c1 is not None
        assert c1.value is not None
        want = (c1.value - c2) * unit
        got = r1 - r2
        if not speed_control:
            text = "not known (speed ignored)"
        elif abs(got - want) <= 0.02:
            text = f"finer than {inc:.2f}: a {c1.value - c2:.2f} step was honoured"
        elif abs(got) <= 0.02:
            text = f"{inc:.2f}: a half step did not move the belt"
        else:
            text = f"{inc:.2f}: a half step moved the belt {got:.2f} km/h"
        found(
            "increment",
            text,
            f"commanded {c1.value:.2f} then {c2:.2f}; belt {r1:.2f} then {r2:.2f}",
        )
        if srange is None and speed_control:
            key(
                "speed_increment_kmh",
                round(inc * unit, 2),
                f"no 0x2AD4: treadcoach's default {inc:.2f}; the belt followed a "
                f"{c1.value - c2:.2f} step",
            )

    # Acceleration and deceleration
    rates: list[tuple[str, float, bool]] = []
    ups: list[tuple[float, bool]] = []
    if start is not None and start.ok and r0:
        t0 = start.done_at
        if move_delay is not None and move_delay > 1.5:
            # a countdown: the ramp began after the last record still at 0
            t0 = max(
                (
                    s.at
                    for s in record.samples
                    if s.at < start.done_at + move_delay and (s.speed_kmh or 0.0) <= 0.0
                ),
                default=t0,
            )
        ups.append(_ramp_rate(record.samples, t0, 0.0, r0))
    if c1 is not None and c1.ok and r0 is not None and r1 is not None:
        ups.append(_ramp_rate(record.samples, c1.done_at, r0, r1))
    ups = [u for u in ups if u[0] > 0]
    if ups:
        exact_ups = [u for u in ups if u[1]]
        rates.append(("up", *max(exact_ups or ups)))
    stop = _first(record.commands_in(Step.STOP), "stop")
    if stop is not None:
        top_speed = _speed_at(record.samples, stop.at)
        if top_speed:
            rate, exact = _ramp_rate(record.samples, stop.at, top_speed, 0.0)
            if rate:
                rates.append(("down", rate, exact))
    if rates:
        slowest = min(r for _, r, _ in rates)
        evidence = "; ".join(f"{d} {'' if exact else '>= '}{r:.2f} km/h/s" for d, r, exact in rates)
        found("acceleration", evidence, "from Treadmill Data records during the ramps")
        key(
            "accel_kmh_per_s",
            max(0.1, min(10.0, math.floor(slowest * 20 + 1e-6) / 20)),
            f"the slower ramp ({evidence}), rounded down",
        )

    # Speed revert, and whether a keep-alive cures it
    revert = detect_revert(record)
    if revert is None:
        found("speed revert", "the belt keeps a speed by itself", "no change while left alone")
    else:
        kept = record.samples_in(Step.KEEPALIVE)
        keep = record.commands_in(Step.KEEPALIVE, "set_speed")
        settle_at = keep[0].done_at + 3.0 if keep else math.inf
        later = [s for s in kept if s.at > settle_at and s.speed_kmh is not None]
        steady = len(later) >= 3 and _departure(later, later[0].speed_kmh or 0.0) is None
        found(
            "speed revert",
            f"the belt falls back to {revert.to_kmh:.2f} km/h {revert.after_s:.1f} s after the "
            "last command"
            + (
                f"; a command every {record.keepalive_period_s:g} s prevents it"
                if steady
                else "; a keep-alive did not prevent it"
            ),
            f"left alone at {_fmt(_speed_at(record.samples, revert.at))} km/h",
        )
        if steady and record.keepalive_period_s is not None:
            key(
                "keepalive_s",
                max(0.2, record.keepalive_period_s),
                f"reverted {revert.after_s:.1f} s after the last command; with Request "
                f"Control every {record.keepalive_period_s:g} s it held",
            )
        else:
            notes.append("The belt reverts a speed by itself and no keep-alive prevents it.")

    # Telemetry
    samples = record.samples
    if len(samples) >= 2:
        gaps = [b.at - a.at for a, b in itertools.pairwise(samples)]
        fields = sorted({f for s in samples for f in s.fields})
        found(
            "telemetry",
            f"{1 / statistics.median(gaps):.1f} records/s; fields: {', '.join(fields)}",
            f"{len(samples)} records over {samples[-1].at - samples[0].at:.1f} s",
        )
    packets = [
        p.data for p in (survey.packets if survey else ()) if p.uuid == uuids.TREADMILL_DATA_UUID
    ]
    width, evidence = _pace_width(packets)
    found("pace", f"pace is {width}" if width else "no pace field", evidence)
    key("pace_u16", width == "u16", evidence)

    # Total Distance: a lifetime odometer?
    standing: int | None = None
    for data in packets:
        try:
            rec = decode_treadmill_data(data)
        except FtmsDecodeError:
            continue
        if rec.distance_m is not None:
            standing = rec.distance_m
            break
    if standing is None:
        standing = next((s.distance_m for s in samples if s.distance_m is not None), None)
    if standing is None:
        found("distance", "no Total Distance field", "none in any record")
    else:
        odometer = standing > ODOMETER_M
        found(
            "distance",
            "Total Distance is a lifetime odometer"
            if odometer
            else "Total Distance is per workout",
            f"{standing} m before the probe moved the belt",
        )
        if odometer:
            notes.append(f"Total Distance is a lifetime odometer ({standing} m at power-on).")
    key("distance_source", "integrated", "treadcoach integrates speed x time (safe either way)")

    # Incline
    lo_i, hi_i, step_i = record.incline_range
    tries = record.commands_in(Step.INCLINE, "set_incline")
    if hi_i <= lo_i:
        found(
            "incline",
            "no incline",
            f"incline range {lo_i:g}..{hi_i:g} %"
            + (" (0x2AD5)" if irange is not None else " (no 0x2AD5, no inclination target)"),
        )
    elif tries:
        t = tries[0]
        got_i = [
            s.inclination_pct
            for s in record.samples_in(Step.INCLINE)
            if s.inclination_pct is not None
        ]
        peak = max(got_i, default=0.0)
        if not t.ok:
            text = f"refused ({t.result})"
        elif t.value is not None and peak >= t.value - 0.15:
            text = f"works: {t.value:g} % reached"
        else:
            text = "accepted but the belt did not tilt"
            notes.append("Set Target Inclination is accepted but the belt does not tilt.")
        found(
            "incline",
            text,
            f"Set Target Inclination {_fmt(t.value)} %; reported up to {peak:g} %; range "
            f"{lo_i:g}..{hi_i:g} % by {step_i:g}"
            + (" (0x2AD5)" if irange is not None else " (treadcoach's default, no 0x2AD5)"),
        )
        if irange is not None and t.ok and hi_i > lo_i:
            key("incline_min_pct", irange.min_pct, "0x2AD5 minimum")
            key("incline_max_pct", irange.max_pct, "0x2AD5 maximum (not run: 1 % was)")
            key("incline_step_pct", irange.increment_pct, "0x2AD5 increment")

    # Console
    if record.console is ConsoleResult.TOOK_CONTROL:
        found(
            "console",
            "a console button takes control back (0xFF): treadcoach then stops commanding",
            "Machine Status 0xFF after the button press",
        )
    elif record.console is ConsoleResult.IGNORED:
        found(
            "console",
            "the console is locked while connected (or no button was pressed)",
            f"no 0xFF within {10:.0f} s of the button press",
        )
        notes.append(
            "The console seems locked while treadcoach is connected: its stop is the app's "
            "stop key and the safety key."
        )
    else:
        found("console", "not tested", "no console button press was asked for")

    if record.aborted:
        found("aborted", f"the probe stopped early: {record.aborted}", "incomplete run")
    if notes:
        key("notes", " ".join(notes), "the findings no key expresses")

    if not speed_control:
        # The ratios and rates above come from a belt that never followed: drop them.
        entry = [k for k in entry if k.key not in ("target_speed_in_mph", "accel_kmh_per_s")]
    return Analysis(
        name=record.name,
        address=record.address,
        device=device,
        findings=tuple(findings),
        entry=tuple(entry),
        aborted=record.aborted,
    )
