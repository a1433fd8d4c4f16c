"""Tier 2 for the transformers engines: `bench run --engine hf` (and hf-cb where transformers has it) on the
tiny architectures on CPU. Each case starts a worker that imports torch (10-30 s on 2 shared cores)."""

import json

import pandas as pd
import pytest

from bench.cli import main
from bench.config.engines import ENGINES
from bench.workload.synthetic import sample_requests

pytestmark = pytest.mark.engine("torch", "transformers")

# 5 prompts in batches of 2: two full batches and a short one
COMMON = ["--num-prompts", "5", "--max-num-seqs", "2", "--input-len", "16", "--output-len", "8"]


def run_row(tmp_path, *args, code=0):
    out = tmp_path / "runs.csv"
    assert main(["run", *args, "--out", str(out)]) == code
    row = pd.read_csv(out).iloc[0].to_dict()
    record = json.loads((tmp_path / "runs" / f"{row['run_id']}.json").read_text())
    return row, record


def check_common(row, record, engine, *, input_tokens, output_tokens, analytic):
    assert row["status"] == "ok", row["error"]
    assert row["engine"] == engine and row["device"] == "cpu" and row["weights"] == "dummy"
    assert row["input_tokens"] == input_tokens and row["output_tokens"] == output_tokens
    assert row["kv_bytes_per_token_analytic"] == analytic
    assert row["kv_bytes_per_token"] == analytic  # the model's own cache holds exactly what the config says
    assert row["max_num_seqs"] == 2
    assert 0 < row["ttft_p50_ms"] <= row["ttft_p99_ms"] and 0 < row["tpot_p50_ms"] <= row["tpot_p99_ms"]
    assert row["output_tok_s"] == pytest.approx(output_tokens / row["elapsed_s"], rel=1e-4)
    assert row["torch_version"] and pd.isna(row["vllm_version"])
    assert record["engine"]["transformers_version"] and row["engine_version"] == record["engine"]["transformers_version"]
    # no GPU: the energy columns stay empty, and nothing pretends otherwise
    for col in ("energy_j", "avg_power_w", "joules_per_output_token", "gpu_util_pct", "energy_source"):
        assert pd.isna(row[col])
    assert record["telemetry"] is None
    assert len(record["requests"]) == 5


@pytest.mark.parametrize("model,analytic", [("tiny-qwen2", 2048), ("tiny-glm", 2048), ("tiny-deepseek-v2", 3456)])
def test_hf_static_batches_exact_tokens_and_kv(tmp_path, model, analytic):
    row, record = run_row(tmp_path, "--model", model, "--engine", "hf", *COMMON)
    check_common(row, record, "hf", input_tokens=5 * 16, output_tokens=5 * 8, analytic=analytic)
    assert [r["output_len"] for r in record["requests"]] == [8] * 5
    # the cache of a full batch at its end: 2 sequences x (16 prompt + 8 output - 1, the last token is not cached)
    assert row["kv_capacity_tokens"] == 2 * (16 + 8 - 1)
    assert record["kv_cache"]["allocated_bytes"] == row["kv_capacity_tokens"] * analytic
    assert pd.isna(row["kv_num_blocks"]) and record["engine"]["batching"] == "static"
    # static batching: a later batch waits for the earlier ones, so its TTFT includes their whole run
    ttft = [r["ttft_s"] for r in record["requests"]]
    assert ttft[0] == ttft[1] < ttft[2] == ttft[3] < ttft[4]


def test_hf_varying_lengths_left_padded_each_request_gets_its_own_length(tmp_path):
    row, record = run_row(tmp_path, "--model", "tiny-glm", "--engine", "hf", *COMMON, "--length-dist", "uniform",
                          "--range-ratio", "0.5", "--seed", "3")
    want = sample_requests(5, 16, 8, vocab_size=4096, seed=3, dist="uniform", range_ratio=0.5,
                           avoid_token_ids=frozenset({0, 2}))
    check_common(row, record, "hf", input_tokens=sum(r.prompt_len for r in want),
                 output_tokens=sum(r.output_len for r in want), analytic=2048)
    assert [r["output_len"] for r in record["requests"]] == [r.output_len for r in want]
    assert [r["prompt_len"] for r in record["requests"]] == [r.prompt_len for r in want]


@pytest.mark.skipif("hf-cb" not in ENGINES, reason="the installed transformers has no continuous batching")
def test_hf_continuous_batching_exact_tokens_and_paged_kv(tmp_path):
    row, record = run_row(tmp_path, "--model", "tiny-qwen2", "--engine", "hf-cb", *COMMON)
    check_common(row, record, "hf-cb", input_tokens=5 * 16, output_tokens=5 * 8, analytic=2048)
    assert [r["output_len"] for r in record["requests"]] == [8] * 5
    assert row["kv_num_blocks"] * row["kv_block_size"] == row["kv_capacity_tokens"]
    assert record["engine"]["batching"] == "continuous"


@pytest.mark.parametrize("args,needle", [
    (["--model", "tiny-qwen2", "--engine", "hf", "--tensor-parallel-size", "2"], "the hf engine runs on one device"),
    (["--model", "tiny-qwen2", "--engine", "hf", "--kv-cache-dtype", "fp8"], "keeps its KV cache in the model's dtype"),
    pytest.param(["--model", "tiny-deepseek-v2", "--engine", "hf-cb"], "not MLA latents",
                 marks=pytest.mark.skipif("hf-cb" not in ENGINES, reason="no continuous batching here")),
])
def test_what_the_hf_engines_cannot_run_is_bad_input(tmp_path, capsys, args, needle):
    out = tmp_path / "runs.csv"
    code = main(["run", *args, "--input-len", "8", "--output-len", "4", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not out.exists()
