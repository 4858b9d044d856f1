"""Properties of the codec, checked by hypothesis.

* encode -> decode gives back the value, for every message type (values drawn on the wire grid);
* any bytes given to any decoder either decode or raise FtmsDecodeError, nothing else, and what
  decodes re-encodes to something that decodes the same (10,000 examples);
* the two Treadmill Data decoders (field walk, compiled per flags) agree with an independent
  reference written here from the FTMS field table;
* More Data split -> reassemble gives back the record;
* ControlPoint never raises anything but LocalFtmsError/FtmsDecodeError, keeps at most one
  non-Stop request in flight and never sends a command other than Stop or Request Control
  once control is lost.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from treadcoach.errors import FtmsDecodeError, LocalFtmsError
from treadcoach.ftms import (
    ControlPoint,
    ControlResponse,
    FtmsServiceData,
    InclinationRange,
    MachineFeature,
    MachineFeatures,
    MachineStatus,
    MachineStatusOp,
    Permission,
    RequestControl,
    Reset,
    SetTargetInclination,
    SetTargetSpeed,
    SpeedRange,
    StartResume,
    StopPause,
    StopPauseParam,
    TargetSettingFeature,
    TrainingStatus,
    TreadmillData,
    TreadmillDataAssembler,
    UnsupportedRequest,
    decode_control_request,
    decode_control_response,
    decode_inclination_range,
    decode_machine_features,
    decode_machine_status,
    decode_service_data,
    decode_speed_range,
    decode_training_status,
    decode_treadmill_data,
    encode_control_request,
    encode_control_response,
    encode_inclination_range,
    encode_machine_features,
    encode_machine_status,
    encode_service_data,
    encode_speed_range,
    encode_training_status,
    encode_treadmill_data,
    split_treadmill_data,
)
from treadcoach.ftms._treadmill_data import _compile, _decode_walk


def grid(lo: int, hi: int, per_unit: int) -> st.SearchStrategy[Any]:
    """Values a field can carry: raw integers lo..hi in units of 1/per_unit."""
    raws = st.integers(lo, hi)
    return raws if per_unit == 1 else raws.map(lambda raw: raw / per_unit)


# Treadmill Data per the FTMS field table: (bit, [(name, struct kind, per_unit, n/a)]).
# Written independently of the codec's own table, so a slip in either shows up.
U8, U16, U24, S16 = (0, 0xFF), (0, 0xFFFF), (0, 0xFFFFFF), (-0x8000, 0x7FFF)
SPEC: list[tuple[int, list[tuple[str, tuple[int, int], int, int | None]]]] = [
    (0, [("speed_kmh", U16, 100, None)]),
    (1, [("average_speed_kmh", U16, 100, None)]),
    (2, [("distance_m", U24, 1, None)]),
    (3, [("inclination_pct", S16, 10, 0x7FFF), ("ramp_angle_deg", S16, 10, 0x7FFF)]),
    (
        4,
        [
            ("positive_elevation_gain_m", U16, 10, 0xFFFF),
            ("negative_elevation_gain_m", U16, 10, 0xFFFF),
        ],
    ),
    (5, [("instantaneous_pace_km_per_min", U8, 10, None)]),
    (6, [("average_pace_km_per_min", U8, 10, None)]),
    (
        7,
        [
            ("energy_kcal", U16, 1, 0xFFFF),
            ("energy_per_hour_kcal", U16, 1, 0xFFFF),
            ("energy_per_minute_kcal", U8, 1, 0xFF),
        ],
    ),
    (8, [("heart_rate_bpm", U8, 1, None)]),
    (9, [("met", U8, 10, None)]),
    (10, [("elapsed_s", U16, 1, None)]),
    (11, [("remaining_s", U16, 1, None)]),
    (12, [("force_on_belt_n", S16, 1, 0x7FFF), ("power_w", S16, 1, 0x7FFF)]),
]


@st.composite
def treadmill_records(draw: st.DrawFn, whole: bool | None = None) -> TreadmillData:
    kwargs: dict[str, Any] = {}
    for bit, members in SPEC:
        if bit == 0:
            present = draw(st.booleans()) if whole is None else whole
        else:
            present = draw(st.booleans())
        if not present:
            continue
        for name, (lo, hi), per_unit, not_available in members:
            if not_available is not None:
                hi = min(hi, not_available - 1)
                if draw(st.booleans()):
                    continue  # sent as "not available"
            kwargs[name] = draw(grid(lo, hi, per_unit))
    return TreadmillData(
        **kwargs,
        more_data="speed_kmh" not in kwargs,
        extra=draw(st.binary(max_size=6)),
        reserved_flags=draw(st.integers(0, 7)) << 13,
    )


SIZE = {U8: 1, U16: 2, U24: 3, S16: 2}


def reference_decode(data: bytes) -> TreadmillData:
    """Straight from the FTMS table: flags, then each flagged field in bit order."""
    flags = int.from_bytes(data[:2], "little")
    offset, values = 2, {}
    for bit, members in SPEC:
        present = not flags & 1 if bit == 0 else flags >> bit & 1
        for name, wire, per_unit, not_available in members if present else []:
            size = SIZE[wire]
            if len(data) < offset + size:
                raise FtmsDecodeError("Treadmill Data (0x2ACD)", offset, name, data)
            raw = int.from_bytes(data[offset : offset + size], "little", signed=wire == S16)
            offset += size
            if raw != not_available:
                values[name] = raw if per_unit == 1 else raw / per_unit
    return TreadmillData(
        **values,
        more_data=bool(flags & 1),
        extra=bytes(data[offset:]),
        reserved_flags=flags & 0xE000,
    )


@st.composite
def treadmill_packets(draw: st.DrawFn) -> bytes:
    """Bytes with a random flags value and a tail that often, not always, fits it."""
    flags = draw(st.integers(0, 0xFFFF))
    return flags.to_bytes(2, "little") + draw(st.binary(max_size=48))


# --- Treadmill Data ---------------------------------------------------------------------------


@given(treadmill_records())
def test_treadmill_data_round_trips(record: TreadmillData) -> None:
    assert decode_treadmill_data(encode_treadmill_data(record)) == record


@settings(max_examples=500, deadline=None)
@given(treadmill_packets())
def test_both_treadmill_decoders_agree_with_the_reference(data: bytes) -> None:
    flags = data[0] | data[1] << 8
    outcomes = []
    for decode in (reference_decode, lambda d: _decode_walk(d, flags), _compile(flags)):
        try:
            outcomes.append(decode(data))
        except FtmsDecodeError as exc:
            outcomes.append(exc.offset)  # type: ignore[arg-type]
    assert outcomes[1:] == outcomes[:1] * 2


@given(treadmill_records(whole=True), st.integers(7, 40))
def test_split_then_reassemble_gives_the_record_back(record: TreadmillData, max_len: int) -> None:
    if 4 + len(record.extra) > max_len:
        record = TreadmillData(**{**_fields(record), "extra": b""})
    packets = split_treadmill_data(record, max_len=max_len)
    assert all(len(packet) <= max_len for packet in packets)
    assembler = TreadmillDataAssembler()
    results = [assembler.feed(packet) for packet in packets]
    assert results == [None] * (len(packets) - 1) + [record]


def _fields(record: TreadmillData) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


# --- every other message: encode -> decode ----------------------------------------------------

speeds = grid(0, 0xFFFF, 100)
inclines = grid(-0x8000, 0x7FFF, 10)

MESSAGES: list[tuple[st.SearchStrategy[Any], Callable[[Any], bytes], Callable[[bytes], Any]]] = [
    (
        st.builds(
            MachineFeatures,
            st.integers(0, 0xFFFFFFFF).map(MachineFeature),
            st.integers(0, 0xFFFFFFFF).map(TargetSettingFeature),
        ),
        encode_machine_features,
        decode_machine_features,
    ),
    (
        st.tuples(speeds, speeds, speeds).map(
            lambda t: SpeedRange(min(t[0], t[1]), max(t[0], t[1]), t[2])
        ),
        encode_speed_range,
        decode_speed_range,
    ),
    (
        st.tuples(inclines, inclines, grid(0, 0xFFFF, 10)).map(
            lambda t: InclinationRange(min(t[0], t[1]), max(t[0], t[1]), t[2])
        ),
        encode_inclination_range,
        decode_inclination_range,
    ),
    (
        st.builds(TrainingStatus, st.integers(0, 0xFF), st.none() | st.text(max_size=12)),
        encode_training_status,
        decode_training_status,
    ),
    (
        st.one_of(
            st.sampled_from(
                [
                    MachineStatusOp.RESET,
                    MachineStatusOp.STOPPED_BY_SAFETY_KEY,
                    MachineStatusOp.STARTED_OR_RESUMED_BY_USER,
                    MachineStatusOp.CONTROL_PERMISSION_LOST,
                ]
            ).map(MachineStatus),
            st.builds(
                MachineStatus,
                st.just(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER),
                st.sampled_from(StopPauseParam),
            ),
            speeds.map(
                lambda v: MachineStatus(MachineStatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=v)
            ),
            inclines.map(
                lambda v: MachineStatus(
                    MachineStatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=v
                )
            ),
            st.builds(MachineStatus, st.integers(0x07, 0xFE), params=st.binary(max_size=6)),
        ),
        encode_machine_status,
        decode_machine_status,
    ),
    (
        st.one_of(
            st.sampled_from([RequestControl(), Reset(), StartResume()]),
            st.builds(StopPause, st.sampled_from(StopPauseParam)),
            st.builds(SetTargetSpeed, speeds),
            st.builds(SetTargetInclination, inclines),
            st.builds(
                UnsupportedRequest,
                st.integers(0, 0xFF).filter(lambda op: op not in (0, 1, 2, 3, 7, 8)),
                st.binary(max_size=6),
            ),
        ),
        encode_control_request,
        decode_control_request,
    ),
    (
        st.builds(
            ControlResponse, st.integers(0, 0xFF), st.integers(0, 0xFF), st.binary(max_size=6)
        ),
        encode_control_response,
        decode_control_response,
    ),
    (
        st.builds(FtmsServiceData, st.booleans(), st.integers(0, 0xFFFF)),
        encode_service_data,
        decode_service_data,
    ),
]


@given(st.data())
def test_every_message_round_trips(data: st.DataObject) -> None:
    for strategy, encode, decode in MESSAGES:
        value = data.draw(strategy)
        assert decode(encode(value)) == value


# --- random bytes -----------------------------------------------------------------------------

DECODERS: list[tuple[Callable[[bytes], Any], Callable[[Any], bytes]]] = [
    (decode_treadmill_data, encode_treadmill_data),
    (decode_machine_features, encode_machine_features),
    (decode_speed_range, encode_speed_range),
    (decode_inclination_range, encode_inclination_range),
    (decode_training_status, encode_training_status),
    (decode_machine_status, encode_machine_status),
    (decode_control_request, encode_control_request),
    (decode_control_response, encode_control_response),
    (decode_service_data, encode_service_data),
]


@settings(max_examples=10_000, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_decode_or_raise_ftms_decode_error(data: bytes) -> None:
    for decode, encode in DECODERS:
        try:
            value = decode(data)
        except FtmsDecodeError:
            continue
        assert decode(encode(value)) == value
    assembler = TreadmillDataAssembler()
    with contextlib.suppress(FtmsDecodeError):
        assembler.feed(data)
        assembler.feed(data)
    with contextlib.suppress(FtmsDecodeError):
        ControlPoint().receive(data)


# --- ControlPoint under random use ------------------------------------------------------------

requests = st.one_of(
    st.sampled_from(
        [
            RequestControl(),
            Reset(),
            StartResume(),
            StopPause(StopPauseParam.STOP),
            StopPause(StopPauseParam.PAUSE),
            SetTargetSpeed(3.22),
            SetTargetInclination(1.0),
        ]
    )
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("send"), requests),
        st.tuples(
            st.just("receive"),
            st.builds(
                lambda op, result: bytes((0x80, op, result)),
                st.sampled_from([0, 1, 2, 3, 7, 8, 0x42]),
                st.integers(1, 5),
            )
            | st.binary(max_size=4),
        ),
        st.tuples(
            st.just("status"),
            st.sampled_from(list(MachineStatusOp)).map(
                lambda op: MachineStatus(
                    op,
                    target_speed_kmh=1.0 if op == MachineStatusOp.TARGET_SPEED_CHANGED else None,
                    target_incline_pct=1.0
                    if op == MachineStatusOp.TARGET_INCLINE_CHANGED
                    else None,
                )
            ),
        ),
        st.tuples(st.just("timeout"), st.none() | requests),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(actions)
def test_control_point_keeps_its_rules_under_any_sequence(steps: list[tuple[str, Any]]) -> None:
    cp = ControlPoint()
    for action, arg in steps:
        lost = cp.permission is Permission.LOST
        busy = bool(cp.pending)
        try:
            if action == "send":
                cp.send(arg)
                is_stop = arg == StopPause(StopPauseParam.STOP)
                assert is_stop or not busy
                assert not lost or is_stop or arg == RequestControl()
            elif action == "receive":
                cp.receive(arg)
            elif action == "status":
                cp.machine_status(arg)
            else:
                cp.timeout(arg)
        except (LocalFtmsError, FtmsDecodeError):
            pass
        stop = StopPause(StopPauseParam.STOP)
        assert len([r for r in cp.pending if r != stop]) <= 1
