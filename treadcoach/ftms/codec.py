"""The FTMS codec: bytes <-> frozen values for every characteristic treadcoach uses.

Sans-I/O: nothing here reads a socket or awaits; the link (client) and the simulator (server)
move the bytes. Values use ``None`` for absent fields and carry their unit in the name. Decoders
raise FtmsDecodeError (a RemoteFtmsError and ValueError) naming the characteristic, the byte
offset and what was expected; encoders raise LocalFtmsError (FtmsValueOutOfRange for numbers)
for values the wire cannot carry. Numbers are rounded to the field's resolution, halves away from
zero (see ``_wire.to_raw``).

Each characteristic lives in its own private module; this module is the public face.
"""

from __future__ import annotations

from treadcoach.errors import FtmsDecodeError, FtmsValueOutOfRange, LocalFtmsError

from ._control import (
    ControlRequest,
    ControlResponse,
    RequestControl,
    Reset,
    SetTargetInclination,
    SetTargetSpeed,
    StartResume,
    StopPause,
    UnsupportedRequest,
    decode_control_request,
    decode_control_response,
    encode_control_request,
    encode_control_response,
)
from ._features import (
    InclinationRange,
    MachineFeatures,
    SpeedRange,
    decode_inclination_range,
    decode_machine_features,
    decode_speed_range,
    encode_inclination_range,
    encode_machine_features,
    encode_speed_range,
)
from ._service_data import FtmsServiceData, decode_service_data, encode_service_data
from ._status import (
    MachineStatus,
    TrainingStatus,
    decode_machine_status,
    decode_training_status,
    encode_machine_status,
    encode_training_status,
)
from ._treadmill_data import (
    TreadmillData,
    TreadmillDataAssembler,
    decode_treadmill_data,
    encode_treadmill_data,
    split_treadmill_data,
)

__all__ = [
    "ControlRequest",
    "ControlResponse",
    "FtmsDecodeError",
    "FtmsServiceData",
    "FtmsValueOutOfRange",
    "InclinationRange",
    "LocalFtmsError",
    "MachineFeatures",
    "MachineStatus",
    "RequestControl",
    "Reset",
    "SetTargetInclination",
    "SetTargetSpeed",
    "SpeedRange",
    "StartResume",
    "StopPause",
    "TrainingStatus",
    "TreadmillData",
    "TreadmillDataAssembler",
    "UnsupportedRequest",
    "decode_control_request",
    "decode_control_response",
    "decode_inclination_range",
    "decode_machine_features",
    "decode_machine_status",
    "decode_service_data",
    "decode_speed_range",
    "decode_training_status",
    "decode_treadmill_data",
    "encode_control_request",
    "encode_control_response",
    "encode_inclination_range",
    "encode_machine_features",
    "encode_machine_status",
    "encode_service_data",
    "encode_speed_range",
    "encode_training_status",
    "encode_treadmill_data",
    "split_treadmill_data",
]
