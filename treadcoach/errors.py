"""Every exception treadcoach raises, in one tree.

Library code raises these with typed fields; only the edges (``cli.py``, the TUI) turn them into
one-line user messages via ``str(exc)``. Each ``__str__`` therefore reads as a complete sentence
that names the problem.
"""

from __future__ import annotations

__all__ = [
    "BluetoothUnavailable",
    "CommandSuperseded",
    "CommandTimeout",
    "ConfigError",
    "ControlLost",
    "ControlRejected",
    "DeviceNotFound",
    "FitExportError",
    "FtmsDecodeError",
    "FtmsProtocolError",
    "FtmsValueOutOfRange",
    "HistoryError",
    "InputDeviceError",
    "InputDeviceUnavailable",
    "JournalTooNew",
    "JournalUnreadable",
    "LimitsError",
    "LinkError",
    "LocalFtmsError",
    "MqttBridgeError",
    "PlanError",
    "RemoteFtmsError",
    "SessionBusy",
    "SessionNotFound",
    "TreadcoachError",
]


class TreadcoachError(Exception):
    """Root of every error treadcoach raises on purpose."""


# --- FTMS protocol (sans-I/O codec) ------------------------------------------------------------


class FtmsProtocolError(TreadcoachError):
    """Something about an FTMS frame is wrong."""


class LocalFtmsError(FtmsProtocolError, ValueError):
    """We tried to build an illegal frame (a value out of range, a bad opcode)."""


class RemoteFtmsError(FtmsProtocolError):
    """The treadmill sent a frame we cannot accept."""


class FtmsDecodeError(RemoteFtmsError, ValueError):
    """Malformed or truncated bytes for one FTMS characteristic."""

    def __init__(self, characteristic: str, offset: int, expected: str, data: bytes = b"") -> None:
        self.characteristic = characteristic
        self.offset = offset
        self.expected = expected
        self.data = bytes(data)
        super().__init__(
            f"{characteristic}: at byte {offset} expected {expected}"
            + (f" (got {self.data.hex(' ')})" if self.data else "")
        )


class FtmsValueOutOfRange(LocalFtmsError):
    """A value cannot be carried by its FTMS field (out of the wire range, NaN or infinite)."""

    def __init__(self, field: str, value: float, minimum: float, maximum: float, unit: str) -> None:
        self.field = field
        self.value = value
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit
        super().__init__(
            f"{field} = {value!r} cannot be sent over FTMS: "
            f"it must be a finite number from {minimum:g} to {maximum:g}{unit}."
        )


# --- Bluetooth link ----------------------------------------------------------------------------


class LinkError(TreadcoachError):
    """The Bluetooth link to a treadmill failed."""

    def __init__(self, address: str | None, message: str) -> None:
        self.address = address
        self.message = message
        super().__init__(message)


class BluetoothUnavailable(LinkError):
    """No usable Bluetooth on this machine (no adapter, bluetoothd down, no permission, off)."""

    def __init__(self, reason: str, hint: str) -> None:
        self.reason = reason
        self.hint = hint
        super().__init__(None, f"Bluetooth is not available: {reason}. {hint}")


class DeviceNotFound(LinkError):
    """No treadmill answered to the name or address we looked for."""


class ControlRejected(LinkError):
    """The treadmill answered a control-point request with a failure result code."""

    def __init__(self, address: str | None, opcode: int, result_code: int, detail: str) -> None:
        self.opcode = opcode
        self.result_code = result_code
        super().__init__(address, detail)


class CommandTimeout(LinkError):
    """No control-point indication arrived in time for a request."""

    def __init__(self, address: str | None, opcode: int, timeout_s: float) -> None:
        self.opcode = opcode
        self.timeout_s = timeout_s
        super().__init__(
            address,
            f"treadmill did not answer control opcode 0x{opcode:02X} within {timeout_s:g} s",
        )


class ControlLost(LinkError):
    """Control permission was lost (0xFF): someone at the console or another app took over."""


class CommandSuperseded(LinkError):
    """A queued control-point command was dropped unsent because a Stop or Pause overtook it."""

    def __init__(self, address: str | None, opcode: int, by: str) -> None:
        self.opcode = opcode
        self.by = by
        super().__init__(address, f"control opcode 0x{opcode:02X} was not sent: {by} overtook it")


# --- user-supplied files and settings ----------------------------------------------------------


class ConfigError(TreadcoachError):
    """A devices.toml / settings file is wrong. Names the file, the key and the problem."""

    def __init__(self, path: str, location: str, problem: str) -> None:
        self.path = path
        self.location = location
        self.problem = problem
        where = f"{path}: {location}" if location else path
        super().__init__(f"{where}: {problem}")


class PlanError(TreadcoachError):
    """A plan file is wrong. Names the file, the segment and the problem."""

    def __init__(self, path: str, segment: str, problem: str) -> None:
        self.path = path
        self.segment = segment
        self.problem = problem
        where = f"{path}: {segment}" if segment else path
        super().__init__(f"{where}: {problem}")


class LimitsError(TreadcoachError):
    """Speed limits that cannot be honoured: a bad value, or a belt whose minimum is above a cap."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}" if setting else problem)


class HistoryError(TreadcoachError):
    """The session journal cannot be opened, read or written."""


class JournalUnreadable(HistoryError):
    """The journal file is missing, corrupt, not ours, or cannot be read or written."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"history journal {path}: {problem}")


class JournalTooNew(HistoryError):
    """The journal was written by a newer treadcoach (its schema version is above ours)."""

    def __init__(self, path: str, found_version: int, supported_version: int) -> None:
        self.path = path
        self.found_version = found_version
        self.supported_version = supported_version
        super().__init__(
            f"history journal {path} has schema version {found_version}, but this treadcoach "
            f"reads up to version {supported_version}: upgrade treadcoach to read it."
        )


class SessionNotFound(HistoryError):
    """No session with this id in the journal."""

    def __init__(self, path: str, session_id: int) -> None:
        self.path = path
        self.session_id = session_id
        super().__init__(f"history journal {path} has no session {session_id}.")


class FitExportError(HistoryError):
    """A session could not be exported as a FIT file (nothing to export, or the write failed)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"FIT export {path}: {problem}")


class SessionBusy(TreadcoachError):
    """Another session holds the data dir or the treadmill: names what, and who holds it."""

    def __init__(self, what: str, holder: str, hint: str) -> None:
        self.what = what
        self.holder = holder
        self.hint = hint
        super().__init__(f"another treadcoach session is using {what}: {holder}. {hint}")


class MqttBridgeError(TreadcoachError):
    """The MQTT bridge is misconfigured (the broker being down is not an error: it is retried)."""


class InputDeviceError(TreadcoachError):
    """A stop input (evdev pedal, key) is missing or unreadable."""


class InputDeviceUnavailable(InputDeviceError):
    """A configured stop input cannot be used: names the device, the problem and the fix."""

    def __init__(self, device: str, problem: str, hint: str) -> None:
        self.device = device
        self.problem = problem
        self.hint = hint
        super().__init__(f"stop input {device}: {problem}. {hint}")


# link-core

__all__ += ["LinkPhaseError"]


class LinkPhaseError(TreadcoachError):
    """The link's shell asked its phase machine for a move the table does not allow (a bug)."""

    def __init__(self, phase: str, trigger: str) -> None:
        self.phase = phase
        self.trigger = trigger
        super().__init__(f"link phase {phase}: {trigger!r} is not allowed here")


class StopRefused(ControlRejected):
    """The machine refused Stop even after Request Control: the belt may still be running, and
    only the treadmill's own stop button (or its safety key) can stop it now."""


class BeltStateUnknown(LinkError):
    """Start was not sent: on this machine Start pauses a running belt, and the link has not
    seen the belt stand still (two standstill records, or Training Status idle)."""


__all__ += ["BeltStateUnknown", "StopRefused"]


# coach-core ----------------------------------------------------------------------------------


class SessionPhaseError(TreadcoachError):
    """The session controller was moved in a way its phase table does not allow (a bug)."""

    def __init__(self, phase: str, trigger: str) -> None:
        self.phase = phase
        self.trigger = trigger
        super().__init__(f"no transition from phase {phase!r} on {trigger!r}")


__all__ += ["SessionPhaseError"]


# heart rate (issue 16)


class HeartRateDecodeError(FtmsDecodeError):
    """Malformed or truncated bytes for one Heart Rate Service (0x180D) characteristic.

    A sibling of the FTMS frames (same fields, same sans-I/O codec package), so a caller that
    handles every bad GATT frame the same way can catch ``FtmsDecodeError``."""


class StrapError(LinkError):
    """The heart-rate strap could not be reached. Never stops the belt: it is reported only."""


__all__ += ["HeartRateDecodeError", "StrapError"]


__all__ += ["ServeError"]


class ServeError(TreadcoachError):
    """``treadcoach serve``: the web server or a view's channel to the session cannot work."""


__all__ += ["CheckInError"]


class CheckInError(TreadcoachError, ValueError):
    """An after-session check-in answer out of its scale (RPE: Borg 6-20; pain: 0-10)."""
