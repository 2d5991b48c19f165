"""The architecture as the import graph shows it, read from the source without importing anything (milliseconds):
no module imports itself round a circle, the library never imports the app nor Gradio, and the core a learner
reads first never imports the lab's experiments built on it. ``python -m tests.test_layout`` prints the edges."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("charlstm", "demo")
# The files a learner reads to train and sample a model, with what they stand on; the lab's experiments import
# them, never the other way round.
CORE = {
    "vocab",
    "data",
    "config",
    "model",
    "cell",
    "training",
    "safeguards",
    "sampling",
    "steppers",
    "evaluation",
    "checkpoint",
    "precision",
    "device",
    "distributed",
    "paths",
}
LAB = {"explain", "reach", "shannon", "moments", "steering", "race", "memorisation", "runs", "report", "run"}


def _module(path: Path) -> str:
    package = path.parent.name
    return package if path.stem == "__init__" else f"{package}.{path.stem}"


def _targets(node: ast.AST, package: str) -> list[str]:
    """The project modules one import statement names (``from . import a, b`` names a and b)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = package if node.level else (node.module or "")
    if node.level and node.module:
        base = f"{package}.{node.module}"
    names = [f"{base}.{a.name}" for a in node.names]
    return [n for n in names if (ROOT / Path(*n.split("."))).with_suffix(".py").exists()] or [base]


def imports() -> dict[str, set[str]]:
    """Each module of the library and the app -> the project modules it imports (at the top or inside a function)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            module = _module(path)
            graph[module]  # a module that imports nothing is still a node
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                for target in _targets(node, package):
                    if target.split(".")[0] in (*PACKAGES, "gradio") and target != module:
                        graph[module].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm): each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            if group:
                found.append(sorted([v, *group]))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_round_a_circle():
    assert circles(imports()) == []


def test_the_library_never_imports_the_app_nor_gradio():
    library = {m: ts for m, ts in imports().items() if m.startswith("charlstm")}
    assert {(m, t) for m, ts in library.items() for t in ts if t.split(".")[0] in ("demo", "gradio")} == set()


def test_the_core_never_imports_the_lab():
    lab = {f"charlstm.{name}" for name in LAB}
    core = {f"charlstm.{name}" for name in CORE}
    assert {(m, t) for m, ts in imports().items() if m in core for t in ts if t in lab} == set()


def test_the_named_core_and_lab_modules_exist():
    for name in CORE | LAB:
        assert (ROOT / "charlstm" / f"{name}.py").exists(), name


if __name__ == "__main__":
    for module, targets in sorted(imports().items()):
        for target in sorted(targets):
            print(f"{module} -> {target}")
