"""Tier 2: the real vLLM engine (the CPU build is enough) on tiny architectures of each family.

Each case starts a real engine in its own process (about 30 s on 2 cores)."""

import json

import pandas as pd
import pytest

from bench.cli import main
from bench.config.catalog import resolve_model
from bench.roofline import bound as roofline
from bench.roofline import modelmath
from bench.workload.synthetic import sample_requests

pytestmark = pytest.mark.engine

COMMON = ["--cpu-kv-cache-gb", "1", "--num-prompts", "8", "--max-num-seqs", "4"]


def run_ok(tmp_path, *args):
    out = tmp_path / "runs.csv"
    assert main(["run", *args, *COMMON, "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 1
    row = df.iloc[0].to_dict()
    record = json.loads((tmp_path / "runs" / f"{row['run_id']}.json").read_text())
    return row, record


def check_row(row, record, *, input_tokens, output_tokens, analytic):
    assert row["status"] == "ok", row["error"]
    assert row["engine"] == "vllm" and row["device"] == "cpu" and row["weights"] == "dummy"
    assert row["input_tokens"] == input_tokens and row["output_tokens"] == output_tokens
    assert row["kv_bytes_per_token_analytic"] == analytic
    assert row["kv_bytes_per_token"] == analytic  # what vLLM allocated, per token of capacity
    assert row["kv_num_blocks"] * row["kv_block_size"] == row["kv_capacity_tokens"]
    # the analytic capacity (bench.roofline) is what vLLM allocated: whole blocks of the 1 GiB asked for
    # (this was tests/test_engine_kv_capacity.py, which started three more engines to check it)
    config = resolve_model(row["model"]).config
    assert modelmath.kv_bytes_per_token(config, row["kv_cache_dtype"], row["dtype"]) == analytic
    assert row["kv_capacity_tokens"] == roofline.kv_capacity_tokens(2**30, analytic, row["kv_block_size"])
    assert row["kv_capacity_tokens"] * analytic == pytest.approx(row["kv_cache_gb"] * 1e9, rel=1e-6)
    assert row["kv_cache_gb"] <= 2**30 / 1e9 * (1 + 1e-6)  # within the 1 GiB asked for (CSV keeps 6 decimals)
    assert row["max_num_seqs"] == 4
    assert 0 < row["ttft_p50_ms"] <= row["ttft_p99_ms"] and 0 < row["tpot_p50_ms"] <= row["tpot_p99_ms"]
    assert row["output_tok_s"] == pytest.approx(output_tokens / row["elapsed_s"], rel=1e-4)
    assert row["peak_memory_gb"] > 0.1 and row["vllm_version"] and row["torch_version"]
    assert row["engine_version"] == row["vllm_version"]
    assert row["ttft_p50_ms"] <= row["ttft_p90_ms"] <= row["ttft_p99_ms"]
    assert row["e2e_mean_ms"] == pytest.approx(sum(r["e2e_s"] for r in record["requests"]) / 8 * 1000, rel=1e-5)
    assert len(record["requests"]) == 8
    assert record["config"]["max_num_seqs"] == 4 and record["environment"]["python_version"]
    # vLLM 0.32 reports every step's token counts: the input/output split adds up to the wall time
    assert row["split_method"] == "steps-tokens"
    assert row["prefill_s"] + row["decode_s"] == pytest.approx(row["elapsed_s"], rel=1e-4)
    assert 0 < row["prefill_s"] < row["elapsed_s"]


@pytest.mark.parametrize("model,analytic", [("tiny-qwen2", 2048), ("tiny-deepseek-v2", 3456)])
def test_tiny_architecture_exact_tokens_and_kv(tmp_path, model, analytic):
    row, record = run_ok(tmp_path, "--model", model, "--input-len", "32", "--output-len", "16")
    check_row(row, record, input_tokens=8 * 32, output_tokens=8 * 16, analytic=analytic)
    assert {r["output_len"] for r in record["requests"]} == {16}


def test_glm_with_varying_lengths_generates_exactly_the_sampled_lengths(tmp_path):
    row, record = run_ok(tmp_path, "--model", "tiny-glm", "--input-len", "32", "--output-len", "16",
                         "--length-dist", "uniform", "--range-ratio", "0.5", "--seed", "3")
    want = sample_requests(8, 32, 16, vocab_size=4096, seed=3, dist="uniform", range_ratio=0.5,
                           avoid_token_ids=frozenset({0, 2}))
    check_row(row, record, input_tokens=sum(r.prompt_len for r in want),
              output_tokens=sum(r.output_len for r in want), analytic=2048)
    assert [r["output_len"] for r in record["requests"]] == [r.output_len for r in want]


def cpu_has_fp8_kv() -> bool:
    """vLLM's CPU build stores an fp8 KV cache only on x86 with AVX-512 or AMX (bench.measure.cpu_features)."""
    from bench.measure.cpu_features import cpu_flags, has_fp8_kv

    return has_fp8_kv(cpu_flags())


@pytest.mark.skipif(not cpu_has_fp8_kv(), reason="this CPU has no AVX-512/AMX, which vLLM's fp8 KV cache needs")
def test_fp8_kv_cache_halves_bytes_per_token(tmp_path):
    row, record = run_ok(tmp_path, "--model", "tiny-qwen2", "--input-len", "16", "--output-len", "8",
                         "--kv-cache-dtype", "fp8")
    check_row(row, record, input_tokens=8 * 16, output_tokens=8 * 8, analytic=1024)


def test_qwen2_5_0_5b_real_architecture(tmp_path):
    row, record = run_ok(tmp_path, "--model", "qwen2.5-0.5b-instruct", "--input-len", "32", "--output-len", "8",
                         "--max-model-len", "256")
    check_row(row, record, input_tokens=8 * 32, output_tokens=8 * 8, analytic=12288)
    assert row["hub_id"] == "Qwen/Qwen2.5-0.5B-Instruct"


def test_unsupported_architecture_is_bad_input(tmp_path, capsys):
    model = tmp_path / "weird"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({
        "architectures": ["NopeForCausalLM"], "model_type": "nope", "vocab_size": 100, "num_hidden_layers": 1,
        "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 1, "max_position_embeddings": 64}))
    out = tmp_path / "runs.csv"
    code = main(["run", "--model", str(model), "--input-len", "4", "--output-len", "4", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "NopeForCausalLM is not supported by vLLM" in err and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_forcing_cuda_on_the_cpu_build_is_bad_input(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch missing")
    out = tmp_path / "runs.csv"
    code = main(["run", "--model", "tiny-qwen2", "--device", "cuda", "--out", str(out)])
    err = capsys.readouterr().err
    if "cuda" in err and code == 0:  # a CUDA box: the case ran
        pytest.skip("this machine has a CUDA vLLM")
    assert code == 2 and "--device cuda" in err and not out.exists()


@pytest.mark.skipif(cpu_has_fp8_kv(), reason="this CPU runs fp8 KV; the failure path is tested where it cannot")
def test_engine_failure_is_a_failed_row_with_the_root_cause(tmp_path):
    out = tmp_path / "runs.csv"
    code = main(["run", "--model", "tiny-qwen2", "--input-len", "16", "--output-len", "8", "--kv-cache-dtype", "fp8",
                 *COMMON, "--out", str(out)])
    assert code == 3
    row = pd.read_csv(out).iloc[0]
    assert row["status"] == "failed" and "AVX-512" in row["error"]
    assert pd.isna(row["output_tok_s"]) and row["kv_bytes_per_token_analytic"] == 1024
