"""Tier 2: the real vLLM engine (the CPU build is enough) on tiny architectures of each family.

Each case starts a real engine in its own process (about 30 s on 2 cores). The three families' exact tokens and
KV allocation are checked on the rows of the GPU reference script's dry run (tests/scripts/test_gpu_reference.py), which
starts those engines once for both."""

import json

import pandas as pd
import pytest

from bench.cli import main
from vllm_rows import check_row

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
    # the real architecture's 24 layers and 151,936-token vocabulary in bf16 cost the CPU build seconds a step:
    # the shortest requests that still have a prefill and decode steps, and no warm-up batch (nothing here
    # depends on it; the dry reference run's rows check the warmed-up path)
    row, record = run_ok(tmp_path, "--model", "qwen2.5-0.5b-instruct", "--input-len", "8", "--output-len", "4",
                         "--max-model-len", "256", "--no-warmup")
    check_row(row, record, input_tokens=8 * 8, output_tokens=8 * 4, analytic=12288)
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
