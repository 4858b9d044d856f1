"""Advertising data (AD structures, Core Supplement Part A) -> what bleak's AdvertisementData holds.

Pure bytes in, values out (no bumble, no loop). Every service-data and manufacturer-data entry
is kept, from the advertisement and its scan response alike; an entry repeated under the same
key keeps the latest value, as BlueZ does. A Complete Local Name wins over a Shortened one
wherever it appears (the short name rides in the advertisement, the full one in the scan
response). Malformed structures end the parse where they start (a real scanner drops them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bleak.uuids import normalize_uuid_str

__all__ = ["ParsedAdvertisement", "parse_advertising_data"]

_UUID16_LISTS = (0x02, 0x03)
_UUID32_LISTS = (0x04, 0x05)
_UUID128_LISTS = (0x06, 0x07)
_SHORTENED_NAME = 0x08
_COMPLETE_NAME = 0x09
_TX_POWER = 0x0A
_SERVICE_DATA = {0x16: 2, 0x20: 4, 0x21: 16}  # AD type -> UUID length
_MANUFACTURER = 0xFF


def _uuid(raw: bytes) -> str:
    return normalize_uuid_str(raw[::-1].hex())  # little-endian on air


@dataclass(slots=True)
class ParsedAdvertisement:
    complete_name: str | None = None
    shortened_name: str | None = None
    service_uuids: list[str] = field(default_factory=list)
    service_data: dict[str, bytes] = field(default_factory=dict)
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    tx_power: int | None = None

    @property
    def local_name(self) -> str | None:
        return self.complete_name if self.complete_name is not None else self.shortened_name

    def merge(self, data: bytes) -> ParsedAdvertisement:
        """Add the AD structures in ``data`` (e.g. a scan response) to this one; returns self."""
        for ad_type, value in _structures(data):
            self._take(ad_type, value)
        return self

    def _take(self, ad_type: int, value: bytes) -> None:
        if ad_type in _UUID16_LISTS + _UUID32_LISTS + _UUID128_LISTS:
            size = 2 if ad_type in _UUID16_LISTS else 4 if ad_type in _UUID32_LISTS else 16
            for i in range(0, len(value) - size + 1, size):
                uuid = _uuid(value[i : i + size])
                if uuid not in self.service_uuids:
                    self.service_uuids.append(uuid)
        elif ad_type == _COMPLETE_NAME:
            self.complete_name = value.decode("utf-8", "replace")
        elif ad_type == _SHORTENED_NAME:
            self.shortened_name = value.decode("utf-8", "replace")
        elif ad_type == _TX_POWER and len(value) == 1:
            self.tx_power = int.from_bytes(value, "little", signed=True)
        elif ad_type in _SERVICE_DATA and len(value) >= _SERVICE_DATA[ad_type]:
            size = _SERVICE_DATA[ad_type]
            self.service_data[_uuid(value[:size])] = bytes(value[size:])
        elif ad_type == _MANUFACTURER and len(value) >= 2:
            self.manufacturer_data[int.from_bytes(value[:2], "little")] = bytes(value[2:])


def _structures(data: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(data):
        length = data[i]
        if length == 0:  # early terminator / padding
            break
        if i + 1 + length > len(data):
            break  # truncated structure
        out.append((data[i + 1], bytes(data[i + 2 : i + 1 + length])))
        i += 1 + length
    return out


def parse_advertising_data(*chunks: bytes) -> ParsedAdvertisement:
    """Parse an advertisement and (optionally) its scan response, in the order heard."""
    parsed = ParsedAdvertisement()
    for chunk in chunks:
        parsed.merge(chunk)
    return parsed
