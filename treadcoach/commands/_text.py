"""Headless text output (``treadcoach run --headless`` without ``--json``): events as lines.

Pure: :meth:`HeadlessText.lines` turns one event into the lines to print. Speeds and distances
are in the user's units (``[limits] units``). A fault that repeats (a treadmill sending a
malformed frame every second) is printed once, then summarised: at most one line per fault kind
per :data:`REPEAT_WINDOW_S` of session time, and a last count before the summary. The JSON
stream (``--json``) keeps every event: it is for programs, which count and time them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from treadcoach.coach.events import Event, HeartRateStatus

__all__ = ["REPEAT_WINDOW_S", "HeadlessText"]

REPEAT_WINDOW_S = 60.0
_KMH_PER_MPH = 1.609344
_M_PER_MILE = 1609.344
_M_PER_YARD = 0.9144
# coach.heart_rate.HrSignal values that mean the pulse is not trusted, in words
_HR_TROUBLE = {
    "absent": "no reading yet",
    "stale": "strap stale",
    "no_contact": "strap off the skin",
    "invalid": "no valid reading",
}


@dataclass(slots=True)
class _Repeats:
    printed_at: float  # session time of the last line printed for this kind
    count: int = 0  # repeats since then, not printed
    latest: str = ""


class HeadlessText:
    """One instance per session: it remembers which faults it has already shown."""

    def __init__(self, units: Literal["kmh", "mph"] = "kmh", pause_key: str = "p") -> None:
        self.units = units
        self.pause_key = pause_key
        self._repeats: dict[str, _Repeats] = {}

    def lines(self, event: Event) -> list[str]:
        stamp = f"[{event.t:8.1f}]"
        match event.event:
            case "telemetry":
                return []
            case "fault":
                return [
                    f"{stamp} {line}" for line in self._fault(event.t, event.kind, event.detail)
                ]
            case "segment":
                what = (
                    f"{event.duration_s:.0f} s"
                    if event.duration_s is not None
                    else self.distance(event.distance_m or 0.0)
                )
                text = (
                    f"segment {event.index + 1}/{event.total}: {event.kind.value} "
                    f"{self.speed(event.target_kmh)} for {what}"
                )
            case "cue":
                text = f"  {event.text}"
                if event.text.startswith("Paused"):
                    text += f" -- press {self.pause_key} to resume"
            case "stop":
                text = f"STOP ({event.reason.value}) {event.detail}"
            case "summary":
                done = [f"{stamp} {line}" for line in self._flush()]
                state = "completed" if event.completed else "stopped"
                text = (
                    f"{state}: {event.duration_s / 60:.1f} min, {self.distance(event.distance_m)}, "
                    f"backward {event.backward_s:.0f} s"
                )
                return [*done, f"{stamp} {text}"]
            case "connected":
                text = f"connected to {event.device} ({event.address})"
            case "heart_rate":
                text = self._heart(event)
            case _:
                text = event.model_dump_json()
        return [f"{stamp} {text}"]

    def _heart(self, event: HeartRateStatus) -> str:
        if not event.strap_connected:
            return "heart rate: strap reconnecting"
        trouble = _HR_TROUBLE.get(event.signal)
        if trouble is not None:
            return f"heart rate: {trouble}" + (", holding speed" if event.holding else "")
        text = "heart rate" if event.bpm is None else f"heart rate {event.bpm} bpm"
        if event.above_ceiling:
            limit = "" if event.limit_kmh is None else f", slowing to {self.speed(event.limit_kmh)}"
            return f"{text}: above the ceiling{limit}"
        if event.zone_low_bpm is not None and event.zone_high_bpm is not None:
            text += f", zone {event.zone_low_bpm}-{event.zone_high_bpm}"
            if event.zone_state:
                text += f": {event.zone_state}"
        return text

    def speed(self, kmh: float) -> str:
        return f"{kmh / _KMH_PER_MPH:.1f} mph" if self.units == "mph" else f"{kmh:.1f} km/h"

    def distance(self, metres: float) -> str:
        if self.units != "mph":
            return f"{metres:.0f} m"
        if metres < 0.1 * _M_PER_MILE:
            return f"{metres / _M_PER_YARD:.0f} yd"
        return f"{metres / _M_PER_MILE:.2f} mi"

    def _fault(self, t: float, kind: str, detail: str) -> list[str]:
        seen = self._repeats.get(kind)
        if seen is None:
            self._repeats[kind] = _Repeats(printed_at=t)
            return [f"fault {kind}: {detail}"]
        seen.count += 1
        seen.latest = detail
        if t - seen.printed_at < REPEAT_WINDOW_S:
            return []
        line = self._repeat_line(kind, seen)
        seen.printed_at, seen.count = t, 0
        return [line]

    def _flush(self) -> list[str]:
        out = [self._repeat_line(k, r) for k, r in self._repeats.items() if r.count]
        for repeats in self._repeats.values():
            repeats.count = 0
        return out

    @staticmethod
    def _repeat_line(kind: str, repeats: _Repeats) -> str:
        times = "time" if repeats.count == 1 else "times"
        return (
            f"fault {kind}: {repeats.count} more {times} since {repeats.printed_at:.1f} s "
            f"(latest: {repeats.latest})"
        )
