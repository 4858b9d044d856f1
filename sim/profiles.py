"""Quirk profiles: the simulator behaving like the odd FTMS treadmills seen in the wild.

Each profile isolates one quirk from ``shared/reference/ftms-quirks.md`` (so a test of the link's
handling of that quirk fails for that quirk alone) and advertises the name prefix of the machine
it was seen on, so name-based device tables match it as they would match the real one. Quirks
seen on machines we cannot name advertise a ``SIM-`` prefix.

Profiles combine: ``get_profile("mph_target+speed_revert")`` is a machine with both quirks (see
:func:`combine`). The behaviour of the newer quirks (start delay, speed revert, missing ranges,
console lock) lives in ``sim.quirks``; this module only describes them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields, replace
from typing import Any

from sim.errors import SimConfigError, UnknownProfile

__all__ = ["COMBINABLE_PAIRS", "PROFILES", "Profile", "combine", "get_profile"]

MPH_KMH = 1.609344


@dataclass(frozen=True, slots=True)
class Profile:
    """How one kind of treadmill behaves at the GATT level."""

    name: str
    name_prefix: str  # the advertised local name starts with this
    description: str
    manufacturer: str = "treadcoach"
    model: str = "SimTread"
    min_kmh: float = 0.8
    max_kmh: float = 16.0
    speed_increment_kmh: float = 0.1
    min_incline_pct: float = -3.0
    max_incline_pct: float = 15.0
    incline_increment_pct: float = 0.5
    # Commands need a granted Request Control first (0x05 otherwise).
    control_required: bool = True
    # Start/Resume while the belt runs pauses it (TM11GY).
    start_toggle: bool = False
    # Set Target Speed's value is taken as mph, whatever the spec says (Bowflex T9, Horizon).
    mph_target: bool = False
    # Set Target Speed answers 0x05 until the belt has run this long after Start (Kingsmith).
    speed_needs_running_s: float = 0.0
    # Total Distance starts at a lifetime odometer value, in metres (Technogym MyRun).
    lifetime_odometer_m: int = 0
    # The console counts down this long after Start before the belt moves; a target set meanwhile
    # is kept and run once the countdown ends (many home treadmills show 3-2-1).
    start_delay_s: float = 0.0
    # With no word from the app (no read, no control-point write) for this long while running,
    # the pad falls back to ``revert_kmh`` by itself (0 = never). Any command is a keep-alive.
    revert_after_s: float = 0.0
    revert_kmh: float = 1.0
    # The GATT table has no Supported Speed Range (0x2AD4) or Inclination Range (0x2AD5).
    missing_ranges: bool = False
    # The console's buttons do nothing while an app is connected (pressing one sends no 0xFF).
    console_lock: bool = False
    # Set Target Speed is answered success and changes nothing (firmware "for safety").
    ignores_speed: bool = False
    # A granted Request Control covers one command: the next one is answered 0x05 until control
    # is requested again (what devices.toml's request_control = "before_every_command" is for).
    control_per_command: bool = False

    def __post_init__(self) -> None:
        if not (0 <= self.min_kmh < self.max_kmh <= 655.35):
            raise SimConfigError(
                "speed range", f"{self.min_kmh}-{self.max_kmh} km/h is not a range"
            )
        if self.speed_increment_kmh <= 0 or self.incline_increment_pct <= 0:
            raise SimConfigError("increment", "speed and incline increments must be positive")
        if not (self.min_incline_pct <= 0 <= self.max_incline_pct):
            raise SimConfigError(
                "incline range",
                f"{self.min_incline_pct}..{self.max_incline_pct} % must include a flat belt (0 %)",
            )
        if self.start_delay_s < 0 or self.revert_after_s < 0:
            raise SimConfigError("delay", "start_delay_s and revert_after_s cannot be negative")


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="standard",
            name_prefix="SIM-FTMS-",
            description="a well-behaved FTMS treadmill: 0.8-16 km/h by 0.1, -3..15 % by 0.5",
        ),
        Profile(
            name="start_toggle",
            name_prefix="TM11GY-",
            model="Apollo 11 Max (simulated)",
            description="Start/Resume while running pauses the belt; targets are mph (Vitalwalk "
            "TM11GY, as devices.toml describes it)",
            start_toggle=True,
            mph_target=True,
        ),
        Profile(
            name="mph_target",
            name_prefix="BFX_T9_",
            model="T9 (simulated)",
            description="Set Target Speed is read as mph: the belt runs 1.609x too fast (Bowflex T9)",
            mph_target=True,
            max_kmh=19.3,
        ),
        Profile(
            name="speed_needs_running",
            name_prefix="KS-ST-",
            model="WalkingPad (simulated)",
            description="speed commands answer 0x05 until the belt ran 2.5 s after Start (Kingsmith)",
            speed_needs_running_s=2.5,
            min_kmh=0.5,
            max_kmh=6.0,
        ),
        Profile(
            name="no_request_control",
            name_prefix="FS-",
            model="FitShow (simulated)",
            description="commands work without Request Control, which is answered success (FitShow)",
            control_required=False,
        ),
        Profile(
            name="lifetime_odometer",
            name_prefix="MYRUN ",
            model="MyRun (simulated)",
            description="Total Distance is the lifetime odometer, 4321 km at power-on (Technogym MyRun)",
            lifetime_odometer_m=4_321_000,
        ),
        Profile(
            name="min_speed_1",
            name_prefix="MOBVOI TMP-",
            model="Home Treadmill Pro (simulated)",
            description="cannot run below 1.0 km/h: lower targets answer 0x03 (Mobvoi)",
            min_kmh=1.0,
            max_kmh=12.0,
        ),
        Profile(
            name="start_delay",
            name_prefix="SIM-COUNTDOWN-",
            model="Countdown treadmill (simulated)",
            description="counts down 3 s on the console after Start before the belt moves",
            start_delay_s=3.0,
        ),
        Profile(
            name="speed_revert",
            name_prefix="SIM-REVERT-",
            model="Reverting pad (simulated)",
            description="falls back to 1 km/h when the app has said nothing for 4 s",
            revert_after_s=4.0,
            revert_kmh=1.0,
        ),
        Profile(
            name="missing_ranges",
            name_prefix="SIM-NORANGE-",
            model="Rangeless treadmill (simulated)",
            description="no Supported Speed/Inclination Range characteristics (0x2AD4/0x2AD5)",
            missing_ranges=True,
        ),
        Profile(
            name="zero_incline",
            name_prefix="SIM-FLAT-",
            model="Flat pad (simulated)",
            description="Supported Inclination Range is 0..0 %: any other incline answers 0x03",
            min_incline_pct=0.0,
            max_incline_pct=0.0,
        ),
        Profile(
            name="console_lock",
            name_prefix="SIM-LOCK-",
            model="Locked console (simulated)",
            description="the console's buttons do nothing while an app is connected",
            console_lock=True,
        ),
        Profile(
            name="ignores_speed",
            name_prefix="SIM-NOSPEED-",
            model="No-speed treadmill (simulated)",
            description="Set Target Speed is answered success and ignored (Sperax, Xterra T85)",
            ignores_speed=True,
        ),
        Profile(
            name="control_per_command",
            name_prefix="SIM-ONESHOT-",
            model="One-shot control (simulated)",
            description="Request Control covers one command; the next answers 0x05 until asked again",
            control_per_command=True,
        ),
    )
}

# Fields that say which machine it is, not how it behaves: a combination names itself.
_IDENTITY = frozenset({"name", "name_prefix", "description", "manufacturer", "model"})
# Range ends: a machine with two quirks runs in the overlap of both ranges.
_LOWER_ENDS = frozenset({"min_kmh", "min_incline_pct"})
_UPPER_ENDS = frozenset({"max_kmh", "max_incline_pct"})
# A quirk that hides another from any client: a firmware ignoring speed commands cannot show
# how it reads them (mph) or whether it would revert them. Such pairs do not make one machine
# anyone could tell apart, so they are not offered together.
_MASKS: frozenset[frozenset[str]] = frozenset(
    {
        frozenset({"ignores_speed", "mph_target"}),
        frozenset({"ignores_speed", "speed_revert"}),
        frozenset({"ignores_speed", "start_delay"}),
        # a machine that needs no control at all cannot lose it after each command
        frozenset({"no_request_control", "control_per_command"}),
    }
)


def combine(*parts: Profile) -> Profile:
    """One machine with every quirk of ``parts``; SimConfigError when two of them disagree.

    Range ends are intersected (the narrower range wins), identity comes from the first part,
    and any other setting two parts set differently is a contradiction.
    """
    if len(parts) == 1:
        return parts[0]
    base = Profile(name="base", name_prefix="", description="")
    merged: dict[str, Any] = {}
    for part in parts:
        for f in fields(Profile):
            if f.name in _IDENTITY:
                continue
            value, default = getattr(part, f.name), getattr(base, f.name)
            if value == default:
                continue
            old = merged.get(f.name, default)
            if f.name in _LOWER_ENDS:
                merged[f.name] = max(old, value) if f.name in merged else value
            elif f.name in _UPPER_ENDS:
                merged[f.name] = min(old, value) if f.name in merged else value
            elif f.name in merged and old != value:
                raise SimConfigError(
                    "profile", f"{part.name} sets {f.name} = {value!r}, another part {old!r}"
                )
            else:
                merged[f.name] = value
    first = parts[0]
    return replace(
        first,
        **merged,
        name="+".join(p.name for p in parts),
        description="; ".join(p.description for p in parts),
    )


def _combinable(a: str, b: str) -> bool:
    if frozenset({a, b}) in _MASKS:
        return False
    try:
        combine(PROFILES[a], PROFILES[b])
    except SimConfigError:
        return False
    return True


#: Every pair of quirk profiles (other than ``standard``) that one machine can show together.
COMBINABLE_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (a, b)
    for a, b in itertools.combinations([n for n in PROFILES if n != "standard"], 2)
    if _combinable(a, b)
)


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``-`` accepted for ``_``), or UnknownProfile.

    ``a+b`` combines profiles (:func:`combine`); a contradiction raises SimConfigError.
    """
    parts: list[Profile] = []
    for part in name.split("+"):
        try:
            parts.append(PROFILES[part.strip().lower().replace("-", "_")])
        except KeyError:
            raise UnknownProfile(part, tuple(PROFILES)) from None
    return combine(*parts)
