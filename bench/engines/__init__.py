"""Engine registry: names -> "module:Class" strings, imported only when a case runs.

Importing bench (or running the unit tests) therefore never imports vllm or torch.
"""

from __future__ import annotations

import importlib

from bench.catalog import close_names
from bench.errors import BenchError

ENGINES: dict[str, str] = {
    "vllm": "bench.engines.vllm_offline:VllmOfflineEngine",
    "sim": "bench.engines.sim:SimEngine",  # roofline prediction, no GPU (needs --hardware)
}


def check_engine_name(name: str) -> None:
    if name not in ENGINES:
        hint = close_names(name, list(ENGINES))
        dym = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise BenchError(f"unknown engine '{name}'{dym} (engines: {', '.join(ENGINES)})")


def load_engine(name: str):
    check_engine_name(name)
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)
