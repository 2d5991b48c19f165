"""The architecture as the import graph shows it, read from the source without importing anything (milliseconds):
no module imports itself round a circle, the library never imports the app nor Gradio, and the core a learner
reads first never imports the lab's experiments built on it. ``python -m tests.test_layout`` prints the edges."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("charlstm", "demo")
# The files a learner reads to train and sample a model, with what they stand on (the machine it runs on); the
# lab's experiments import them, never the other way round.
CORE = {
    "charlstm.vocab",
    "charlstm.data",
    "charlstm.config",
    "charlstm.model",
    "charlstm.cell",
    "charlstm.training",
    "charlstm.safeguards",
    "charlstm.sampling",
    "charlstm.steppers",
    "charlstm.clamp",
    "charlstm.evaluation",
    "charlstm.checkpoint",
    "charlstm.paths",
    "charlstm.machine.precision",
    "charlstm.machine.device",
    "charlstm.machine.distributed",
}
# The lab's old module names, kept as aliases of the new ones (each file makes its name that very module).
ALIASES = {"shannon": "guess", "moments": "time_machine", "memorisation": "copying", "runs": "run_changes"}
# The lab's experiments (each a module of charlstm/lab/), and `run`, the run the app and the CLI hold, built on both.
LAB = {
    *(f"charlstm.lab.{name}" for name in ("explain", "reach", "guess", "time_machine", "steering", "race")),
    *(f"charlstm.lab.{name}" for name in ("copying", "run_changes", "report")),
    *(f"charlstm.lab.{name}" for name in ALIASES),
    "charlstm.run",
}


def _module(path: Path) -> str:
    """The dotted name of a file of the project: demo/tabs/writes.py -> demo.tabs.writes, a package's __init__.py
    -> the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    where = ROOT / Path(*name.split("."))
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def _targets(node: ast.AST, package: str) -> list[str]:
    """The project modules one import statement names (``from . import a, b`` names a and b; ``from ..server
    import c`` names the sibling package's c)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        parts = package.split(".")
        base = ".".join([*parts[: len(parts) - (node.level - 1)], *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    names = [f"{base}.{a.name}" for a in node.names]
    return [n for n in names if _is_module(n)] or [base]


def files() -> list[Path]:
    """Every module of the library and the app, in their sub-packages too."""
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def imports() -> dict[str, set[str]]:
    """Each module of the library and the app -> the project modules it imports (at the top or inside a function)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in files():
        module = _module(path)
        package = module if path.stem == "__init__" else module.rpartition(".")[0]
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
    lab = LAB | {m for m in imports() if m.startswith("charlstm.lab")}
    assert {(m, t) for m, ts in imports().items() if m in CORE for t in ts if t in lab} == set()


def test_the_named_core_and_lab_modules_exist():
    for name in CORE | LAB:
        assert (ROOT / Path(*name.split("."))).with_suffix(".py").exists(), name


def test_every_module_of_the_lab_is_named_and_every_package_says_what_it_holds():
    assert {m for m in imports() if m.startswith("charlstm.lab.")} == {m for m in LAB if m.startswith("charlstm.lab.")}
    for path in files():
        if path.name == "__init__.py":
            assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path


def test_the_readme_code_map_names_every_module_of_each_folder():
    rows = {}  # folder -> the names its row of the README's code map writes in backticks
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in readme.split("## Code map", 1)[1].split("\n## ", 1)[0].splitlines():
        if line.startswith("| `"):
            folder, _, text = line[3:].partition("` |")
            rows[folder.rstrip("/")] = {word.removesuffix(".py") for word in text.split("`")[1::2]}
    for path in files():
        folder = path.parent.relative_to(ROOT).as_posix()
        if path.stem not in ("__init__", "__main__"):
            assert path.stem in rows.get(folder, set()), f"{path.relative_to(ROOT)} is not on the README's code map"


if __name__ == "__main__":
    for module, targets in sorted(imports().items()):
        for target in sorted(targets):
            print(f"{module} -> {target}")
