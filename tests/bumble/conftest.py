"""Tests of the bumble stack (``treadcoach.link.bumble``, ``sim.bumble_peripheral``) and of the
link over every transport (``transports.transport``: fake, bumble 0 ms, bumble 50 ms)."""

from __future__ import annotations

from transports import transport

__all__ = ["transport"]
