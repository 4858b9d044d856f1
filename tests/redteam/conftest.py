"""Red-team tests: each is a confirmed break, marked xfail(strict=True) until it is fixed.

The helpers reach the helpers of tests/link and tests/history (the same sim + bleak backend seam)."""

from __future__ import annotations

import sys
from pathlib import Path

for helpers in ("link", "history"):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / helpers))
