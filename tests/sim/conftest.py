"""Make ``import sim`` mean the simulator package, not this test folder.

The editable install reaches ``treadcoach`` and ``sim`` through a meta-path finder that runs after
the path finder, and pytest puts ``tests/`` on ``sys.path`` for its rootless conftest, so without
the repository root on ``sys.path`` ``import sim`` finds ``tests/sim`` as a namespace package.
With the root on the path the real package wins (a regular package beats a namespace portion
wherever it is on the path).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
if getattr(sys.modules.get("sim"), "__file__", "") is None:  # a namespace import got there first
    for name in [m for m in sys.modules if m == "sim" or m.startswith("sim.")]:
        del sys.modules[name]
