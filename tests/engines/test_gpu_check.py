"""Tier 3: a CUDA GPU with the vllm package. Skipped without a GPU (see conftest.py)."""

import pandas as pd
import pytest

from bench.cli import main

pytestmark = [pytest.mark.gpu, pytest.mark.engine]


@pytest.mark.parametrize("model,analytic", [("tiny-qwen2", 2048), ("tiny-deepseek-v2", 3456), ("tiny-glm", 2048)])
def test_tiny_architectures_on_the_gpu(tmp_path, model, analytic):
    out = tmp_path / "runs.csv"
    assert main(["run", "--model", model, "--device", "cuda", "--input-len", "64", "--output-len", "32",
                 "--num-prompts", "16", "--max-num-seqs", "8", "--gpu-memory-utilization", "0.3",
                 "--out", str(out)]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["status"] == "ok" and row["device"] == "cuda" and isinstance(row["device_name"], str)
    assert row["output_tokens"] == 16 * 32 and row["input_tokens"] == 16 * 64
    assert row["kv_bytes_per_token"] == analytic == row["kv_bytes_per_token_analytic"]
    assert row["peak_memory_source"] == "nvml" and row["peak_memory_gb"] > 0
    assert row["driver_version"] and row["gpu_count"] >= 1
    assert pd.isna(row["energy_note"]), row["energy_note"]  # a whole card, a counter that advances: nothing to say
    assert row["energy_j"] > 0 and row["avg_power_w"] > 0 and row["energy_source"].startswith("nvml")
    assert row["joules_per_output_token"] == pytest.approx(row["energy_j"] / row["output_tokens"], rel=1e-4)
