"""treadcoach.ftms is sans-I/O: it imports neither asyncio nor bleak (nor our I/O layers).

Two checks: a fresh interpreter that imports every ftms module must not have loaded asyncio or
bleak (this also catches imports hidden in dependencies), and no ftms source file names them in
an import statement (this catches imports on code paths the first check does not execute).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import treadcoach.ftms

FTMS_DIR = Path(treadcoach.ftms.__file__).parent
FTMS_MODULES = sorted(
    "treadcoach.ftms" + ("" if p.stem == "__init__" else f".{p.stem}")
    for p in FTMS_DIR.glob("*.py")
)
FORBIDDEN = ("asyncio", "bleak", "bleak_retry_connector", "treadcoach.link", "sim")


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_the_import_check_sees_every_ftms_module() -> None:
    assert {"treadcoach.ftms", "treadcoach.ftms.codec", "treadcoach.ftms.control"} <= set(
        FTMS_MODULES
    )


def test_importing_ftms_loads_neither_asyncio_nor_bleak() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {FTMS_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout)
    assert "treadcoach.ftms.control" in loaded  # the imports really ran
    assert [name for name in loaded if _is_forbidden(name)] == []


@pytest.mark.parametrize("path", sorted(FTMS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_ftms_source_names_no_io_module_in_an_import(path: Path) -> None:
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            imported.append("__import__")  # dynamic imports would dodge this check
    assert [name for name in imported if _is_forbidden(name) or name == "__import__"] == []
