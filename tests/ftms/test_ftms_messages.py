"""Every other FTMS characteristic, byte by byte, written from the FTMS 1.0 reference.

Fitness Machine Feature 0x2ACC, Supported Speed Range 0x2AD4, Supported Inclination Range 0x2AD5,
Training Status 0x2AD3, Fitness Machine Status 0x2ADA, Control Point 0x2AD9 (requests and
responses) and the advertisement service data. Each case shows its bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from treadcoach.errors import FtmsDecodeError, FtmsValueOutOfRange, LocalFtmsError
from treadcoach.ftms import (
    ControlResponse,
    FtmsServiceData,
    InclinationRange,
    MachineFeature,
    MachineFeatures,
    MachineStatus,
    MachineStatusOp,
    MachineType,
    OpCode,
    RequestControl,
    Reset,
    ResultCode,
    SetTargetInclination,
    SetTargetSpeed,
    SpeedRange,
    StartResume,
    StopPause,
    StopPauseParam,
    TargetSettingFeature,
    TrainingStatus,
    TrainingStatusCode,
    UnsupportedRequest,
    decode_control_request,
    decode_control_response,
    decode_inclination_range,
    decode_machine_features,
    decode_machine_status,
    decode_service_data,
    decode_speed_range,
    decode_training_status,
    encode_control_request,
    encode_control_response,
    encode_inclination_range,
    encode_machine_features,
    encode_machine_status,
    encode_service_data,
    encode_speed_range,
    encode_training_status,
    uuids,
)


def b(hex_bytes: str) -> bytes:
    return bytes.fromhex(hex_bytes)


# --- UUIDs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constant", "expected"),
    [
        (uuids.FTMS_SERVICE_UUID, "00001826-0000-1000-8000-00805f9b34fb"),
        (uuids.FEATURE_UUID, "00002acc-0000-1000-8000-00805f9b34fb"),
        (uuids.TREADMILL_DATA_UUID, "00002acd-0000-1000-8000-00805f9b34fb"),
        (uuids.TRAINING_STATUS_UUID, "00002ad3-0000-1000-8000-00805f9b34fb"),
        (uuids.SPEED_RANGE_UUID, "00002ad4-0000-1000-8000-00805f9b34fb"),
        (uuids.INCLINATION_RANGE_UUID, "00002ad5-0000-1000-8000-00805f9b34fb"),
        (uuids.CONTROL_POINT_UUID, "00002ad9-0000-1000-8000-00805f9b34fb"),
        (uuids.MACHINE_STATUS_UUID, "00002ada-0000-1000-8000-00805f9b34fb"),
        (uuids.DEVICE_INFORMATION_SERVICE_UUID, "0000180a-0000-1000-8000-00805f9b34fb"),
        (uuids.MANUFACTURER_NAME_UUID, "00002a29-0000-1000-8000-00805f9b34fb"),
        (uuids.MODEL_NUMBER_UUID, "00002a24-0000-1000-8000-00805f9b34fb"),
        (uuids.SERIAL_NUMBER_UUID, "00002a25-0000-1000-8000-00805f9b34fb"),
        (uuids.FIRMWARE_REVISION_UUID, "00002a26-0000-1000-8000-00805f9b34fb"),
    ],
)
def test_uuids_are_full_lowercase_bluetooth_base_uuids(constant: str, expected: str) -> None:
    assert constant == expected


@pytest.mark.parametrize("short", [-1, 0x10000])
def test_uuid16_refuses_numbers_beyond_16_bits(short: int) -> None:
    with pytest.raises(LocalFtmsError):
        uuids.uuid16(short)


# --- Fitness Machine Feature 0x2ACC -----------------------------------------------------------

MACHINE_FEATURE_BITS = [
    ("AVERAGE_SPEED", 0),
    ("CADENCE", 1),
    ("TOTAL_DISTANCE", 2),
    ("INCLINATION", 3),
    ("ELEVATION_GAIN", 4),
    ("PACE", 5),
    ("STEP_COUNT", 6),
    ("RESISTANCE_LEVEL", 7),
    ("STRIDE_COUNT", 8),
    ("EXPENDED_ENERGY", 9),
    ("HEART_RATE_MEASUREMENT", 10),
    ("METABOLIC_EQUIVALENT", 11),
    ("ELAPSED_TIME", 12),
    ("REMAINING_TIME", 13),
    ("POWER_MEASUREMENT", 14),
    ("FORCE_ON_BELT_AND_POWER_OUTPUT", 15),
    ("USER_DATA_RETENTION", 16),
]
TARGET_SETTING_BITS = [
    ("SPEED_TARGET", 0),
    ("INCLINATION_TARGET", 1),
    ("RESISTANCE_TARGET", 2),
    ("POWER_TARGET", 3),
    ("HEART_RATE_TARGET", 4),
    ("TARGETED_EXPENDED_ENERGY", 5),
    ("TARGETED_STEP_NUMBER", 6),
    ("TARGETED_STRIDE_NUMBER", 7),
    ("TARGETED_DISTANCE", 8),
    ("TARGETED_TRAINING_TIME", 9),
    ("TARGETED_TIME_IN_TWO_HR_ZONES", 10),
    ("TARGETED_TIME_IN_THREE_HR_ZONES", 11),
    ("TARGETED_TIME_IN_FIVE_HR_ZONES", 12),
    ("INDOOR_BIKE_SIMULATION", 13),
    ("WHEEL_CIRCUMFERENCE", 14),
    ("SPIN_DOWN_CONTROL", 15),
    ("TARGETED_CADENCE", 16),
]


@pytest.mark.parametrize(("name", "bit"), MACHINE_FEATURE_BITS)
def test_machine_feature_bit(name: str, bit: int) -> None:
    data = (1 << bit).to_bytes(4, "little") + b"\x00\x00\x00\x00"
    features = MachineFeatures(MachineFeature[name], TargetSettingFeature(0))
    assert decode_machine_features(data) == features
    assert encode_machine_features(features) == data


@pytest.mark.parametrize(("name", "bit"), TARGET_SETTING_BITS)
def test_target_setting_feature_bit(name: str, bit: int) -> None:
    data = b"\x00\x00\x00\x00" + (1 << bit).to_bytes(4, "little")
    features = MachineFeatures(MachineFeature(0), TargetSettingFeature[name])
    assert decode_machine_features(data) == features
    assert encode_machine_features(features) == data


def test_typical_treadmill_features() -> None:
    # avg speed, distance, inclination, energy, heart rate, elapsed time; speed + incline targets
    data = b("0d 16 00 00 03 00 00 00")
    features = decode_machine_features(data)
    assert features.machine == (
        MachineFeature.AVERAGE_SPEED
        | MachineFeature.TOTAL_DISTANCE
        | MachineFeature.INCLINATION
        | MachineFeature.EXPENDED_ENERGY
        | MachineFeature.HEART_RATE_MEASUREMENT
        | MachineFeature.ELAPSED_TIME
    )
    assert features.target_setting == (
        TargetSettingFeature.SPEED_TARGET | TargetSettingFeature.INCLINATION_TARGET
    )
    assert encode_machine_features(features) == data


def test_unknown_feature_bits_are_kept() -> None:
    data = b("00 00 00 80 00 00 02 00")
    features = decode_machine_features(data)
    assert int(features.machine) == 0x80000000
    assert int(features.target_setting) == 0x00020000
    assert encode_machine_features(features) == data


# --- ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_bytes", "speed_range"),
    [
        ("64 00 80 07 0a 00", SpeedRange(1.0, 19.2, 0.1)),
        ("50 00 26 02 20 00", SpeedRange(0.8, 5.5, 0.32)),  # walking pad, 0.2 mph steps
        ("00 00 ff ff 01 00", SpeedRange(0.0, 655.35, 0.01)),
    ],
)
def test_speed_range(hex_bytes: str, speed_range: SpeedRange) -> None:
    assert decode_speed_range(b(hex_bytes)) == speed_range
    assert encode_speed_range(speed_range) == b(hex_bytes)


@pytest.mark.parametrize(
    ("hex_bytes", "incline_range"),
    [
        ("ce ff 96 00 05 00", InclinationRange(-5.0, 15.0, 0.5)),
        ("00 00 96 00 0a 00", InclinationRange(0.0, 15.0, 1.0)),
        ("00 80 ff 7f ff ff", InclinationRange(-3276.8, 3276.7, 6553.5)),
    ],
)
def test_inclination_range(hex_bytes: str, incline_range: InclinationRange) -> None:
    assert decode_inclination_range(b(hex_bytes)) == incline_range
    assert encode_inclination_range(incline_range) == b(hex_bytes)


def test_ranges_ignore_bytes_after_the_fixed_fields() -> None:
    assert decode_speed_range(b("64 00 80 07 0a 00 ee")) == SpeedRange(1.0, 19.2, 0.1)
    assert decode_inclination_range(b("ce ff 96 00 05 00 ee")) == InclinationRange(-5.0, 15.0, 0.5)


@pytest.mark.parametrize(
    ("decode", "hex_bytes", "characteristic"),
    [
        (decode_speed_range, "80 07 64 00 0a 00", "Supported Speed Range (0x2AD4)"),
        (decode_inclination_range, "96 00 ce ff 05 00", "Supported Inclination Range (0x2AD5)"),
    ],
)
def test_range_with_maximum_below_minimum_is_refused(
    decode: Callable[[bytes], Any], hex_bytes: str, characteristic: str
) -> None:
    with pytest.raises(FtmsDecodeError) as caught:
        decode(b(hex_bytes))
    assert caught.value.characteristic == characteristic
    assert caught.value.offset == 2


@pytest.mark.parametrize(
    "bad",
    [
        SpeedRange(-0.1, 10.0, 0.1),
        SpeedRange(1.0, 700.0, 0.1),
        SpeedRange(1.0, 10.0, math.nan),
    ],
)
def test_speed_range_encoder_refuses_out_of_range(bad: SpeedRange) -> None:
    with pytest.raises(FtmsValueOutOfRange):
        encode_speed_range(bad)


def test_range_encoders_refuse_maximum_below_minimum() -> None:
    with pytest.raises(LocalFtmsError, match="below"):
        encode_speed_range(SpeedRange(10.0, 1.0, 0.1))
    with pytest.raises(LocalFtmsError, match="below"):
        encode_inclination_range(InclinationRange(5.0, -5.0, 0.5))


# --- Training Status 0x2AD3 -------------------------------------------------------------------

TRAINING_STATUS_CODES = [
    (0x00, "OTHER"),
    (0x01, "IDLE"),
    (0x02, "WARMING_UP"),
    (0x03, "LOW_INTENSITY_INTERVAL"),
    (0x04, "HIGH_INTENSITY_INTERVAL"),
    (0x05, "RECOVERY_INTERVAL"),
    (0x06, "ISOMETRIC"),
    (0x07, "HEART_RATE_CONTROL"),
    (0x08, "FITNESS_TEST"),
    (0x09, "SPEED_OUTSIDE_CONTROL_REGION_LOW"),
    (0x0A, "SPEED_OUTSIDE_CONTROL_REGION_HIGH"),
    (0x0B, "COOL_DOWN"),
    (0x0C, "WATT_CONTROL"),
    (0x0D, "MANUAL_MODE"),
    (0x0E, "PRE_WORKOUT"),
    (0x0F, "POST_WORKOUT"),
]


@pytest.mark.parametrize(("code", "name"), TRAINING_STATUS_CODES)
def test_training_status_code(code: int, name: str) -> None:
    data = bytes((0x00, code))
    status = TrainingStatus(TrainingStatusCode[name])
    assert decode_training_status(data) == status
    assert encode_training_status(status) == data


@pytest.mark.parametrize(
    ("hex_bytes", "status"),
    [
        ("01 0d 51 75 69 63 6b", TrainingStatus(TrainingStatusCode.MANUAL_MODE, "Quick")),
        ("01 01", TrainingStatus(TrainingStatusCode.IDLE, "")),
        ("00 2a", TrainingStatus(0x2A)),  # unknown code: kept as an int
    ],
)
def test_training_status_text_and_unknown_code(hex_bytes: str, status: TrainingStatus) -> None:
    assert decode_training_status(b(hex_bytes)) == status
    assert encode_training_status(status) == b(hex_bytes)


def test_training_status_with_invalid_utf8_text_still_decodes() -> None:
    assert decode_training_status(b("01 02 ff")) == TrainingStatus(
        TrainingStatusCode.WARMING_UP, "\ufffd"
    )


def test_training_status_without_string_flag_ignores_trailing_bytes() -> None:
    assert decode_training_status(b("00 01 41")) == TrainingStatus(TrainingStatusCode.IDLE)


@pytest.mark.parametrize(("hex_bytes", "offset"), [("", 0), ("01", 1)])
def test_truncated_training_status(hex_bytes: str, offset: int) -> None:
    with pytest.raises(FtmsDecodeError) as caught:
        decode_training_status(b(hex_bytes))
    assert (caught.value.characteristic, caught.value.offset) == (
        "Training Status (0x2AD3)",
        offset,
    )


# --- Fitness Machine Status 0x2ADA ------------------------------------------------------------

M = MachineStatus
MACHINE_STATUS = [
    ("01", M(MachineStatusOp.RESET)),
    ("02 01", M(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, stop_pause=StopPauseParam.STOP)),
    ("02 02", M(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, stop_pause=StopPauseParam.PAUSE)),
    ("03", M(MachineStatusOp.STOPPED_BY_SAFETY_KEY)),
    ("04", M(MachineStatusOp.STARTED_OR_RESUMED_BY_USER)),
    ("05 2c 01", M(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=3.0)),
    ("05 e3 01", M(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=4.83)),
    ("06 ec ff", M(MachineStatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=-2.0)),
    ("06 0f 00", M(MachineStatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=1.5)),
    ("ff", M(MachineStatusOp.CONTROL_PERMISSION_LOST)),
    # other spec opcodes: parameters kept raw
    ("07 0a", M(MachineStatusOp.TARGET_RESISTANCE_LEVEL_CHANGED, params=b"\x0a")),
    ("14 01", M(MachineStatusOp.SPIN_DOWN_STATUS, params=b"\x01")),
    # unknown opcode: kept as an int with its raw parameters
    ("42 01 02", M(0x42, params=b"\x01\x02")),
    # stop/pause without (or with an unknown) parameter: still "stopped or paused"
    ("02", M(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER)),
    ("02 07", M(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, params=b"\x07")),
    # bytes after a parsed parameter are kept
    ("05 2c 01 99", M(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=3.0, params=b"\x99")),
]


@pytest.mark.parametrize(("hex_bytes", "status"), MACHINE_STATUS)
def test_machine_status(hex_bytes: str, status: MachineStatus) -> None:
    assert decode_machine_status(b(hex_bytes)) == status
    assert encode_machine_status(status) == b(hex_bytes)


@pytest.mark.parametrize(("hex_bytes", "offset"), [("", 0), ("05", 1), ("05 2c", 1), ("06 ec", 1)])
def test_truncated_machine_status(hex_bytes: str, offset: int) -> None:
    with pytest.raises(FtmsDecodeError) as caught:
        decode_machine_status(b(hex_bytes))
    assert caught.value.characteristic == "Fitness Machine Status (0x2ADA)"
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    "bad",
    [
        M(MachineStatusOp.TARGET_SPEED_CHANGED),  # speed missing
        M(MachineStatusOp.TARGET_INCLINE_CHANGED),  # incline missing
        M(MachineStatusOp.RESET, target_speed_kmh=3.0),  # parameter of another op
        M(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=-1.0),
        M(MachineStatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=4000.0),
        M(0x100),
    ],
)
def test_machine_status_encoder_refuses_inconsistent_values(bad: MachineStatus) -> None:
    with pytest.raises(LocalFtmsError):
        encode_machine_status(bad)


# --- Control Point 0x2AD9: requests -----------------------------------------------------------

REQUESTS = [
    ("00", RequestControl()),
    ("01", Reset()),
    ("02 42 01", SetTargetSpeed(3.22)),
    ("02 e3 01", SetTargetSpeed(4.83)),
    ("02 00 00", SetTargetSpeed(0.0)),
    ("03 0f 00", SetTargetInclination(1.5)),
    ("03 f6 ff", SetTargetInclination(-1.0)),
    ("07", StartResume()),
    ("08 01", StopPause(StopPauseParam.STOP)),
    ("08 02", StopPause(StopPauseParam.PAUSE)),
]


@pytest.mark.parametrize(("hex_bytes", "request_"), REQUESTS)
def test_control_request(hex_bytes: str, request_: Any) -> None:
    assert encode_control_request(request_) == b(hex_bytes)
    assert decode_control_request(b(hex_bytes)) == request_
    assert request_.opcode == b(hex_bytes)[0]


@pytest.mark.parametrize(
    ("hex_bytes", "unsupported"),
    [
        ("04 10", UnsupportedRequest(0x04, b"\x10")),  # target resistance level
        ("05 c8 00", UnsupportedRequest(0x05, b"\xc8\x00")),  # target power
        ("13 01", UnsupportedRequest(0x13, b"\x01")),  # spin down
        ("80", UnsupportedRequest(0x80)),
        ("fe", UnsupportedRequest(0xFE)),
    ],
)
def test_unimplemented_opcode_is_a_value_for_a_not_supported_answer(
    hex_bytes: str, unsupported: UnsupportedRequest
) -> None:
    assert decode_control_request(b(hex_bytes)) == unsupported
    assert encode_control_request(unsupported) == b(hex_bytes)


@pytest.mark.parametrize(
    ("hex_bytes", "offset"),
    [
        ("", 0),
        ("00 00", 1),  # Request Control takes no parameter
        ("02", 1),  # speed missing
        ("02 42", 1),  # speed cut short
        ("02 42 01 00", 3),  # a byte too many
        ("03 0f", 1),
        ("08", 1),  # stop/pause parameter missing
        ("08 03", 1),  # neither stop nor pause
        ("08 00", 1),
        ("08 01 01", 2),
        ("07 01", 1),
    ],
)
def test_malformed_request_is_a_decode_error_for_an_invalid_parameter_answer(
    hex_bytes: str, offset: int
) -> None:
    with pytest.raises(FtmsDecodeError) as caught:
        decode_control_request(b(hex_bytes))
    assert caught.value.characteristic == "Fitness Machine Control Point (0x2AD9)"
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    "build",
    [
        lambda: SetTargetSpeed(-0.01),
        lambda: SetTargetSpeed(655.36),
        lambda: SetTargetSpeed(math.nan),
        lambda: SetTargetSpeed(math.inf),
        lambda: SetTargetInclination(-3276.9),
        lambda: SetTargetInclination(3276.8),
        lambda: SetTargetInclination(-math.inf),
    ],
)
def test_requests_with_values_the_wire_cannot_carry_cannot_be_built(
    build: Callable[[], object],
) -> None:
    with pytest.raises(FtmsValueOutOfRange):
        build()


def test_stop_pause_refuses_an_unknown_parameter() -> None:
    with pytest.raises(LocalFtmsError, match=r"StopPause\.param"):
        StopPause(3)  # type: ignore[arg-type]


def test_stop_pause_takes_a_plain_int_as_its_enum() -> None:
    assert StopPause(1).param is StopPauseParam.STOP  # type: ignore[arg-type]


def test_target_speed_in_mph_rounds_to_the_nearest_hundredth() -> None:
    assert encode_control_request(SetTargetSpeed(3 * 1.609344)) == b("02 e3 01")  # 4.828 -> 4.83
    assert encode_control_request(SetTargetSpeed(2 * 1.609344)) == b("02 42 01")  # 3.219 -> 3.22


def test_target_inclination_reaches_the_ends_of_sint16() -> None:
    assert encode_control_request(SetTargetInclination(-3276.8)) == b("03 00 80")
    assert encode_control_request(SetTargetInclination(3276.7)) == b("03 ff 7f")


# --- Control Point 0x2AD9: responses ----------------------------------------------------------

RESULT_CODES = [
    (0x01, ResultCode.SUCCESS),
    (0x02, ResultCode.NOT_SUPPORTED),
    (0x03, ResultCode.INVALID_PARAMETER),
    (0x04, ResultCode.FAILED),
    (0x05, ResultCode.CONTROL_NOT_PERMITTED),
]


@pytest.mark.parametrize(("code", "result"), RESULT_CODES)
def test_control_response_result_code(code: int, result: ResultCode) -> None:
    data = bytes((0x80, 0x02, code))
    response = ControlResponse(OpCode.SET_TARGET_SPEED, result)
    assert decode_control_response(data) == response
    assert encode_control_response(response) == data
    assert response.succeeded is (result == ResultCode.SUCCESS)


@pytest.mark.parametrize(
    ("hex_bytes", "response"),
    [
        ("80 00 01", ControlResponse(OpCode.REQUEST_CONTROL, ResultCode.SUCCESS)),
        ("80 08 01", ControlResponse(OpCode.STOP_PAUSE, ResultCode.SUCCESS)),
        ("80 07 05", ControlResponse(OpCode.START_RESUME, ResultCode.CONTROL_NOT_PERMITTED)),
        ("80 02 09", ControlResponse(OpCode.SET_TARGET_SPEED, 0x09)),  # unknown result
        ("80 42 01", ControlResponse(0x42, ResultCode.SUCCESS)),  # unknown opcode
        ("80 13 01 2c 01", ControlResponse(OpCode.SPIN_DOWN_CONTROL, 1, b"\x2c\x01")),
    ],
)
def test_control_response(hex_bytes: str, response: ControlResponse) -> None:
    assert decode_control_response(b(hex_bytes)) == response
    assert encode_control_response(response) == b(hex_bytes)


@pytest.mark.parametrize(
    ("hex_bytes", "offset"), [("", 0), ("81 00 01", 0), ("80", 1), ("80 00", 2)]
)
def test_malformed_control_response(hex_bytes: str, offset: int) -> None:
    with pytest.raises(FtmsDecodeError) as caught:
        decode_control_response(b(hex_bytes))
    assert caught.value.offset == offset


def test_control_response_encoder_refuses_bytes_out_of_range() -> None:
    with pytest.raises(LocalFtmsError):
        encode_control_response(ControlResponse(0x100, 1))


# --- advertisement service data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_bytes", "service_data", "is_treadmill"),
    [
        ("01 01 00", FtmsServiceData(True, MachineType.TREADMILL), True),
        ("00 01 00", FtmsServiceData(False, MachineType.TREADMILL), True),
        ("01 20 00", FtmsServiceData(True, MachineType.INDOOR_BIKE), False),
        (
            "01 03 00",
            FtmsServiceData(True, MachineType.TREADMILL | MachineType.CROSS_TRAINER),
            True,
        ),
        ("01 00 01", FtmsServiceData(True, 0x0100), False),  # unknown type bit kept
    ],
)
def test_service_data(hex_bytes: str, service_data: FtmsServiceData, is_treadmill: bool) -> None:
    assert decode_service_data(b(hex_bytes)) == service_data
    assert encode_service_data(service_data) == b(hex_bytes)
    assert service_data.is_treadmill is is_treadmill


@pytest.mark.parametrize(("hex_bytes", "offset"), [("", 0), ("01", 1), ("01 01", 1)])
def test_truncated_service_data(hex_bytes: str, offset: int) -> None:
    with pytest.raises(FtmsDecodeError) as caught:
        decode_service_data(b(hex_bytes))
    assert caught.value.offset == offset


# --- every fixed-size characteristic: truncated at every length -------------------------------


@pytest.mark.parametrize(
    ("decode", "full", "field_starts"),
    [
        (decode_machine_features, "0d 16 00 00 03 00 00 00", [0, 4]),
        (decode_speed_range, "64 00 80 07 0a 00", [0, 2, 4]),
        (decode_inclination_range, "ce ff 96 00 05 00", [0, 2, 4]),
        (decode_service_data, "01 01 00", [0, 1]),
        (decode_control_response, "80 00 01", [0, 1, 2]),
        (decode_machine_status, "05 2c 01", [0, 1]),
        (decode_control_request, "02 42 01", [0, 1]),
        (decode_training_status, "00 01", [0, 1]),
    ],
)
def test_every_prefix_fails_at_the_field_it_cuts(
    decode: Callable[[bytes], Any], full: str, field_starts: list[int]
) -> None:
    data = b(full)
    decode(data)
    for length in range(len(data)):
        with pytest.raises(FtmsDecodeError) as caught:
            decode(data[:length])
        assert caught.value.offset == max(start for start in field_starts if start <= length)
