"""Every import in ``treadcoach/`` and ``sim/`` keeps to the layer table in docs/architecture.md.

The table is the one source of truth: its "depends on" column lists what each package may import
(our packages by short name, and the gated third-party libraries), its "must not" column names
modules that are forbidden outright. This file only reads it. Imports are found with ``ast``:
module level, inside functions, under ``TYPE_CHECKING``, relative ones, and ``importlib`` calls
with a literal (or literal-prefixed) name. A package or module without a row fails, so the check
grows with the tree.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
SOURCES = ("treadcoach", "sim")
HEADER = "| package | owns | depends on | must not |"
EVERYTHING = "*"
UNIVERSAL_MARK = "every layer may import it"
# importlib calls whose target is computed; the test resolves them itself (see _dynamic_targets).
COMPUTED_IMPORTS = {"treadcoach/commands/bench.py"}
_TICKED = re.compile(r"`([^`]+)`")
_MODULE_NAME = re.compile(r"^[A-Za-z_][\w.]*$")


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    name: str  # short name used in "depends on": "ftms", "link.bumble", "errors", "sim"
    paths: tuple[str, ...]  # as written: "treadcoach/ftms/", "treadcoach/cli.py"
    depends_on: tuple[str, ...]
    must_not_import: tuple[str, ...]
    universal: bool  # anyone may import it (the root package: the version only)

    @property
    def everything(self) -> bool:
        return EVERYTHING in self.depends_on


def _module_of(path: str) -> str:
    """``treadcoach/link/bumble/`` -> ``treadcoach.link.bumble``; ``treadcoach/__init__.py`` ->
    ``treadcoach``; ``treadcoach/cli.py`` -> ``treadcoach.cli``."""
    stem = path.removesuffix("/").removesuffix(".py").removesuffix("/__init__")
    return stem.replace("/", ".")


def _short(module: str) -> str:
    return module.removeprefix("treadcoach.") if module != "treadcoach" else ""


def parse_layers(text: str) -> list[Layer]:
    lines = text.splitlines()
    start = lines.index(HEADER) + 2  # skip the header and the |---| line
    layers = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        package, owns, depends, must_not = (c.strip() for c in line.strip("|").split("|"))
        paths = tuple(_TICKED.findall(package))
        layers.append(
            Layer(
                name=_short(_module_of(paths[0])),
                paths=paths,
                depends_on=tuple(_TICKED.findall(depends)),
                must_not_import=tuple(
                    t for t in _TICKED.findall(must_not) if _MODULE_NAME.match(t)
                ),
                universal=UNIVERSAL_MARK in owns,
            )
        )
    return layers


LAYERS = parse_layers(DOC.read_text(encoding="utf-8"))
BY_NAME = {layer.name: layer for layer in LAYERS}
_PACKAGE_ROWS = {
    _module_of(p): layer for layer in LAYERS for p in layer.paths if not p.endswith(".py")
}
_MODULE_ROWS = {_module_of(p): layer for layer in LAYERS for p in layer.paths if p.endswith(".py")}
INTERNAL_TOPS = {"treadcoach", "sim"}


def _is_internal(entry: str) -> bool:
    """A layer ("coach", "link.bumble") or a module of one ("coach.state"), not a library."""
    return entry in BY_NAME or entry.split(".")[0] in BY_NAME


# Third-party libraries that only the packages naming them may import.
GATED = {e for layer in LAYERS for e in layer.depends_on if e != EVERYTHING and not _is_internal(e)}


def layer_of(module: str) -> Layer | None:
    """The row owning ``module``: an exact ``.py`` row, else the longest package row above it."""
    if module in _MODULE_ROWS:
        return _MODULE_ROWS[module]
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        row = _PACKAGE_ROWS.get(".".join(parts[:end]))
        if row is not None:
            return row
    return None


def _entry_module(entry: str) -> str:
    return entry if entry.split(".")[0] == "sim" else f"treadcoach.{entry}"


def allowed(importer: Layer, module: str) -> bool:
    """May a module of ``importer`` import ``module`` (full dotted name)?"""
    top = module.split(".")[0]
    if importer.everything:
        return True
    if top not in INTERNAL_TOPS:
        return top not in GATED or top in importer.depends_on
    target = layer_of(module)
    if target is None:
        return False  # reported by the coverage test
    if target is importer or target.universal:
        return True
    for entry in importer.depends_on:
        if entry == target.name:
            return True  # a whole package (not its subpackages with rows of their own)
        entry_module = _entry_module(entry)
        if entry not in BY_NAME and (
            module == entry_module or module.startswith(entry_module + ".")
        ):
            return True  # one module of a package: "coach.state"
    return False


def forbidden(importer: Layer, module: str) -> str | None:
    for name in importer.must_not_import:
        if module == name or module.startswith(name + "."):
            return name
    return None


# --- the imports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    file: str  # relative to the repository root
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


def source_files() -> list[Path]:
    return sorted(p for top in SOURCES for p in (ROOT / top).rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _exists(module: str) -> bool:
    base = ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve_from(package: str, node: ast.ImportFrom) -> Iterator[str]:
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    for alias in node.names:
        # `from treadcoach import clock` depends on treadcoach.clock, not on the root package
        sub = f"{origin}.{alias.name}"
        yield sub if origin.split(".")[0] in INTERNAL_TOPS and _exists(sub) else origin


def _dynamic_target(call: ast.Call) -> str | None:
    """The module an importlib.import_module / __import__ call names, "" if not knowable."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in {"import_module", "__import__"} or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values:
        head = arg.values[0]
        if isinstance(head, ast.Constant) and str(head.value).endswith("."):
            return str(head.value).removesuffix(".")  # f"treadcoach.commands.{name}"
    return ""


def imports_in(path: Path, source: str | None = None) -> tuple[list[Import], list[Import]]:
    """(imports, dynamic imports whose target the source does not show) of one file."""
    rel = path.relative_to(ROOT).as_posix()
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"), rel)
    found: list[Import] = []
    unknown: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(rel, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [Import(rel, node.lineno, m) for m in _resolve_from(package, node)]
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node)
            if target:
                found.append(Import(rel, node.lineno, target))
            elif target == "":
                unknown.append(Import(rel, node.lineno, "<computed>"))
    return found, unknown


def _dynamic_targets(rel: str) -> list[str]:
    """What the files in COMPUTED_IMPORTS load: read from the tables that drive them."""
    if rel == "treadcoach/commands/bench.py":
        from treadcoach.commands.bench import BENCHMARKS

        return [target.partition(":")[0] for target, _ in BENCHMARKS.values()]
    raise AssertionError(f"no resolver for the computed imports in {rel}")


def violations(paths: Iterable[Path], only: Layer | None = None) -> list[str]:
    problems: list[str] = []
    for path in paths:
        importer = layer_of(module_name(path))
        if importer is None or (only is not None and importer is not only):
            continue
        found, unknown = imports_in(path)
        rel = path.relative_to(ROOT).as_posix()
        if unknown and rel in COMPUTED_IMPORTS:
            line = unknown[0].line
            found += [Import(rel, line, m) for m in _dynamic_targets(rel)]
        elif unknown:
            problems += [f"{u}: an import the layering test cannot resolve" for u in unknown]
        for imp in found:
            if (name := forbidden(importer, imp.module)) is not None:
                problems.append(f"{imp}: '{importer.name}' must not import {name}")
            elif not allowed(importer, imp.module):
                target = layer_of(imp.module)
                what = f"'{target.name}'" if target else imp.module.split(".")[0]
                problems.append(f"{imp} ({what}), not in the depends-on of '{importer.name}'")
    return problems


# --- the tests ----------------------------------------------------------------------------------


def test_the_table_is_read_and_covers_the_core_layers() -> None:
    assert {"ftms", "link", "link.bumble", "coach", "safety", "mqtt", "tui", "sim"} <= set(BY_NAME)
    assert BY_NAME["ftms"].must_not_import == ("asyncio", "bleak")
    assert {"bleak", "aiomqtt", "textual", "bumble"} <= GATED
    assert BY_NAME["bench"].everything


def test_every_source_file_belongs_to_a_row_of_the_table() -> None:
    orphans = [
        path.relative_to(ROOT).as_posix()
        for path in source_files()
        if layer_of(module_name(path)) is None
    ]
    assert orphans == [], "add a row to the layer table in docs/architecture.md"


def test_every_depends_on_entry_names_a_layer_a_module_or_a_gated_library() -> None:
    bad = [
        (layer.name, entry)
        for layer in LAYERS
        for entry in layer.depends_on
        if _is_internal(entry)
        and entry not in BY_NAME
        and not _exists(_entry_module(entry))  # "coach.state" must be a real module
    ]
    assert bad == []
    internal_lookalikes = sorted(
        GATED & {p.name for top in SOURCES for p in (ROOT / top).iterdir()}
    )
    assert internal_lookalikes == []  # a typo'd layer name would otherwise read as a library


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name or "treadcoach")
def test_imports_keep_to_the_layer_table(layer: Layer) -> None:
    assert violations(source_files(), only=layer) == []


def test_the_check_catches_lazy_relative_gated_and_forbidden_imports(tmp_path: Path) -> None:
    """The checker itself: each kind of bad import in a made-up file is reported."""
    cases = {
        "treadcoach/safety/x.py": "def f():\n    from ..tui import app\n",  # the old bench.py
        "treadcoach/coach/x.py": "import bleak\n",  # a gated library
        "treadcoach/ftms/x.py": "import asyncio.locks\n",  # must not
        "treadcoach/link/x.py": "from treadcoach.link.bumble import y\n",  # a sub-layer
        "treadcoach/tui/x.py": "from treadcoach.coach import controller\n",  # module-level entry
        "sim/x.py": "import importlib\nimportlib.import_module('treadcoach.link.session')\n",
        "treadcoach/mqtt/x.py": "import importlib\nimportlib.import_module(name)\n",
    }
    for rel, source in cases.items():
        importer = layer_of(module_name(ROOT / rel))
        assert importer is not None, rel
        found, unknown = imports_in(ROOT / rel, source)
        bad = [i for i in found if forbidden(importer, i.module) or not allowed(importer, i.module)]
        assert bad or unknown, rel
    good = "from treadcoach.coach.state import SessionState\nfrom treadcoach import __version__\n"
    importer = layer_of("treadcoach.tui.x")
    assert importer is not None
    found, _ = imports_in(ROOT / "treadcoach/tui/x.py", good)
    assert [i for i in found if not allowed(importer, i.module)] == []


def _runtime_layers() -> list[Layer]:
    return [layer for layer in LAYERS if layer.must_not_import]


@pytest.mark.parametrize("layer", _runtime_layers(), ids=lambda layer: layer.name)
def test_importing_a_layer_loads_nothing_it_must_not_import(layer: Layer) -> None:
    """Also catches what a dependency drags in, which the source check cannot see."""
    modules = sorted(
        module_name(path)
        for path in source_files()
        if layer_of(module_name(path)) is layer and path.name != "__main__.py"
    )
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    loaded = json.loads(result.stdout)
    assert set(modules) <= set(loaded)  # the imports really ran
    assert [m for m in loaded if forbidden(layer, m)] == []
