"""The lazy engine registry: an engine's module is imported only when a case runs (bench.config.engines holds
the table, read without importing any engine), so importing bench never imports vllm or torch."""

from __future__ import annotations

import importlib

from bench.config.engines import check_engine_name, engines, not_installed
from bench.core.errors import BenchError


def load_engine(name: str):
    """Engine `name`'s class, its module imported now. A package that module needs and this Python lacks (a
    plugin's torch, say) is bad input: one line naming the package and how to install it."""
    check_engine_name(name)
    module, cls = engines()[name].split(":")
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if not e.name:
            raise
        raise BenchError(not_installed(name, e.name.split(".")[0])) from None
    return getattr(loaded, cls)
