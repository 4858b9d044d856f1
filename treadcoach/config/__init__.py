"""devices.toml: known treadmills and their quirks, plus the user's limits and preferences.

The repository's top-level ``devices.toml`` is shipped as ``treadcoach/data/devices.toml``;
the user's copy (``$TREADCOACH_CONFIG`` or the platform config dir) is laid over it. See
``load_settings`` for the merge rule. Nothing here touches the network.
"""

from __future__ import annotations

from treadcoach.config._device import KMH_PER_MPH, DeviceProfile, DistanceSource, RequestControl
from treadcoach.config._inputs import AudioSettings, InputSettings
from treadcoach.config._keys import NAMED_KEYS, RESERVED_KEYS, canonical_key, key_sequences
from treadcoach.config._limits import Units, UserLimits
from treadcoach.config._load import load_settings
from treadcoach.config._mqtt import MqttButton, MqttSettings
from treadcoach.config._paths import CONFIG_ENV, shipped_devices, user_devices_path
from treadcoach.config._save import save_default_device
from treadcoach.config._settings import Settings

__all__ = [
    "CONFIG_ENV",
    "KMH_PER_MPH",
    "NAMED_KEYS",
    "RESERVED_KEYS",
    "AudioSettings",
    "DeviceProfile",
    "DistanceSource",
    "InputSettings",
    "MqttButton",
    "MqttSettings",
    "RequestControl",
    "Settings",
    "Units",
    "UserLimits",
    "canonical_key",
    "key_sequences",
    "load_settings",
    "save_default_device",
    "shipped_devices",
    "user_devices_path",
]
