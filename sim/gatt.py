"""The simulated treadmill's GATT table, as data: services, characteristics, their properties.

Transport-free: the bleak backend turns it into bleak's service objects, a bumble peripheral
could turn it into its own. Every notifiable characteristic gets a CCCD (0x2902), as on a real
peripheral, so clients that look for it (or enable notifications through it) find it.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadcoach.ftms import uuids

__all__ = ["CCCD_UUID", "GATT_TABLE", "CharacteristicSpec", "ServiceSpec"]

CCCD_UUID = uuids.uuid16(0x2902)


@dataclass(frozen=True, slots=True)
class CharacteristicSpec:
    uuid: str
    properties: tuple[str, ...]  # bleak's property names: "read", "write", "notify", "indicate"

    @property
    def notifiable(self) -> bool:
        return "notify" in self.properties or "indicate" in self.properties


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    uuid: str
    characteristics: tuple[CharacteristicSpec, ...]


GATT_TABLE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        uuids.DEVICE_INFORMATION_SERVICE_UUID,
        (
            CharacteristicSpec(uuids.MANUFACTURER_NAME_UUID, ("read",)),
            CharacteristicSpec(uuids.MODEL_NUMBER_UUID, ("read",)),
            CharacteristicSpec(uuids.SERIAL_NUMBER_UUID, ("read",)),
            CharacteristicSpec(uuids.HARDWARE_REVISION_UUID, ("read",)),
            CharacteristicSpec(uuids.FIRMWARE_REVISION_UUID, ("read",)),
            CharacteristicSpec(uuids.SOFTWARE_REVISION_UUID, ("read",)),
        ),
    ),
    ServiceSpec(
        uuids.FTMS_SERVICE_UUID,
        (
            CharacteristicSpec(uuids.FEATURE_UUID, ("read",)),
            CharacteristicSpec(uuids.TREADMILL_DATA_UUID, ("notify",)),
            CharacteristicSpec(uuids.TRAINING_STATUS_UUID, ("read", "notify")),
            CharacteristicSpec(uuids.SPEED_RANGE_UUID, ("read",)),
            CharacteristicSpec(uuids.INCLINATION_RANGE_UUID, ("read",)),
            CharacteristicSpec(uuids.CONTROL_POINT_UUID, ("write", "indicate")),
            CharacteristicSpec(uuids.MACHINE_STATUS_UUID, ("notify",)),
        ),
    ),
)
