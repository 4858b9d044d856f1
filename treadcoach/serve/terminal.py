"""What ``treadcoach serve`` prints on the computer: the URL with its token, and a QR code of it."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable

import segno

__all__ = ["PASSWORD_ENV", "announce", "is_loopback", "page_url"]

PASSWORD_ENV = "TREADCOACH_SERVE_PASSWORD"
_ANY = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_url(host: str, port: int, token: str) -> str:
    """The URL to open: on all addresses, the one the LAN reaches this computer on."""
    shown = (_lan_address() or "127.0.0.1") if host in _ANY else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def announce(
    host: str, port: int, token: str, *, one_time: bool, say: Callable[[str], None]
) -> None:
    url = page_url(host, port, token)
    kind = "one-time token" if one_time else f"password from {PASSWORD_ENV}"
    say(f"treadcoach serve: open {url}")
    say(f"  ({kind}; without it a browser can watch the session and STOP it, nothing else)")
    if not is_loopback(host):
        say(f"  serving on {host or '*'}:{port}: anyone on this network can open the page")
        segno.make(url, error="m").terminal(out=sys.stdout, compact=True)
        sys.stdout.flush()


def _lan_address() -> str | None:
    """This computer's address on the LAN: the one a UDP socket towards the internet would use
    (connecting a UDP socket sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return address
