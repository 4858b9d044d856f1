"""Link tests: a simulated treadmill reached through bleak's backend seam, on virtual time.

Each scenario is a coroutine run with ``treadcoach.clock.run(..., speedup=math.inf)`` from a
plain test, so waiting for a belt to ramp or a reconnect to back off costs no wall time.
(``import sim`` finds the package, not ``tests/sim``: pyproject puts the repository root on the
test path.)
"""
