"""Quirk profiles: the simulator behaving like the odd FTMS treadmills seen in the wild.

Each profile isolates one quirk from ``shared/reference/ftms-quirks.md`` (so a test of the link's
handling of that quirk fails for that quirk alone) and advertises the name prefix of the machine
it was seen on, so name-based device tables match it as they would match the real one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import SimConfigError, UnknownProfile

__all__ = ["PROFILES", "Profile", "get_profile"]

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
    )
}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``-`` accepted for ``_``), or UnknownProfile."""
    try:
        return PROFILES[name.strip().lower().replace("-", "_")]
    except KeyError:
        raise UnknownProfile(name, tuple(PROFILES)) from None
