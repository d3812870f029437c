"""The import graph of rag/ follows the house's layers: no edge goes up, and there is no cycle.

Every module of rag/ is read with ``ast`` (nothing is imported) and every
``import`` in it, at any depth (inside functions and ``TYPE_CHECKING``
blocks too), is an edge. A module may import its own layer or a lower one.
A new module must be given a layer here, so the map stays complete.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rag"

# Lowest first. A name stands for the module and, with a trailing ".", everything under it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("data", ("rag.types", "rag.errors", "rag.settings", "rag.version")),
    ("text and devices", (
        "rag.sentences", "rag.tokens", "rag.devices", "rag.mmr", "rag.chunking", "rag.candidates", "rag.escaping",
        "rag.models", "rag.ingest", "rag.ingest.", "rag.evaluation.metrics", "rag.evaluation.dataset",
    )),
    ("storage, embedding, generation", (
        "rag.storage", "rag.storage.", "rag.embedding", "rag.onnx_embedding", "rag.generation", "rag.generation.",
        "rag.citations",
        # Renderings of answers say how sure they are in the generator's words (rag.generation.confidence).
        "rag.render",
    )),
    ("pipeline and Rag", ("rag.retrieval", "rag.pipeline", "rag.core")),
    ("front ends", (
        "rag.frontend", "rag.cli", "rag.cli_options", "rag.web", "rag.web.", "rag.evaluation", "rag.evaluation.runner",
        "rag.evaluation.cli",
    )),
    # The package's front door: ``rag.Rag`` and ``rag.Settings``, imported lazily on first use.
    ("package", ("rag",)),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    for level, (_, names) in enumerate(LAYERS):
        for name in names:
            if module == name or (name.endswith(".") and module.startswith(name)):
                return level
    raise AssertionError(f"{module} has no layer in tests/test_layers.py LAYERS; give it one")


def imported(module: str, tree: ast.AST) -> set[str]:
    """The rag modules ``module`` imports anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "rag" or a.name.startswith("rag.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != "rag" and not node.module.startswith("rag."):
                continue
            for alias in node.names:  # "from rag import pipeline" imports the module rag.pipeline
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found - {module}


GRAPH = {name: imported(name, ast.parse(path.read_text(encoding="utf-8"))) for name, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    assert len(MODULES) > 30
    for module in MODULES:
        layer_of(module)


def upward_edges(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle met by a depth-first walk (empty when the graph is acyclic)."""
    state: dict[str, str] = {}
    path: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_no_import_goes_up_a_layer() -> None:
    assert upward_edges(GRAPH) == []


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(GRAPH) == []


def test_imports_are_of_modules_that_exist() -> None:
    """An import of a module that moved would silently load an old copy from an editable install."""
    missing = sorted(f"{m} imports {t}" for m, targets in GRAPH.items() for t in targets if t not in MODULES)
    assert missing == []


def test_the_checks_find_a_planted_upward_edge_and_cycle() -> None:
    graph = {k: set(v) for k, v in GRAPH.items()}
    graph["rag.types"].add("rag.core")
    assert upward_edges(graph) == ["rag.types (data) imports rag.core (pipeline and Rag)"]
    assert any(c[0] == c[-1] and {"rag.types", "rag.core"} <= set(c) for c in cycles(graph))
