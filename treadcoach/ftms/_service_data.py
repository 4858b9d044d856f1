"""FTMS advertisement service data (service UUID 0x1826): ``[flags u8, machine type u16]``.

Flags bit 0 is "Fitness Machine Available"; machine type bit 0 is "treadmill" (MachineType).
Bytes after the three defined ones are ignored (room for later revisions).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from treadcoach.errors import LocalFtmsError

from ._wire import SERVICE_DATA, need
from .enums import MachineType

__all__ = ["FtmsServiceData", "decode_service_data", "encode_service_data"]

_AVAILABLE = 0x01
_U16 = struct.Struct("<H")


@dataclass(frozen=True, slots=True)
class FtmsServiceData:
    available: bool
    machine_types: int  # MachineType bits

    @property
    def is_treadmill(self) -> bool:
        return bool(self.machine_types & MachineType.TREADMILL)


def decode_service_data(data: bytes) -> FtmsServiceData:
    need(data, 0, 1, SERVICE_DATA, "Flags (uint8)")
    need(data, 1, 2, SERVICE_DATA, "Fitness Machine Type (uint16)")
    (types,) = _U16.unpack_from(data, 1)
    return FtmsServiceData(bool(data[0] & _AVAILABLE), MachineType(types))


def encode_service_data(service_data: FtmsServiceData) -> bytes:
    if not 0 <= service_data.machine_types <= 0xFFFF:
        raise LocalFtmsError(
            f"FtmsServiceData.machine_types = {service_data.machine_types} does not fit in 16 bits."
        )
    flags = _AVAILABLE if service_data.available else 0
    return bytes((flags,)) + _U16.pack(int(service_data.machine_types))
