"""Analytic KV capacity equals what vLLM's CPU build allocates, for the tiny architectures.

Tier 2: runs the real engine (about 30 s and 3 GB per model); skipped when vllm is not installed.
Given a KV cache of a fixed size (--cpu-kv-cache-gb), vLLM's block count and bytes must be
bench.roofline.bound.kv_capacity_tokens of that size at bench.roofline.modelmath.kv_bytes_per_token.
"""

import csv
import importlib.util

import pytest

from bench import cli

from bench.roofline import modelmath

from bench.roofline import bound as roofline
from bench.config.catalog import resolve_model

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed"),
]
KV_GIB = 0.0625


@pytest.mark.parametrize("model", ["tiny-qwen2", "tiny-deepseek-v2", "tiny-glm"])
def test_kv_capacity_matches_vllm(model, tmp_path):
    out = tmp_path / "runs.csv"
    rc = cli.main(["run", "--model", model, "--num-prompts", "2", "--input-len", "16", "--output-len", "4",
                   "--no-warmup", "--cpu-kv-cache-gb", str(KV_GIB), "--timeout", "600", "--out", str(out)])
    row = next(csv.DictReader(out.open()))
    assert rc == 0, row["error"]
    per_token = modelmath.kv_bytes_per_token(resolve_model(model).config)
    assert int(row["kv_bytes_per_token_analytic"]) == per_token
    block = int(row["kv_block_size"])
    assert int(row["kv_capacity_tokens"]) == roofline.kv_capacity_tokens(KV_GIB * 2**30, per_token, block)
    if row["kv_bytes_per_token"]:  # bytes of the KV tensors, when the engine exposes them
        assert float(row["kv_bytes_per_token"]) == pytest.approx(per_token)
