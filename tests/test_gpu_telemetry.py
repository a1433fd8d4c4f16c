"""Tier 3: real NVML on a CUDA GPU (nvidia-ml-py), and the hf engine's energy columns there. Skipped without a GPU."""

import time

import pandas as pd
import pytest

from bench.cli import main
from bench.measure.telemetry import NvmlSampler

pytestmark = pytest.mark.gpu


def busy_gpu(seconds: float) -> None:
    """Matrix products for `seconds`, when torch with CUDA is here; else the GPU idles (still draws power)."""
    try:
        import torch
    except ImportError:
        time.sleep(seconds)
        return
    if not torch.cuda.is_available():
        time.sleep(seconds)
        return
    a = torch.randn(4096, 4096, device="cuda")
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a = (a @ a).clamp_(-1, 1)
    torch.cuda.synchronize()


def test_real_nvml_sampler_measures_power_and_energy():
    pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    sampler = NvmlSampler(interval_s=0.05).start()
    busy_gpu(2.0)
    t = sampler.stop()
    assert not t.error, t.error
    assert t.gpus == 1 and t.samples >= 10 and t.duration_s == pytest.approx(2.0, abs=0.5)
    assert t.energy_source in ("nvml-counter", "nvml-power")
    assert 10 < t.avg_power_w < 2000 and t.energy_j == pytest.approx(t.avg_power_w * t.duration_s)
    assert 0 <= t.gpu_util_pct <= 100 and t.peak_memory_bytes > 0
    assert t.sm_clock_mhz_max is None or t.sm_clock_mhz_max > 100
    assert t.temperature_c_max is None or 0 < t.temperature_c_max < 120


@pytest.mark.engine("torch", "transformers")
def test_hf_engine_on_the_gpu_fills_the_energy_columns(tmp_path):
    pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    out = tmp_path / "runs.csv"
    assert main(["run", "--model", "tiny-qwen2", "--engine", "hf", "--device", "cuda", "--input-len", "64",
                 "--output-len", "32", "--num-prompts", "16", "--max-num-seqs", "8", "--out", str(out)]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["status"] == "ok" and row["device"] == "cuda" and row["output_tokens"] == 16 * 32
    assert row["kv_bytes_per_token"] == 2048 == row["kv_bytes_per_token_analytic"]
    assert row["energy_j"] > 0 and row["avg_power_w"] > 0 and row["energy_source"].startswith("nvml")
    assert row["joules_per_output_token"] == pytest.approx(row["energy_j"] / row["output_tokens"], rel=1e-4)
    assert 0 <= row["gpu_util_pct"] <= 100
