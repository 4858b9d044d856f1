"""Heart Rate Measurement (0x2A37) and Body Sensor Location (0x2A38) codec.

The byte vectors are written by hand from the GATT Specification Supplement's Heart Rate
Measurement layout (flags u8: bit0 u16 format, bit1 contact status, bit2 contact supported,
bit3 energy expended u16 kJ, bit4 RR-intervals u16 in 1/1024 s), not produced by the encoder.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadcoach.errors import FtmsDecodeError, HeartRateDecodeError, LocalFtmsError
from treadcoach.ftms.heart_rate import (
    BodySensorLocation,
    HeartRateMeasurement,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
    encode_body_sensor_location,
    encode_heart_rate_measurement,
)

M = HeartRateMeasurement

SPEC_VECTORS = [
    # flags 0x00: u8 value, contact not supported, nothing else
    ("00 48", M(72)),
    # flags 0x01: u16 value 0x0122 = 290 bpm (not a person, but the format allows it)
    ("01 22 01", M(290, u16_format=True)),
    # flags 0x06: contact supported and detected
    ("06 8C", M(140, contact=True)),
    # flags 0x04: contact supported, not detected (the strap is off the skin)
    ("04 00", M(0, contact=False)),
    # flags 0x02: status bit without the support bit means "not supported"
    ("02 50", M(80)),
    # flags 0x08: energy expended 0x0190 = 400 kJ
    ("08 64 90 01", M(100, energy_kj=400)),
    # flags 0x10: one RR-interval 0x0400 = 1024/1024 = 1.0 s
    ("10 3C 00 04", M(60, rr_intervals_s=(1.0,))),
    # flags 0x16: contact detected + two RR-intervals 0x0200 (0.5 s) and 0x0300 (0.75 s)
    ("16 78 00 02 00 03", M(120, contact=True, rr_intervals_s=(0.5, 0.75))),
    # flags 0x1F: everything: u16 150 bpm, contact, energy 0xFFFF (saturated), RR 0x0333
    ("1F 96 00 FF FF 33 03", M(150, True, 0xFFFF, (0x0333 / 1024,), u16_format=True)),
    # flags 0x10 with no RR value: the flag set, zero intervals
    ("10 46", M(70, rr_intervals_s=())),
    # a reserved bit (0x20) moves no field: kept, not refused
    ("20 41", M(65, reserved_flags=0x20)),
]


@pytest.mark.parametrize(("hex_bytes", "expected"), SPEC_VECTORS, ids=[v[0] for v in SPEC_VECTORS])
def test_spec_vectors_decode_and_encode_back(
    hex_bytes: str, expected: HeartRateMeasurement
) -> None:
    data = bytes.fromhex(hex_bytes)
    assert decode_heart_rate_measurement(data) == expected
    canonical = data if hex_bytes != "02 50" else bytes.fromhex("00 50")
    assert encode_heart_rate_measurement(expected) == canonical


def test_rr_intervals_in_milliseconds() -> None:
    m = decode_heart_rate_measurement(bytes.fromhex("10 3C 00 02 00 04"))
    assert m.rr_intervals_ms == (500.0, 1000.0)
    assert M(60).rr_intervals_ms == ()


MALFORMED = [
    ("", 0, "Flags"),
    ("00", 1, "Heart Rate u8"),
    ("01 48", 1, "Heart Rate u16"),
    ("08 48 01", 2, "Energy Expended"),
    ("09 48 00 01", 3, "Energy Expended"),
    ("10 48 00 04 01", 4, "RR-Interval"),
    ("00 48 00", 2, "end of the packet"),
    ("08 48 00 00 07", 4, "end of the packet"),
]


@pytest.mark.parametrize(
    ("hex_bytes", "offset", "names"), MALFORMED, ids=[m[0] or "empty" for m in MALFORMED]
)
def test_malformed_measurement_raises_a_decode_error_naming_the_field(
    hex_bytes: str, offset: int, names: str
) -> None:
    with pytest.raises(HeartRateDecodeError) as caught:
        decode_heart_rate_measurement(bytes.fromhex(hex_bytes))
    assert caught.value.offset == offset
    assert names in str(caught.value)
    assert "0x2A37" in str(caught.value)
    assert isinstance(caught.value, FtmsDecodeError)  # one handler serves every bad frame


def test_body_sensor_location_vectors() -> None:
    assert decode_body_sensor_location(b"\x01") is BodySensorLocation.CHEST
    assert decode_body_sensor_location(b"\x06") is BodySensorLocation.FOOT
    assert decode_body_sensor_location(b"\x09") == 9  # reserved: kept as a number
    assert encode_body_sensor_location(BodySensorLocation.WRIST) == b"\x02"
    for bad in (b"", b"\x01\x00"):
        with pytest.raises(HeartRateDecodeError):
            decode_body_sensor_location(bad)
    with pytest.raises(LocalFtmsError):
        encode_body_sensor_location(256)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"heart_rate_bpm": 256},
        {"heart_rate_bpm": -1},
        {"heart_rate_bpm": 70000, "u16_format": True},
        {"heart_rate_bpm": 70, "energy_kj": 65536},
        {"heart_rate_bpm": 70, "reserved_flags": 0x01},
        {"heart_rate_bpm": True},
    ],
)
def test_a_measurement_the_wire_cannot_carry_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalFtmsError):
        HeartRateMeasurement(**kwargs)  # type: ignore[arg-type]


def test_rr_interval_out_of_range_is_refused_when_encoding() -> None:
    with pytest.raises(LocalFtmsError):
        encode_heart_rate_measurement(M(60, rr_intervals_s=(64.0,)))


@st.composite
def measurements(draw: st.DrawFn) -> HeartRateMeasurement:
    u16 = draw(st.booleans())
    return HeartRateMeasurement(
        heart_rate_bpm=draw(st.integers(0, 0xFFFF if u16 else 0xFF)),
        contact=draw(st.none() | st.booleans()),
        energy_kj=draw(st.none() | st.integers(0, 0xFFFF)),
        rr_intervals_s=draw(
            st.none()
            | st.lists(st.integers(0, 0xFFFF).map(lambda r: r / 1024), max_size=9).map(tuple)
        ),
        u16_format=u16,
        reserved_flags=draw(st.sampled_from([0, 0x20, 0x40, 0x80, 0xE0])),
    )


@given(measurements())
def test_measurement_round_trips(m: HeartRateMeasurement) -> None:
    assert decode_heart_rate_measurement(encode_heart_rate_measurement(m)) == m


@given(st.binary(max_size=24))
def test_random_bytes_decode_or_raise_a_decode_error(data: bytes) -> None:
    try:
        m = decode_heart_rate_measurement(data)
    except HeartRateDecodeError:
        return
    assert (
        encode_heart_rate_measurement(m)
        == bytes([data[0] & ~0x02 if not data[0] & 0x04 else data[0]]) + data[1:]
    )


@given(st.binary(max_size=3))
def test_random_bytes_body_sensor_location(data: bytes) -> None:
    try:
        location = decode_body_sensor_location(data)
    except HeartRateDecodeError:
        assert len(data) != 1
        return
    assert encode_body_sensor_location(location) == data
