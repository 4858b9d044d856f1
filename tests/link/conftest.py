"""Link tests: a simulated treadmill reached through bleak's backend seam, on virtual time.

Each scenario is a coroutine run with ``treadcoach.clock.run(..., speedup=math.inf)`` from a
plain test, so waiting for a belt to ramp or a reconnect to back off costs no wall time.
(``import sim`` finds the package, not ``tests/sim``: pyproject puts the repository root on the
test path.)

Tests that take the ``transport`` fixture (``tests/transports.py``) run three times: over the
in-process fake, over bumble at 0 ms and over bumble at 50 ms connection events.
"""

from __future__ import annotations

from transports import transport  # noqa: F401  (the fake, bumble 0 ms, bumble 50 ms)
