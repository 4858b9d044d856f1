"""treadcoach.inputs: hands-free stop inputs (terminal key for --headless, evdev foot pedal).

The MQTT button lives with the bridge (``treadcoach.mqtt``). Every input ends in the session's
``request_stop`` / ``request_pause``: there is no other way for an input to touch the belt.
"""

from __future__ import annotations

from treadcoach.inputs.keys import TerminalKeys
from treadcoach.inputs.pedal import PedalInput, list_input_devices

__all__ = ["PedalInput", "TerminalKeys", "list_input_devices"]
