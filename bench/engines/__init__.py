"""Engine registry: names -> "module:Class" strings, imported only when a case runs.

Importing bench (or running the unit tests) therefore never imports vllm or torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from bench.catalog import close_names
from bench.errors import BenchError


def has_hf_continuous_batching() -> bool:
    """Whether the installed transformers ships continuous batching (generate_batch), found without importing it."""
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / "generation" / "continuous_batching" / "__init__.py").is_file()
               for p in spec.submodule_search_locations)


ENGINES: dict[str, str] = {
    "vllm": "bench.engines.vllm_offline:VllmOfflineEngine",
    "sim": "bench.engines.sim:SimEngine",  # roofline prediction, no GPU (needs --hardware)
    "hf": "bench.engines.hf:HfEngine",
}
if has_hf_continuous_batching():
    ENGINES["hf-cb"] = "bench.engines.hf_cb:HfContinuousBatchingEngine"


def check_engine_name(name: str) -> None:
    if name not in ENGINES:
        hint = close_names(name, list(ENGINES))
        dym = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise BenchError(f"unknown engine '{name}'{dym} (engines: {', '.join(ENGINES)})")


def load_engine(name: str):
    check_engine_name(name)
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)
