"""bench's own import graph has no cycle, and the CLI stays light.

The graph is read with `ast` (nothing imported), so an import inside a function counts too: a cycle
hidden in a function body still ties the two modules together.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "bench"
HEAVY = ("vllm", "torch", "transformers", "ray")


def module_names() -> dict[str, Path]:
    """bench's modules by dotted name (a package is its __init__)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if not level:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The bench modules `name` imports anywhere in its file; `from bench.pkg import x` is bench.pkg.x when
    that is a module, else bench.pkg."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node.module, node.level, name, path.name == "__init__.py")
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, white/grey/black)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_reader_sees_imports_inside_functions_and_resolves_modules():
    graph = import_graph()
    assert "bench.cli" in graph and "bench.config.run" in graph
    assert "bench.config.run" in graph["bench.config.sweep"]  # `from bench.config import run as runconfig`
    assert "bench.config.hardware" in graph["bench.config.run"]  # imported inside resolve()


def test_find_cycle_reports_the_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_bench_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_importing_the_cli_imports_no_engine_package():
    code = ("import json, sys, bench.cli; bench.cli.build_parser(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


# The folders of bench/ from the ground up: a module may import from its own folder and the folders below it,
# never from one above. `bench` is the package's __init__ (the version, the checkout's root).
FLOORS = ["bench", "core", "model", "measure", "workload", "config", "results", "interop", "cost", "roofline", "engines",
          "execution", "analysis", "display", "serve", "studies", "cli", "__main__"]


def folder_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bench"


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs whose imported module sits on a higher floor than its importer."""
    return sorted((a, b) for a, bs in graph.items() for b in bs
                  if FLOORS.index(folder_of(b)) > FLOORS.index(folder_of(a)))


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, bs in graph.items():
        out.setdefault(folder_of(a), set()).update(folder_of(b) for b in bs if folder_of(b) != folder_of(a))
    return out


def test_every_folder_has_a_floor():
    assert sorted({folder_of(m) for m in module_names()}) == sorted(FLOORS)


def test_upward_imports_are_found():
    graph = {"bench.config.run": {"bench.engines.sim"}, "bench.engines.sim": {"bench.config.run"}}
    assert upward_imports(graph) == [("bench.config.run", "bench.engines.sim")]
    assert find_cycle(folder_graph(graph)) == ["config", "engines", "config"]


def test_imports_only_go_down_the_stack():
    up = upward_imports(import_graph())
    assert not up, "imports up the stack (move the code down, or the importer up): " + "; ".join(
        f"{a} -> {b}" for a, b in up)


def test_no_loop_among_folders():
    cycle = find_cycle(folder_graph(import_graph()))
    assert cycle is None, "folders import each other: " + " -> ".join(cycle)


def test_the_tests_mirror_the_package():
    """Unit and engine tests live in tests/<folder>/ named for the bench/ folder they test (test_<module>.py where
    one module is tested); end-to-end command-line tests in tests/e2e/, the scripts' tests in tests/scripts/; only
    support modules (fakes, row builders) and this file sit in tests/ itself."""
    tests = REPO / "tests"
    allowed = set(FLOORS) - {"bench", "__main__"} | {"e2e", "scripts"}
    folders = {p.parent.name for p in tests.glob("*/test_*.py")}
    assert folders <= allowed, f"test folders with no bench/ folder: {sorted(folders - allowed)}"
    assert [p.name for p in tests.glob("test_*.py")] == ["test_imports.py"], \
        "a test file in tests/ itself: move it to tests/<folder>/ (or tests/e2e/ for a command-line test)"
    names = [p.name for p in tests.glob("*/test_*.py")]
    assert len(names) == len(set(names)), "two test files of one name (pytest imports them by name)"
