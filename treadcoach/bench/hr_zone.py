"""``treadcoach bench hr-zone``: a heart-rate zone steered by the real session, on the simulator.

A whole :class:`~treadcoach.session.Session` as ``treadcoach run --sim --hr sim`` runs it: the
simulated treadmill over bleak's backend seam, the simulated strap whose pulse follows that belt
(walking backward costs more), the strap link, the session controller with the strap as its
``heart=`` port and its governor obeying the zone. One backward-walking segment with an
``hr_zone``; virtual time, so 15 simulated minutes take a second or so.

It prints one JSON line: a row every ``every_s`` seconds (time, belt speed, commanded speed,
pulse, zone state, phase) and what the note of issue 16 asks about -- when the pulse first entered
the zone, the highest pulse after that (overshoot above the zone's top), the highest speed
against the segment's cap, and how often the speed changed direction (oscillation).

    python -m treadcoach.bench.hr_zone      # the same run as a Markdown table
"""

from __future__ import annotations

import asyncio
import itertools
import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from treadcoach import clock
from treadcoach.coach.plan import Plan, parse_plan
from treadcoach.config import Settings, load_settings
from treadcoach.hr_feed import SIM_STRAP
from treadcoach.session import Session, SessionOptions

__all__ = ["ZoneRow", "bench", "markdown", "run_zone", "summarise", "zone_plan"]

ZONE_BPM = (105, 115)
HR_MAX_BPM = 150
START_KMH = 2.0
MINUTES = 15.0
EVERY_S = 30


@dataclass(frozen=True, slots=True)
class ZoneRow:
    t_s: float
    speed_kmh: float  # the belt, as the treadmill reports it
    target_kmh: float | None  # the speed the treadmill was last told (FTMS target)
    bpm: int | None  # the pulse the session trusts (the strap's)
    zone: str | None  # below / in / above
    state: str  # the session's phase (running, holding on a stale strap: "running, holding")


def zone_plan(zone: tuple[int, int], start_kmh: float, minutes: float) -> Plan:
    return parse_plan(
        'name = "hr-zone-bench"\ntitle = "HR zone (bench)"\n'
        f'[[segments]]\nkind = "backward_walk"\nduration = {minutes * 60:g}\n'
        f"speed = {start_kmh:g}\nhr_zone = [{zone[0]}, {zone[1]}]\n",
        "hr-zone-bench.toml",
    )


def _settings(hr_max_bpm: int) -> Settings:
    with tempfile.TemporaryDirectory() as folder:  # the shipped devices only, not the user's
        path = Path(folder) / "devices.toml"
        path.write_text("")
        base = load_settings(path)
    limits = base.limits.model_copy(update={"hr_max_bpm": hr_max_bpm})
    return base.model_copy(update={"hr_strap": SIM_STRAP, "limits": limits})


def run_zone(
    *,
    zone: tuple[int, int] = ZONE_BPM,
    start_kmh: float = START_KMH,
    hr_max_bpm: int = HR_MAX_BPM,
    minutes: float = MINUTES,
) -> tuple[list[ZoneRow], Session]:
    """One session, a row per second of session time; and the session (its summary, caps)."""
    session = Session(
        SessionOptions(
            plan=zone_plan(zone, start_kmh, minutes), sim=True, record=False, handle_signals=False
        ),
        _settings(hr_max_bpm),
    )
    rows: list[ZoneRow] = []

    async def sample(t0: float) -> None:
        loop = asyncio.get_running_loop()
        for n in itertools.count(1):
            await asyncio.sleep(max(0.0, t0 + n - loop.time()))
            s = session.state
            treadmill = session.treadmill
            state = s.phase.value + (", holding" if s.hr_holding else "")
            rows.append(
                ZoneRow(
                    loop.time() - t0,
                    s.speed_kmh,
                    treadmill.target_speed_kmh if treadmill is not None else None,
                    s.heart_rate_bpm,
                    s.hr_zone_state,
                    state,
                )
            )

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            sampler = group.create_task(sample(asyncio.get_running_loop().time()))
            try:
                await session.run()
            finally:
                sampler.cancel()

    clock.run(main(), speedup=math.inf)
    return rows, session


def _reversals(speeds: list[float]) -> int:
    moves = [b - a for a, b in itertools.pairwise(speeds) if abs(b - a) > 1e-9]
    return sum(1 for a, b in itertools.pairwise(moves) if (a > 0) != (b > 0))


def summarise(rows: list[ZoneRow], zone: tuple[int, int], cap_kmh: float) -> dict[str, Any]:
    entered = next((r for r in rows if r.zone == "in"), None)
    after = [r.bpm for r in rows if entered is not None and r.t_s >= entered.t_s and r.bpm]
    # while the plan runs: the stop at its end brings the belt down, which is no hunting
    targets = [
        r.target_kmh for r in rows if r.target_kmh is not None and r.state.startswith("running")
    ]
    return {
        "zone_bpm": list(zone),
        "cap_kmh": cap_kmh,
        "first_in_zone_s": entered.t_s if entered is not None else None,
        "max_bpm_after_entering": max(after) if after else None,
        "overshoot_bpm": max(0, max(after) - zone[1]) if after else None,
        "max_target_kmh": max(targets) if targets else None,
        "speed_reversals": _reversals(targets),
    }


def bench(options: Any) -> dict[str, Any]:
    """``hr-zone``: the numbers above, and the rows every 30 s (``-n``: minutes to run)."""
    minutes = float(options.n) if options.n else MINUTES
    rows, session = run_zone(minutes=minutes)
    summary = session.controller.summary
    cap = session.settings.limits.backward_max_kmh
    return {
        **summarise(rows, ZONE_BPM, cap),
        "minutes": minutes,
        "stop_reason": summary.stop_reason.value if summary and summary.stop_reason else None,
        "rows": [asdict(r) for r in rows if round(r.t_s) % EVERY_S == 0],
    }


def markdown(rows: list[ZoneRow], every_s: int = EVERY_S) -> str:
    lines = [
        "| t (min:s) | belt (km/h) | commanded (km/h) | HR (bpm) | zone | state |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if round(r.t_s) % every_s:
            continue
        m, s = divmod(round(r.t_s), 60)
        target = f"{r.target_kmh:.2f}" if r.target_kmh is not None else "-"
        lines.append(
            f"| {m}:{s:02d} | {r.speed_kmh:.2f} | {target} | {r.bpm if r.bpm else '-'} | "
            f"{r.zone or '-'} | {r.state} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    rows, session = run_zone()
    print(markdown(rows))
    print(summarise(rows, ZONE_BPM, session.settings.limits.backward_max_kmh))
