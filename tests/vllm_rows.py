"""What every vLLM CPU-build row of the engine tests must hold (tests/engines/test_vllm_offline.py, and the dry GPU
reference run's rows in tests/scripts/test_gpu_reference.py): 8 requests (or `requests`) at max_num_seqs 4 in a
1 GiB KV cache."""

import json

import pytest

from bench.config.catalog import resolve_model
from bench.config.run import mtp_draft_layers
from bench.roofline import bound as roofline
from bench.model import attention, modelmath


def check_row(row, record, *, input_tokens, output_tokens, analytic, requests=8):
    assert row["status"] == "ok", row["error"]
    assert row["engine"] == "vllm" and row["device"] == "cpu" and row["weights"] == "dummy"
    assert row["input_tokens"] == input_tokens and row["output_tokens"] == output_tokens
    assert row["kv_bytes_per_token_analytic"] == analytic
    assert row["kv_bytes_per_token"] == analytic  # what vLLM allocated, per token of capacity
    # one block pool; a model with sliding-window and full layers has two KV-cache groups drawing on it, so the
    # pool holds blocks x block size / groups tokens of every layer
    groups = 2 if attention.layout(resolve_model(row["model"]).config).sliding else 1
    assert record["kv_cache"]["groups"] == groups
    assert row["kv_num_blocks"] * row["kv_block_size"] == row["kv_capacity_tokens"] * groups
    # the analytic capacity (bench.roofline) is what vLLM allocated: whole blocks of the 1 GiB asked for
    # (this was tests/test_engine_kv_capacity.py, which started three more engines to check it)
    config = resolve_model(row["model"]).config
    spec = record["config"].get("speculative_config")
    draft = mtp_draft_layers(config, json.loads(spec)["method"] if spec else None)
    assert modelmath.kv_bytes_per_token(config, row["kv_cache_dtype"], row["dtype"], draft_layers=draft) == analytic
    assert row["kv_capacity_tokens"] == roofline.kv_capacity_tokens(2**30, analytic, row["kv_block_size"])
    assert row["kv_capacity_tokens"] * analytic == pytest.approx(row["kv_cache_gb"] * 1e9, rel=1e-6)
    assert row["kv_cache_gb"] <= 2**30 / 1e9 * (1 + 1e-6)  # within the 1 GiB asked for (CSV keeps 6 decimals)
    assert row["max_num_seqs"] == 4
    assert 0 < row["ttft_p50_ms"] <= row["ttft_p99_ms"] and 0 < row["tpot_p50_ms"] <= row["tpot_p99_ms"]
    assert row["output_tok_s"] == pytest.approx(output_tokens / row["elapsed_s"], rel=1e-4)
    assert row["peak_memory_gb"] > 0.1 and row["vllm_version"] and row["torch_version"]
    assert row["engine_version"] == row["vllm_version"]
    # what else the machine did over the timed run (bench.measure.hostload): read, a share of the machine
    assert 0 <= row["host_other_cpu_pct"] <= 100 and 0 <= row["host_steal_pct"] <= 100
    assert row["ttft_p50_ms"] <= row["ttft_p90_ms"] <= row["ttft_p99_ms"]
    assert row["e2e_mean_ms"] == pytest.approx(sum(r["e2e_s"] for r in record["requests"]) / requests * 1000,
                                              rel=1e-5)
    assert len(record["requests"]) == requests
    assert record["config"]["max_num_seqs"] == 4 and record["environment"]["python_version"]
    # vLLM 0.32 reports every step's token counts: the input/output split adds up to the wall time
    assert row["split_method"] == "steps-tokens"
    assert row["prefill_s"] + row["decode_s"] == pytest.approx(row["elapsed_s"], rel=1e-4)
    assert 0 < row["prefill_s"] < row["elapsed_s"]
