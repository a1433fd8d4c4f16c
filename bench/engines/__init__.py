"""The lazy engine registry: an engine's module is imported only when a case runs (bench.config.engines holds
the table, read without importing any engine), so importing bench never imports vllm or torch."""

from __future__ import annotations

import importlib

from bench.config.engines import check_engine_name, engines


def load_engine(name: str):
    check_engine_name(name)
    module, cls = engines()[name].split(":")
    return getattr(importlib.import_module(module), cls)
