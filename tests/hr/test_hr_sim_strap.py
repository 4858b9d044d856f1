"""The simulated heart-rate strap: its physiology (pure) and its GATT face (through bleak)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from hr_helpers import virtual

from sim.bleak_backend import SimBleakClient, SimBleakScanner
from sim.errors import FaultSpecError
from sim.strap import BACKWARD_HR_FACTOR, HeartModel, SimStrap, StrapFault, parse_strap_fault
from treadcoach import clock
from treadcoach.ftms.heart_rate import (
    BODY_SENSOR_LOCATION_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    BodySensorLocation,
    HeartRateMeasurement,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
)


def settle(
    model: HeartModel, seconds: float, kmh: float, incline: float = 0.0, back: bool = False
) -> float:
    for _ in range(int(seconds)):
        model.advance(1.0, kmh, incline, back)
    return model.heart_rate_bpm


def test_heart_rate_rises_with_speed_and_incline() -> None:
    m = HeartModel()
    assert m.steady_bpm(0, 0, False) == m.rest_bpm
    assert (
        m.rest_bpm
        < m.steady_bpm(3, 0, False)
        < m.steady_bpm(5, 0, False)
        < m.steady_bpm(9, 0, False)
    )
    assert m.steady_bpm(4, 5, False) > m.steady_bpm(4, 0, False)
    assert m.steady_bpm(30, 15, False) == m.max_bpm


@pytest.mark.parametrize("kmh", [2.0, 3.22, 4.0, 4.83])
def test_backward_walking_costs_17_to_20_percent_more_hrmax_at_the_same_speed(kmh: float) -> None:
    m = HeartModel()
    forward, backward = m.steady_bpm(kmh, 0, False), m.steady_bpm(kmh, 0, True)
    ratio = (backward / m.max_bpm) / (forward / m.max_bpm)
    assert 1.17 <= ratio <= 1.20
    assert ratio == pytest.approx(BACKWARD_HR_FACTOR)


def test_pulse_follows_a_first_order_lag_up_and_recovers_more_slowly() -> None:
    m = HeartModel(drift_fraction=0.0)
    steady = m.steady_bpm(4, 0, True)
    after_tau = settle(m, m.tau_up_s, 4, back=True)
    rise = steady - m.rest_bpm
    assert after_tau - m.rest_bpm == pytest.approx(rise * (1 - math.exp(-1)), rel=0.01)
    at_work = settle(m, 600, 4, back=True)
    assert at_work == pytest.approx(steady, abs=0.1)
    after_tau_down = settle(m, m.tau_up_s, 0)  # the same time, resting: recovers less than it rose
    assert at_work - after_tau_down < rise * (1 - math.exp(-1))
    assert settle(m, 900, 0) == pytest.approx(m.rest_bpm, abs=0.5)


def test_cardiovascular_drift_raises_the_pulse_over_a_long_steady_bout() -> None:
    m = HeartModel()
    at_5_min = settle(m, 300, 5)
    at_40_min = settle(m, 2100, 5)
    assert at_40_min > at_5_min + 2
    assert at_40_min <= m.steady_bpm(5, 0, False) * 1.12


def test_strap_fault_specs() -> None:
    assert parse_strap_fault("contact-lost@12.5") == (StrapFault.CONTACT_LOST, 12.5)
    for bad in ("stale", "fire@3", "stale@-1", "stale@x"):
        with pytest.raises(FaultSpecError):
            parse_strap_fault(bad)


@dataclass
class Belt:
    belt_speed_kmh: float = 0.0
    incline_pct: float = 0.0


async def _listen(strap: SimStrap, seconds: float) -> list[HeartRateMeasurement]:
    got: list[bytes] = []

    def on(_: BleakGATTCharacteristic, data: bytearray) -> None:
        got.append(bytes(data))

    async with BleakClient(strap.address, backend=SimBleakClient) as client:
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID, on)
        await asyncio.sleep(seconds)
    return [decode_heart_rate_measurement(p) for p in got]


def test_strap_is_found_by_heart_rate_service_and_notifies_through_bleak() -> None:
    belt = Belt(4.0)

    async def scenario() -> tuple[list[HeartRateMeasurement], bytes, float]:
        async with SimStrap(name="SimHR Test", effort=belt) as strap:
            found = await BleakScanner.find_device_by_filter(
                lambda d, adv: HEART_RATE_SERVICE_UUID in adv.service_uuids,
                timeout=2,
                backend=SimBleakScanner,
            )
            assert found is not None
            assert found.address == strap.address
            async with BleakClient(strap.address, backend=SimBleakClient) as client:
                location = bytes(await client.read_gatt_char(BODY_SENSOR_LOCATION_UUID))
            strap.backward = True
            return await _listen(strap, 120), location, strap.heart_rate_bpm

    packets, location, truth = virtual(scenario)
    assert decode_body_sensor_location(location) is BodySensorLocation.CHEST
    assert 115 <= len(packets) <= 121  # 1 Hz
    assert all(p.contact is True for p in packets)
    assert packets[-1].heart_rate_bpm == pytest.approx(truth, abs=1.5)
    assert packets[-1].heart_rate_bpm > packets[0].heart_rate_bpm + 20  # it worked harder
    beats = [rr for p in packets[-30:] for rr in (p.rr_intervals_s or ())]
    mean_rr = sum(beats) / len(beats)
    assert 60 / mean_rr == pytest.approx(packets[-1].heart_rate_bpm, rel=0.05)


def test_strap_faults_zero_contact_lost_noisy_rr_stale_and_drop() -> None:
    belt = Belt(4.0)

    async def scenario() -> tuple[dict[str, list[HeartRateMeasurement]], list[float]]:
        out: dict[str, list[HeartRateMeasurement]] = {}
        async with SimStrap(effort=belt) as strap:
            await asyncio.sleep(120)
            out["normal"] = await _listen(strap, 20)
            for kind in ("zero", "contact_lost", "noisy_rr", "stale"):
                strap.inject(kind)
                out[kind] = await _listen(strap, 20)  # the mode holds until the link drops
                strap.clear_fault(kind)
            drops: list[float] = []
            async with BleakClient(
                strap.address,
                backend=SimBleakClient,
                disconnected_callback=lambda c: drops.append(clock.now()),
            ):
                strap.inject(StrapFault.DROP)
                await asyncio.sleep(1)
            return out, drops

    out, drops = virtual(scenario)
    assert all(p.heart_rate_bpm > 80 for p in out["normal"])
    assert out["zero"]
    assert all(p.heart_rate_bpm == 0 and p.contact for p in out["zero"])
    assert out["contact_lost"]
    assert all(p.contact is False and not p.rr_intervals_s for p in out["contact_lost"])
    assert out["stale"] == []

    def spread(ps: list[HeartRateMeasurement]) -> float:
        rr = [x for p in ps for x in (p.rr_intervals_s or ())]
        mean = sum(rr) / len(rr)
        return math.sqrt(sum((x - mean) ** 2 for x in rr) / len(rr)) / mean

    assert spread(out["noisy_rr"]) > 3 * spread(out["normal"])
    assert abs(out["noisy_rr"][-1].heart_rate_bpm - out["normal"][-1].heart_rate_bpm) < 5
    assert len(drops) == 1
