"""What the command line needs from the bumble stack, in one place.

``treadcoach run --ble bumble:usb:0`` and ``treadcoach sim --ble usb:0`` call these (see
docs/bluetooth.md). ``run --sim --ble bumble:air:50`` puts the simulator behind bumble's GATT
server on the in-process radio at 50 ms connection events (tests, the fault matrix). ``parse_ble`` checks the option; ``ble_backends`` turns it into bleak backends
for ``TreadmillLink`` (``client_backend=`` / ``scanner_backend=``). The controller behind them is
opened on first use, on the loop that uses it, and closed when that loop shuts down (it is held by
an async generator, which ``asyncio.run`` / ``asyncio.Runner`` finalise on the way out), so the
caller needs no extra ``async with`` around a session that may run in Textual's loop or ours.
"""

from __future__ import annotations

from typing import Final

from treadcoach.errors import ConfigError

__all__ = ["BUMBLE_PREFIX", "ble_backends", "parse_ble"]

BUMBLE_PREFIX: Final = "bumble:"
_KNOWN_TRANSPORTS: Final = (
    "usb",
    "pyusb",
    "serial",
    "tcp-client",
    "tcp-server",
    "udp",
    "hci-socket",
    "vhci",
    "ws-client",
    "ws-server",
    "pty",
    "file",
    "unix",
    "android-emulator",
    "android-netsim",
)


def parse_ble(value: str, *, option: str = "--ble", prefixed: bool = True) -> str:
    """The bumble transport spec in ``value`` (``bumble:usb:0`` -> ``usb:0``), or ConfigError.

    ``prefixed``: ``run --ble`` names the stack (``bumble:``) so that other stacks can follow;
    ``sim --ble`` takes the transport alone.
    """
    spec = value
    if prefixed:
        if not value.startswith(BUMBLE_PREFIX):
            raise ConfigError(
                option,
                value,
                f"expected {BUMBLE_PREFIX}TRANSPORT, e.g. bumble:usb:0 (see docs/bluetooth.md)",
            )
        spec = value[len(BUMBLE_PREFIX) :]
    scheme, _, rest = spec.partition(":")
    if scheme == "air":  # the in-process radio, for --sim: air or air:MS
        _check_air_interval(option, value, rest)
        return spec
    if scheme not in _KNOWN_TRANSPORTS:
        raise ConfigError(
            option,
            value,
            f"unknown bumble transport {scheme!r}; use one of {', '.join(_KNOWN_TRANSPORTS)}",
        )
    return spec


def _check_air_interval(option: str, value: str, ms: str) -> None:
    if not ms:
        return
    try:
        interval = float(ms)
    except ValueError:
        interval = -1.0
    if not (interval == 0 or 7.5 <= interval <= 4000):
        raise ConfigError(
            option, value, "air:MS takes a connection interval of 0 or 7.5 to 4000 ms"
        )


def ble_backends(value: str) -> tuple[type, type]:
    """bleak (client, scanner) backends on the bumble controller named by ``run --ble VALUE``."""
    spec = parse_ble(value)
    try:
        from treadcoach.link.bumble._adapter import BumbleAdapter
    except ImportError as error:  # bumble is an optional extra
        raise ConfigError(
            "--ble", value, "needs bumble: pip install 'treadcoach[bumble]'"
        ) from error
    adapter = BumbleAdapter.deferred(spec)
    return adapter.client_backend, adapter.scanner_backend
