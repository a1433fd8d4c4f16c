"""Tier 2: workloads on the real vLLM engine (CPU build), tiny Qwen2: shared prefixes with prefix caching on,
a ShareGPT-format file tokenized by the project's word-level tokenizer, and the server's prefix-cache counters.
One engine start each."""

from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main

pytestmark = pytest.mark.engine

DATA = Path(__file__).resolve().parents[1] / "data" / "workloads"
COMMON = ["--model", "tiny-qwen2", "--cpu-kv-cache-gb", "1", "--max-model-len", "1024", "--no-warmup"]


def run_row(tmp_path, *args) -> dict:
    out = tmp_path / "runs.csv"
    assert main(["run", *COMMON, *args, "--out", str(out)]) == 0
    return pd.read_csv(out).iloc[0].to_dict()


def test_shared_prefixes_hit_vllms_prefix_cache(tmp_path):
    # 8 requests of 640 tokens opening with one of 2 system prompts of 512 (4 blocks of 128 on the CPU build);
    # 2 run at a time, so requests 3-8 find their prefix cached: 6 x 512 = 3,072 of 8 x 640 = 5,120 tokens, 0.6
    row = run_row(tmp_path, "--dataset", "shared-prefix", "--prefix-len", "512", "--num-prefixes", "2",
                  "--input-len", "640", "--output-len", "4", "--num-prompts", "8", "--max-num-seqs", "2",
                  "--enable-prefix-caching")
    assert row["status"] == "ok", row["error"]
    assert row["prefix_caching"] == "on" and row["dataset"] == "shared-prefix" and row["kv_block_size"] == 128
    assert row["input_tokens"] == 5120
    assert row["cached_prompt_tokens"] == 3072 and row["prefix_cache_hit_rate"] == pytest.approx(0.6)


def test_a_sharegpt_file_runs_offline(tmp_path):
    row = run_row(tmp_path, "--dataset", f"sharegpt:{DATA / 'sharegpt.json'}", "--tokenizer", str(DATA / "tokenizer"),
                  "--num-prompts", "6", "--max-num-seqs", "6")
    assert row["status"] == "ok", row["error"]
    assert row["dataset"] == "sharegpt" and row["prefix_caching"] == "off" and row["cached_prompt_tokens"] == 0
    # the same requests bench builds for the row: exact lengths (ignore_eos), so the counts match to the token
    from bench.config import run as runconfig
    from bench.workload import source

    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_model_len": 1024, "num_prompts": 6,
                                                    "dataset": f"sharegpt:{DATA / 'sharegpt.json'}",
                                                    "tokenizer": str(DATA / "tokenizer")}))
    reqs = source.build(cfg.model_dump(), model.config).requests
    assert row["completed"] == 6
    assert row["input_tokens"] == sum(r.prompt_len for r in reqs)
    assert row["output_tokens"] == sum(r.output_len for r in reqs)


def test_the_servers_prefix_cache_counters_give_the_hits(tmp_path):
    # the offline case above through vLLM's OpenAI server, one request at a time: /metrics prefix_cache_hits /
    # prefix_cache_queries over the level (warm-up excluded) give the same 3,072 cached tokens
    out = tmp_path / "serve.csv"
    code = main(["serve", "--model", "tiny-qwen2", "--cpu-kv-cache-gb", "1", "--max-model-len", "1024",
                 "--dataset", "shared-prefix", "--prefix-len", "512", "--num-prefixes", "2", "--input-len", "640",
                 "--output-len", "4", "--num-prompts", "8", "--concurrency", "1", "--enable-prefix-caching",
                 "--out", str(out)])
    row = pd.read_csv(out).iloc[0]
    assert code == 0 and row["status"] == "ok" and row["prefix_caching"] == "on"
    assert row["cached_prompt_tokens"] == 3072 and row["input_tokens"] == 5120
    assert row["prefix_cache_hit_rate"] == pytest.approx(3072 / 5120, abs=0.01)  # vLLM's queried tokens
