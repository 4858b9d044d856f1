"""Link tests: a simulated treadmill reached through bleak's backend seam, on virtual time.

Each scenario is a coroutine run with ``treadcoach.clock.run(..., speedup=math.inf)`` from a
plain test, so waiting for a belt to ramp or a reconnect to back off costs no wall time.
(``import sim`` finds the package, not ``tests/sim``: pyproject puts the repository root on the
test path.)

Every test here that talks to a simulated treadmill through a backend takes the ``transport``
fixture (``tests/transports.py``) and runs three times: over the in-process fake, over bumble
at 0 ms and over bumble at 50 ms connection events (DESIGN invariant 9). That includes the
scripted-backend (``link_helpers.Wire``) tests: the script wraps whichever client backend the
transport brings. Single-run, because no backend is involved: the pure tables and helpers
(test_phase, test_scheduler, test_lifecycle, test_observe, test_belt, test_ranges, test_timeouts,
test_link_layering, the hypothesis tests of test_mph_rounding, ``is_address`` in test_scan),
the ``treadcoach scan --sim`` subprocess tests (the CLI picks its own backend), and
test_bluetooth (the error translation and the BlueZ-less machine, no treadmill at all).
"""

from __future__ import annotations

from transports import transport  # noqa: F401  (the fake, bumble 0 ms, bumble 50 ms)
