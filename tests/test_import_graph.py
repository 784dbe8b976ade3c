"""The import graph of the project's code has no cycle (issue 15): no module reaches itself through
its imports, lazy ones inside functions included (only `if TYPE_CHECKING:` imports are left out).

The layering itself (apps import downward only, `portfolio/` imports no app) is import-linter's
contract in pyproject.toml, checked by `make lint`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portfolio", "initiatives", "budgets", "split", "dashboard", "reports", "demo")


def cycles(graph) -> set[tuple[str, ...]]:
    """Every import A → B for which B also reaches A, as the chain from B back to A."""
    found = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                found.add((module, *chain))
    return found


def test_no_module_reaches_itself_through_its_imports(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(ROOT), *sys.path])
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=True)

    assert len(graph.modules) > 100  # the whole code base was read
    assert cycles(graph) == set()


def test_a_cycle_is_found_when_there_is_one():
    graph = grimp.ImportGraph()
    for module in ("a", "a.models", "a.services"):
        graph.add_module(module)
    graph.add_import(importer="a.models", imported="a.services")
    graph.add_import(importer="a.services", imported="a.models")

    assert cycles(graph) == {("a.models", "a.services", "a.models"), ("a.services", "a.models", "a.services")}
