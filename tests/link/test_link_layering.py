"""The link's pure cores import neither asyncio nor bleak (sans-I/O, like treadcoach.ftms).

The modules in ``PURE`` must stay importable (and testable) without an event loop or a
Bluetooth stack; the rest are the asyncio shells over them (``session``, ``lifetime``,
``connect``, ``gatt``, ``intake``, ``channel``, ``commands``, ``runner``, ``reconnect``,
``keepalive``, ``scan``, ``bluetooth``, ``strap``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import treadcoach.link

LINK_DIR = Path(treadcoach.link.__file__).parent
PURE = (
    "belt",
    "events",
    "lifecycle",
    "observe",
    "pace",
    "phase",
    "profile",
    "quirks",
    "ranges",
    "scheduler",
    "timeouts",
)
FORBIDDEN = ("asyncio", "bleak", "bleak_retry_connector", "sim", "bumble")


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_pure_link_module_names_no_io_module(module: str) -> None:
    imported = _imports(LINK_DIR / f"{module}.py")
    assert [name for name in imported if _forbidden(name)] == []
    # and within treadcoach.link, only other pure modules (never the shell)
    inner = [n for n in imported if n.startswith("treadcoach.link")]
    assert all(n.removeprefix("treadcoach.link.") in PURE for n in inner), inner


def test_importing_the_pure_link_modules_loads_neither_asyncio_nor_bleak() -> None:
    # treadcoach/link/__init__.py imports the shell, so load the modules from their files.
    script = (
        "import importlib.util, json, sys, types\n"
        f"pkg = types.ModuleType('treadcoach.link'); pkg.__path__ = [{str(LINK_DIR)!r}]\n"
        "sys.modules['treadcoach.link'] = pkg\n"
        f"for name in {PURE!r}:\n"
        "    importlib.import_module('treadcoach.link.' + name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert "treadcoach.link.scheduler" in loaded
    assert [name for name in loaded if _forbidden(name)] == []
