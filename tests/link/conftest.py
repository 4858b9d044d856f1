"""Link tests: a simulated treadmill reached through bleak's backend seam, on virtual time.

Each scenario is a coroutine run with ``treadcoach.clock.run(..., speedup=math.inf)`` from a
plain test, so waiting for a belt to ramp or a reconnect to back off costs no wall time.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ``import sim`` must find the simulator package, not ``tests/sim`` as a namespace portion
# (see tests/sim/conftest.py, which does the same when that folder is collected).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
if getattr(sys.modules.get("sim"), "__file__", "") is None:
    for _name in [m for m in sys.modules if m == "sim" or m.startswith("sim.")]:
        del sys.modules[_name]
