"""What a probe measured: plain frozen values, the input of the analysis (``_analysis.py``).

The driver fills a :class:`ProbeRecord` as the steps run; tests build one by hand (or keep one
from a run) and feed it to :func:`treadcoach.probe.analyse` without any treadmill. Times are loop
seconds (``loop.time()``), so a record made on virtual time reads the same as one made on a real
clock.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

__all__ = [
    "Command",
    "ConsoleResult",
    "Packet",
    "ProbeRecord",
    "Sample",
    "Step",
    "Survey",
]


class Step(enum.StrEnum):
    """The probe's steps, in the order they run (the fault matrix parametrizes over these)."""

    SURVEY = "survey"  # raw GATT: which characteristics exist, what they read, what they notify
    CONTROL = "control"  # does a command need Request Control first?
    START_NEEDED = "start_needed"  # does a target alone move the belt?
    START = "start"  # Start, and how long until the belt moves and a speed is accepted
    UNITS = "units"  # commanded vs reported speed: km/h or mph; the minimum speed
    INCREMENT = "increment"  # a half step: does the belt honour it?
    HOLD = "hold"  # no commands: does the belt revert the speed by itself?
    KEEPALIVE = "keepalive"  # with a keep-alive: does the revert go away?
    STOP = "stop"  # Stop, and how fast the belt comes down
    INCLINE = "incline"  # belt stopped: does incline follow a target?
    CONSOLE = "console"  # does the console take control back, or is it locked?


class ConsoleResult(enum.StrEnum):
    TOOK_CONTROL = "took_control"  # Machine Status 0xFF after the press
    IGNORED = "ignored"  # pressed, nothing came
    SKIPPED = "skipped"  # the user did not press (or no console tester)


@dataclass(frozen=True, slots=True)
class Packet:
    """One notification as it came off the air, before any decoding."""

    at: float
    uuid: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Survey:
    """The raw GATT look, before any command: characteristics, their values, a few notifications."""

    name: str
    address: str
    characteristics: dict[str, tuple[str, ...]]  # uuid -> properties ("read", "notify", ...)
    reads: dict[str, bytes]  # uuid -> value, for every readable FTMS / Device Information one
    read_errors: dict[str, str]  # uuid -> why the read failed
    packets: tuple[Packet, ...]  # notifications heard while listening
    listen_s: float


@dataclass(frozen=True, slots=True)
class Command:
    """One command the probe gave through the link, and how it ended."""

    step: Step
    op: str  # "start", "stop", "set_speed", "set_incline", "request_control"
    value: float | None  # km/h or % as put on the wire (the probe's link converts nothing)
    at: float
    done_at: float
    result: str  # "ok", "skipped" (Start not sent: belt running), or the error's text
    result_code: int | None = None  # the FTMS result code of a refusal (0x05, 0x03 ...)

    @property
    def ok(self) -> bool:
        return self.result == "ok"


@dataclass(frozen=True, slots=True)
class Sample:
    """One whole Treadmill Data record, as decoded (speeds as the machine reports them)."""

    at: float
    speed_kmh: float | None
    distance_m: int | None
    inclination_pct: float | None
    fields: tuple[str, ...]  # the TreadmillData fields present in it


@dataclass(slots=True)
class ProbeRecord:
    """Everything one probe run measured (the driver appends while it runs)."""

    name: str
    address: str
    bound_kmh: float  # the fastest the probe ever commands: the belt's minimum + 1 km/h
    speed_range: tuple[float, float, float]  # what the link uses: 0x2AD4, else its default
    incline_range: tuple[float, float, float]
    survey: Survey | None = None
    #: a Pause sent without Request Control: "ok", or the refusal ("refused 0x05" ...)
    without_request_control: str = "not tested"
    #: Request Control when the link opened: True = granted
    control_granted: bool | None = None
    commands: list[Command] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    statuses: list[tuple[float, str]] = field(default_factory=list)  # (at, Machine Status op)
    marks: dict[Step, float] = field(default_factory=dict)  # when each step began
    ended_at: float = 0.0
    keepalive_period_s: float | None = None  # the period tried in the KEEPALIVE step
    console: ConsoleResult = ConsoleResult.SKIPPED
    control_lost_at: float | None = None
    aborted: str | None = None  # why the probe stopped early (a stop input, a fault)

    def window(self, step: Step) -> tuple[float, float]:
        """``[begin, end)`` of ``step``: until the next step began (or the probe ended)."""
        order = list(Step)
        begin = self.marks[step]
        later = [
            t
            for s, t in self.marks.items()
            if t > begin or (t == begin and order.index(s) > order.index(step))
        ]
        # a step still running (the driver asks mid-run) lasts until now: open-ended
        return begin, min(later, default=self.ended_at if self.ended_at > begin else math.inf)

    def samples_in(self, step: Step) -> list[Sample]:
        if step not in self.marks:
            return []
        begin, end = self.window(step)
        return [s for s in self.samples if begin <= s.at < end]

    def commands_in(self, step: Step, op: str | None = None) -> list[Command]:
        return [c for c in self.commands if c.step is step and (op is None or c.op == op)]
