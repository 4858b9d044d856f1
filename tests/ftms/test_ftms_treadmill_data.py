"""Treadmill Data (0x2ACD), byte by byte, written from the FTMS 1.0 field table.

Each case shows the notification bytes and the record they mean. Flags are little-endian u16;
bit 0 (More Data) is inverted: the speed is present when it is 0.
"""

from __future__ import annotations

import math

import pytest

from treadcoach.errors import FtmsDecodeError, FtmsValueOutOfRange, LocalFtmsError
from treadcoach.ftms import (
    TreadmillData,
    TreadmillDataAssembler,
    decode_treadmill_data,
    encode_treadmill_data,
    split_treadmill_data,
)
from treadcoach.ftms._treadmill_data import _COMPILE_AFTER, _compile, _decode_walk

T = TreadmillData

# (hex bytes, record): decode gives the record and encode gives the bytes back.
EXACT = [
    # bit 0 clear: Instantaneous Speed u16 0.01 km/h (0x0142 = 322 -> 3.22 km/h)
    ("00 00 42 01", T(speed_kmh=3.22)),
    ("00 00 00 00", T(speed_kmh=0.0)),
    ("00 00 ff ff", T(speed_kmh=655.35)),
    # bit 0 set: More Data, no speed
    ("01 00", T(more_data=True)),
    # bit 1: Average Speed u16 0.01 km/h
    ("02 00 42 01 2c 01", T(speed_kmh=3.22, average_speed_kmh=3.0)),
    # bit 2: Total Distance u24 m (0x030201 = 197121 m: the high byte counts)
    ("04 00 42 01 39 30 00", T(speed_kmh=3.22, distance_m=12345)),
    ("04 00 42 01 01 02 03", T(speed_kmh=3.22, distance_m=197121)),
    # bit 3: Inclination s16 0.1 % + Ramp Angle s16 0.1 degree
    ("08 00 00 00 0f 00 f6 ff", T(speed_kmh=0.0, inclination_pct=1.5, ramp_angle_deg=-1.0)),
    ("08 00 00 00 ec ff ff 7f", T(speed_kmh=0.0, inclination_pct=-2.0)),  # ramp n/a 0x7FFF
    ("08 00 00 00 ff 7f 05 00", T(speed_kmh=0.0, ramp_angle_deg=0.5)),  # incline n/a
    # bit 4: Positive + Negative Elevation Gain u16 0.1 m
    (
        "10 00 00 00 7b 00 04 00",
        T(speed_kmh=0.0, positive_elevation_gain_m=12.3, negative_elevation_gain_m=0.4),
    ),
    ("10 00 00 00 7b 00 ff ff", T(speed_kmh=0.0, positive_elevation_gain_m=12.3)),
    # bit 5: Instantaneous Pace u8 0.1 km/min
    ("20 00 00 00 08", T(speed_kmh=0.0, instantaneous_pace_km_per_min=0.8)),
    # bit 6: Average Pace u8 0.1 km/min
    ("40 00 00 00 07", T(speed_kmh=0.0, average_pace_km_per_min=0.7)),
    # bit 7: Total Energy u16 + Energy Per Hour u16 + Energy Per Minute u8 (kcal)
    (
        "80 00 00 00 57 00 36 01 05",
        T(speed_kmh=0.0, energy_kcal=87, energy_per_hour_kcal=310, energy_per_minute_kcal=5),
    ),
    ("80 00 00 00 57 00 ff ff ff", T(speed_kmh=0.0, energy_kcal=87)),  # per hour/min n/a
    ("80 00 00 00 ff ff 36 01 ff", T(speed_kmh=0.0, energy_per_hour_kcal=310)),
    # bit 8: Heart Rate u8 bpm
    ("00 01 00 00 80", T(speed_kmh=0.0, heart_rate_bpm=128)),
    # bit 9: Metabolic Equivalent u8 0.1
    ("00 02 00 00 2d", T(speed_kmh=0.0, met=4.5)),
    # bit 10: Elapsed Time u16 s
    ("00 04 00 00 90 03", T(speed_kmh=0.0, elapsed_s=912)),
    # bit 11: Remaining Time u16 s
    ("00 08 00 00 78 03", T(speed_kmh=0.0, remaining_s=888)),
    # bit 12: Force on Belt s16 N + Power Output s16 W
    ("00 10 00 00 9c ff c8 00", T(speed_kmh=0.0, force_on_belt_n=-100, power_w=200)),
    ("00 10 00 00 ff 7f c8 00", T(speed_kmh=0.0, power_w=200)),  # force n/a
    # a walking pad's usual record: speed + distance + elapsed time
    ("04 04 42 01 9c 01 00 cd 01", T(speed_kmh=3.22, distance_m=412, elapsed_s=461)),
    # More Data fragment with fields but no speed
    ("05 04 39 30 00 90 03", T(more_data=True, distance_m=12345, elapsed_s=912)),
    # every field (flags 0x1FFE: bits 1-12 set, bit 0 clear)
    (
        "fe 1f e3 01 9a 01 d2 04 00 0f 00 09 00 7b 00 00 00 08 07"
        " 57 00 36 01 05 83 2d 90 03 78 03 e8 03 50 00",
        T(
            speed_kmh=4.83,
            average_speed_kmh=4.1,
            distance_m=1234,
            inclination_pct=1.5,
            ramp_angle_deg=0.9,
            positive_elevation_gain_m=12.3,
            negative_elevation_gain_m=0.0,
            instantaneous_pace_km_per_min=0.8,
            average_pace_km_per_min=0.7,
            energy_kcal=87,
            energy_per_hour_kcal=310,
            energy_per_minute_kcal=5,
            heart_rate_bpm=131,
            met=4.5,
            elapsed_s=912,
            remaining_s=888,
            force_on_belt_n=1000,
            power_w=80,
        ),
    ),
    # trailing vendor bytes are kept, not an error
    ("00 00 42 01 aa bb", T(speed_kmh=3.22, extra=b"\xaa\xbb")),
    # reserved bit 13 (a u24 step count on some machines) rides in extra with its flag
    ("00 20 42 01 10 27 00", T(speed_kmh=3.22, reserved_flags=0x2000, extra=b"\x10\x27\x00")),
]


@pytest.mark.parametrize(("hex_bytes", "record"), EXACT)
def test_treadmill_data_decodes_to_the_record(hex_bytes: str, record: TreadmillData) -> None:
    assert decode_treadmill_data(bytes.fromhex(hex_bytes)) == record


@pytest.mark.parametrize(("hex_bytes", "record"), EXACT)
def test_treadmill_data_encodes_to_the_bytes(hex_bytes: str, record: TreadmillData) -> None:
    assert encode_treadmill_data(record).hex(" ") == hex_bytes


@pytest.mark.parametrize(("hex_bytes", "record"), EXACT)
def test_compiled_decoder_matches_the_field_walk(hex_bytes: str, record: TreadmillData) -> None:
    # The first packets of a flags value go through the field walk, later ones through a decoder
    # compiled for that value: both must give the same record.
    data = bytes.fromhex(hex_bytes)
    flags = data[0] | data[1] << 8
    assert _decode_walk(data, flags) == record
    assert _compile(flags)(data) == record
    repeats = _COMPILE_AFTER + 2
    assert [decode_treadmill_data(data) for _ in range(repeats)] == [record] * repeats


def test_group_with_every_member_unavailable_decodes_to_nothing() -> None:
    # bit 7 set but all three energy fields 0xFFFF/0xFFFF/0xFF: the machine has no energy data
    data = bytes.fromhex("80 00 00 00 ff ff ff ff ff")
    assert decode_treadmill_data(data) == T(speed_kmh=0.0)


def test_real_capture_with_reserved_step_count_bit_keeps_every_known_field() -> None:
    # hassio-ftms issue #3 (via pyftms tests): flags 0x259C = bits 2,3,4,7,8,10 + reserved 13;
    # 21 bytes of known fields, then a u24 step count under the reserved bit.
    data = bytes.fromhex("9c25") + bytes(24)
    assert decode_treadmill_data(data) == T(
        speed_kmh=0.0,
        distance_m=0,
        inclination_pct=0.0,
        ramp_angle_deg=0.0,
        positive_elevation_gain_m=0.0,
        negative_elevation_gain_m=0.0,
        energy_kcal=0,
        energy_per_hour_kcal=0,
        energy_per_minute_kcal=0,
        heart_rate_bpm=0,
        elapsed_s=0,
        reserved_flags=0x2000,
        extra=bytes(3),
    )


def test_decode_accepts_bytearray_and_memoryview() -> None:
    # bleak hands notifications over as bytearray
    for data in (bytearray(b"\x00\x00\x42\x01"), memoryview(b"\x00\x00\x42\x01")):
        assert decode_treadmill_data(data) == T(speed_kmh=3.22)  # type: ignore[arg-type]


# --- truncation -------------------------------------------------------------------------------

FULL = bytes.fromhex(EXACT[-3][0])
# Where each field of the full packet starts; a prefix ending inside a field fails there.
FULL_FIELD_STARTS = [
    (2, "Instantaneous Speed"),
    (4, "Average Speed"),
    (6, "Total Distance"),
    (9, "Inclination"),
    (11, "Ramp Angle Setting"),
    (13, "Positive Elevation Gain"),
    (15, "Negative Elevation Gain"),
    (17, "Instantaneous Pace"),
    (18, "Average Pace"),
    (19, "Total Energy"),
    (21, "Energy Per Hour"),
    (23, "Energy Per Minute"),
    (24, "Heart Rate"),
    (25, "Metabolic Equivalent"),
    (26, "Elapsed Time"),
    (28, "Remaining Time"),
    (30, "Force on Belt"),
    (32, "Power Output"),
]


def _expected_failure(length: int) -> tuple[int, str]:
    if length < 2:
        return 0, "Flags"
    ends = [*(start for start, _ in FULL_FIELD_STARTS[1:]), len(FULL)]
    for (start, label), end in zip(FULL_FIELD_STARTS, ends, strict=True):
        if length < end:
            return start, label
    raise AssertionError(length)


@pytest.mark.parametrize("length", range(len(FULL)))
def test_truncated_packet_names_the_offset_and_field(length: int) -> None:
    offset, label = _expected_failure(length)
    decoders = [decode_treadmill_data]
    if length >= 2:  # the compiled decoder runs once the flags were read
        decoders.append(_compile(0x1FFE))
    for decode in decoders:
        with pytest.raises(FtmsDecodeError) as caught:
            decode(FULL[:length])
        assert caught.value.characteristic == "Treadmill Data (0x2ACD)"
        assert caught.value.offset == offset
        assert label in caught.value.expected
        assert f"at byte {offset}" in str(caught.value)


def test_empty_notification_is_a_decode_error_not_an_index_error() -> None:
    with pytest.raises(
        FtmsDecodeError, match=r"Treadmill Data \(0x2ACD\): at byte 0 expected Flags"
    ):
        decode_treadmill_data(b"")


def test_decode_error_is_a_value_error_for_callers_that_catch_those() -> None:
    with pytest.raises(ValueError, match="Treadmill Data"):
        decode_treadmill_data(b"\x00")


# --- encoder range checks and rounding --------------------------------------------------------

REJECTED = [
    T(speed_kmh=-0.01),
    T(speed_kmh=655.36),
    T(speed_kmh=math.nan),
    T(speed_kmh=math.inf),
    T(speed_kmh=-math.inf),
    T(speed_kmh=1.0, average_speed_kmh=-1.0),
    T(speed_kmh=1.0, distance_m=-1),
    T(speed_kmh=1.0, distance_m=0x1000000),
    T(speed_kmh=1.0, inclination_pct=-3276.9),
    T(speed_kmh=1.0, inclination_pct=3276.7),  # 0x7FFF means "not available"
    T(speed_kmh=1.0, positive_elevation_gain_m=6553.5),  # 0xFFFF means "not available"
    T(speed_kmh=1.0, instantaneous_pace_km_per_min=25.6),
    T(speed_kmh=1.0, energy_kcal=65535),  # 0xFFFF means "not available"
    T(speed_kmh=1.0, energy_per_minute_kcal=255),  # 0xFF means "not available"
    T(speed_kmh=1.0, heart_rate_bpm=256),
    T(speed_kmh=1.0, met=-0.1),
    T(speed_kmh=1.0, elapsed_s=65536),
    T(speed_kmh=1.0, remaining_s=-1),
    T(speed_kmh=1.0, force_on_belt_n=-32769),
    T(speed_kmh=1.0, power_w=32767),  # 0x7FFF means "not available"
]


@pytest.mark.parametrize("record", REJECTED)
def test_encoder_refuses_values_the_wire_cannot_carry(record: TreadmillData) -> None:
    with pytest.raises(FtmsValueOutOfRange) as caught:
        encode_treadmill_data(record)
    assert caught.value.field in str(caught.value)
    assert isinstance(caught.value, LocalFtmsError)


def test_out_of_range_error_names_field_value_and_range() -> None:
    with pytest.raises(LocalFtmsError) as caught:
        encode_treadmill_data(T(speed_kmh=700.0))
    assert str(caught.value) == (
        "speed_kmh = 700.0 cannot be sent over FTMS: "
        "it must be a finite number from 0 to 655.35 km/h."
    )


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (T(), "speed_kmh=None"),  # complete record without speed
        (T(distance_m=5), "speed_kmh=None"),
        (T(speed_kmh=1.0, more_data=True), "more_data=True"),  # fragments carry no speed
        (T(speed_kmh=1.0, reserved_flags=0x0001), "reserved_flags"),
    ],
)
def test_encoder_refuses_records_whose_flags_would_lie(record: TreadmillData, reason: str) -> None:
    with pytest.raises(LocalFtmsError, match=reason):
        encode_treadmill_data(record)


@pytest.mark.parametrize(
    ("speed_kmh", "wire"),
    [
        (3.22, "42 01"),
        (1.005, "65 00"),  # 100.5 steps: half rounds up (binary 1.005 is 1.00499999...)
        (3.445, "59 01"),  # 344.5 -> 345 (Python's round() would give 344)
        (3.455, "5a 01"),  # 345.5 -> 346
        (4.828032, "e3 01"),  # 3 mph -> 4.83 km/h
        (0.004, "00 00"),
        (0.005, "01 00"),
        (655.35, "ff ff"),
    ],
)
def test_speed_rounds_to_nearest_hundredth_halves_up(speed_kmh: float, wire: str) -> None:
    assert encode_treadmill_data(T(speed_kmh=speed_kmh))[2:].hex(" ") == wire


@pytest.mark.parametrize(
    ("incline_pct", "wire"),
    [(-0.25, "fd ff"), (-0.24, "fe ff"), (0.25, "03 00"), (-3276.8, "00 80")],
)
def test_incline_rounds_halves_away_from_zero(incline_pct: float, wire: str) -> None:
    encoded = encode_treadmill_data(T(speed_kmh=0.0, inclination_pct=incline_pct))
    assert encoded[4:6].hex(" ") == wire


# --- More Data reassembly ---------------------------------------------------------------------


def test_assembler_returns_a_complete_packet_at_once() -> None:
    assembler = TreadmillDataAssembler()
    assert assembler.feed(bytes.fromhex("00 00 42 01")) == T(speed_kmh=3.22)
    assert assembler.pending_fragments == 0


def test_assembler_merges_fragments_until_the_packet_with_speed() -> None:
    assembler = TreadmillDataAssembler()
    assert assembler.feed(bytes.fromhex("05 04 39 30 00 90 03")) is None  # distance + elapsed
    assert assembler.feed(bytes.fromhex("01 01 80")) is None  # heart rate
    assert assembler.pending_fragments == 2
    merged = assembler.feed(bytes.fromhex("00 02 42 01 2d"))  # speed + MET, More Data clear
    assert merged == T(speed_kmh=3.22, distance_m=12345, elapsed_s=912, heart_rate_bpm=128, met=4.5)
    assert assembler.pending_fragments == 0
    assert assembler.feed(bytes.fromhex("00 00 42 01")) == T(speed_kmh=3.22)


def test_assembler_later_fragment_wins_and_extras_concatenate() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(bytes.fromhex("01 01 78 aa"))  # heart rate 120, vendor byte aa
    merged = assembler.feed(bytes.fromhex("00 21 42 01 80 bb"))  # heart rate 128, reserved bit 13
    assert merged == T(speed_kmh=3.22, heart_rate_bpm=128, extra=b"\xaa\xbb", reserved_flags=0x2000)


def test_assembler_drops_a_partial_record_that_never_completes() -> None:
    assembler = TreadmillDataAssembler(max_fragments=2)
    assembler.feed(bytes.fromhex("05 00 39 30 00"))  # distance
    assembler.feed(bytes.fromhex("01 04 90 03"))  # elapsed
    assembler.feed(bytes.fromhex("01 01 80"))  # third fragment: the first two are dropped
    assert assembler.pending_fragments == 1
    assert assembler.feed(bytes.fromhex("00 00 42 01")) == T(speed_kmh=3.22, heart_rate_bpm=128)


def test_assembler_keeps_the_partial_record_across_a_malformed_packet() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(bytes.fromhex("05 00 39 30 00"))
    with pytest.raises(FtmsDecodeError):
        assembler.feed(bytes.fromhex("00 01 42"))  # speed cut short
    assert assembler.feed(bytes.fromhex("00 00 42 01")) == T(speed_kmh=3.22, distance_m=12345)


def test_assembler_reset_forgets_pending_fragments() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(bytes.fromhex("05 00 39 30 00"))
    assembler.reset()
    assert assembler.feed(bytes.fromhex("00 00 42 01")) == T(speed_kmh=3.22)


# --- splitting (server side) ------------------------------------------------------------------

BIG = T(
    speed_kmh=3.22,
    average_speed_kmh=3.0,
    distance_m=1234,
    inclination_pct=-1.5,
    positive_elevation_gain_m=1.2,
    negative_elevation_gain_m=0.4,
    instantaneous_pace_km_per_min=0.5,
    average_pace_km_per_min=0.4,
    energy_kcal=100,
    energy_per_hour_kcal=300,
    energy_per_minute_kcal=5,
    heart_rate_bpm=120,
    met=3.5,
    elapsed_s=600,
    remaining_s=300,
    force_on_belt_n=-5,
    power_w=80,
)


def test_split_packs_groups_in_order_and_puts_speed_last() -> None:
    assert [p.hex(" ") for p in split_treadmill_data(BIG)] == [
        # More Data + bits 1-6: avg speed, distance, incline (ramp n/a), elevation, paces
        "7f 00 2c 01 d2 04 00 f1 ff ff 7f 0c 00 04 00 05 04",
        # bits 7-12 + speed: energy, heart rate, MET, elapsed, remaining, force/power
        "80 1f 42 01 64 00 2c 01 05 78 23 58 02 2c 01 fb ff 50 00",
    ]


def test_split_fragments_reassemble_to_the_record() -> None:
    for max_len in (7, 8, 11, 20, 23, 64):
        packets = split_treadmill_data(BIG, max_len=max_len)
        assert all(len(p) <= max_len for p in packets)
        assert [p[0] & 1 for p in packets] == [1] * (len(packets) - 1) + [0]
        assembler = TreadmillDataAssembler()
        assert [assembler.feed(p) for p in packets][-1] == BIG


def test_split_returns_a_record_that_fits_as_one_packet() -> None:
    record = T(speed_kmh=3.22, distance_m=412, elapsed_s=461)
    assert split_treadmill_data(record) == [encode_treadmill_data(record)]


def test_split_carries_vendor_bytes_in_the_last_packet() -> None:
    record = BIG.__class__(**{**_as_kwargs(BIG), "extra": b"\x01\x02"})
    packets = split_treadmill_data(record)
    assert packets[-1].endswith(b"\x01\x02")
    assembler = TreadmillDataAssembler()
    assert [assembler.feed(p) for p in packets][-1] == record


def test_split_refuses_a_max_len_that_cannot_hold_a_group() -> None:
    with pytest.raises(LocalFtmsError, match="max_len = 6"):
        split_treadmill_data(BIG, max_len=6)  # the energy group needs 2 + 5 bytes


def test_split_refuses_a_fragment() -> None:
    with pytest.raises(LocalFtmsError, match="whole record"):
        split_treadmill_data(T(distance_m=5, more_data=True))


def _as_kwargs(record: TreadmillData) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
