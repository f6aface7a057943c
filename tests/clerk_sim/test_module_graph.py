"""The Clerk simulator's modules import each other without a circle, counting every import: those under
``if TYPE_CHECKING:`` and inside functions too (a circle that only type checkers follow is still one a
reader has to untangle). The HTTP layer names the simulator through ``interface.SimInterface``."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import tiersync.clerk_sim as clerk_pkg

PACKAGE = Path(clerk_pkg.__file__).parent
MAX_LINES = 400


def _name(path: Path) -> str:
    """``models/users`` for models/users.py, ``models`` for models/__init__.py."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    return "/".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts) or "."


def _resolve(parts: list[str]) -> str | None:
    """The module (or package) inside the simulator that these import-path parts name."""
    base = PACKAGE.joinpath(*parts)
    if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
        return "/".join(parts) or "."
    return None


def _imports(path: Path) -> set[str]:
    """Every simulator module this file imports, anywhere in it, with the packages Python runs on the way."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue  # absolute imports: the simulator uses relative ones for its own modules
        if node.level - 1 > len(package):
            continue  # above the simulator (tiersync.server)
        base = package[: len(package) - (node.level - 1)]
        target = [*base, *(node.module.split(".") if node.module else [])]
        for alias in node.names:  # `from . import errors` names a module; `from .x import f` a name in x
            module = _resolve([*target, alias.name]) or _resolve(target)
            if module is None:
                continue
            found.add(module)
            # Importing models/params first runs models/__init__ (unless we are inside models already).
            parts = module.split("/") if module != "." else []
            for depth in range(1, len(parts)):
                if parts[:depth] != package[:depth]:
                    found.add("/".join(parts[:depth]))
    return found


def _graph() -> dict[str, set[str]]:
    return {_name(p): _imports(p) - {_name(p)} for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def test_the_graph_is_really_read() -> None:
    graph = _graph()
    assert {"interface", "errors"} <= graph["routes"]
    assert {"models", "models/params"} <= graph["pages"]
    assert {"models/users", "models/templates"} <= graph["models/sessions"]
    assert "server" in graph["sim"]


def test_no_import_circle_counting_type_only_imports() -> None:
    try:
        TopologicalSorter(_graph()).prepare()
    except CycleError as exc:
        pytest.fail("import circle, each module imported by the next: " + " <- ".join(exc.args[1]))


def test_the_http_layer_does_not_name_the_simulator_class() -> None:
    for name in ("asgi", "routes", "control", "pages", "server"):
        assert "sim" not in _graph()[name], name


def test_modules_are_small_enough_to_read_in_one_go() -> None:
    sizes = {_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert {name: n for name, n in sizes.items() if n >= MAX_LINES} == {}
