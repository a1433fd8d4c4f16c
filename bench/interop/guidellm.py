"""GuideLLM's benchmarks.json (placeholder)."""

from __future__ import annotations


def is_report(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list) and "metadata" in doc


def read(path, doc, sha):
    raise NotImplementedError
