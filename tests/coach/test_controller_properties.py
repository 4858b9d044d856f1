"""Invariants 1 and 3 on the wire: for any plan and any limits, what the controller actually
writes to the treadmill never exceeds the cap of the segment it is in, and every backward segment
is entered through a turnaround.

Each example runs a whole session (controller, TreadmillLink over bleak, simulator) on virtual
time; the control-point writes are read at bleak's seam, so the link's rounding is included.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import SimTreadmill
from sim.bleak_backend import SimBleakClient, SimBleakScanner
from treadcoach import clock
from treadcoach.coach.controller import SessionConfig, SessionController
from treadcoach.coach.events import Event, SegmentStarted
from treadcoach.coach.kinds import SegmentKind
from treadcoach.coach.plan import Plan, Repeat, Segment
from treadcoach.coach.schedule import Caps, Step, expand
from treadcoach.ftms import uuids
from treadcoach.link import TreadmillLink

MOVING_KINDS = [k for k in SegmentKind if k is not SegmentKind.TURNAROUND]

segments = st.builds(
    Segment,
    kind=st.sampled_from(MOVING_KINDS),
    duration_s=st.floats(min_value=3, max_value=40),
    speed=st.floats(min_value=0.8, max_value=30),
)
entries = st.lists(
    st.one_of(
        segments,
        st.builds(
            Repeat, times=st.integers(1, 3), segments=st.lists(segments, min_size=1, max_size=2)
        ),
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def caps(draw: st.DrawFn) -> Caps:
    max_kmh = draw(st.floats(min_value=3.0, max_value=16.0))
    backward = draw(st.floats(min_value=1.5, max_value=min(max_kmh, 6.0)))
    return Caps(max_kmh=max_kmh, backward_max_kmh=backward, turnaround_kmh=1.0, turnaround_s=5.0)


def _session(steps: list[Step]) -> tuple[list[tuple[int, float]], list[Event]]:
    """Run the steps; return (segment index at the time, km/h) for every speed written."""
    writes: list[tuple[int, float]] = []
    events: list[Event] = []
    current = {"index": -1}

    class WireTap(SimBleakClient):
        async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
            raw = bytes(data)
            if characteristic.uuid == uuids.CONTROL_POINT_UUID and raw[:1] == b"\x02":
                writes.append((current["index"], int.from_bytes(raw[1:3], "little") / 100))
            await super().write_gatt_char(characteristic, data, response)

    def listen(event: Event) -> None:
        events.append(event)
        if isinstance(event, SegmentStarted):
            current["index"] = event.index

    async def scenario() -> None:
        async with SimTreadmill(name="prop") as treadmill:
            controller = SessionController(
                lambda: TreadmillLink(
                    treadmill.address, client_backend=WireTap, scanner_backend=SimBleakScanner
                ),
                steps,
                SessionConfig(plan_name="prop", simulated=True),
            )
            controller.add_listener(listen)
            await controller.run()

    clock.run(scenario(), speedup=math.inf)
    return writes, events


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_entries=entries, limits=caps())
def test_no_speed_written_exceeds_the_cap_of_its_segment(
    plan_entries: list[Segment | Repeat], limits: Caps
) -> None:
    plan = Plan(name="prop", title="prop", units="kmh", segments=plan_entries)
    steps = expand(plan, limits)
    writes, events = _session(steps)
    assert writes, "the belt was never commanded"
    for index, kmh in writes:
        step = steps[index]
        cap = min(limits.max_kmh, step.cap_kmh)
        if step.kind.is_backward or step.kind is SegmentKind.TURNAROUND:
            cap = min(cap, limits.backward_max_kmh)
        assert kmh <= cap + 1e-9, (index, step.kind, kmh, cap)
    started = [e for e in events if isinstance(e, SegmentStarted)]
    for before, seg in itertools.pairwise(started):
        if seg.kind.is_backward and not before.kind.is_backward:
            assert before.kind is SegmentKind.TURNAROUND
        if before.kind.is_backward and not seg.kind.is_backward:
            assert seg.kind is SegmentKind.TURNAROUND
    if started and started[0].kind.is_backward:
        raise AssertionError("a plan may not start walking backward without a turnaround")
