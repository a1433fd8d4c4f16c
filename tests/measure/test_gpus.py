"""Tier 3: real NVML on a CUDA GPU (nvidia-ml-py), and the hf engine's energy columns there. Skipped without a GPU."""

import os
import time

import pandas as pd
import pytest

from bench.cli import main
from bench.measure.telemetry import NvmlSampler

pytestmark = pytest.mark.gpu


def gpu_busy_loop():
    """A function that keeps the GPU busy for `seconds`, made ready before any timing starts: torch imported, CUDA
    and cuBLAS started, the matmul warmed up and synchronized. Each iteration synchronizes, so the loop ends when
    its work does (no queue of kernels runs past the window). Without torch with CUDA the GPU idles (still draws
    power)."""
    try:
        import torch
    except ImportError:
        return time.sleep
    if not torch.cuda.is_available():
        return time.sleep
    a = torch.randn(4096, 4096, device="cuda")
    out = torch.empty_like(a)
    for _ in range(3):
        torch.matmul(a, a, out=out)
    torch.cuda.synchronize()

    def busy(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            torch.matmul(a, a, out=out)
            torch.cuda.synchronize()

    return busy


def test_real_nvml_sampler_measures_power_and_energy():
    pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    busy = gpu_busy_loop()  # start-up outside the window
    sampler = NvmlSampler(interval_s=0.05, cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES")).start()
    busy(2.0)
    t = sampler.stop()
    assert not t.error, t.error
    assert t.gpus == 1 and t.samples >= 10 and t.duration_s == pytest.approx(2.0, abs=0.5)
    assert t.energy_source in ("nvml-counter", "nvml-power")
    assert 10 < t.avg_power_w < 2000 and t.energy_j == pytest.approx(t.avg_power_w * t.duration_s)
    assert 0 <= t.gpu_util_pct <= 100 and t.peak_memory_bytes > 0
    assert t.sm_clock_mhz_max is None or t.sm_clock_mhz_max > 100
    assert t.temperature_c_max is None or 0 < t.temperature_c_max < 120


def test_real_nvml_reads_the_visible_gpu_and_its_facts():
    pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    from bench.measure.gpus import device_facts
    from bench.measure.telemetry import PeakMemorySampler

    facts = device_facts()
    assert facts["gpu_count"] >= 1 and facts["device_name"].startswith("NVIDIA") and facts["driver_version"]
    assert facts["driver_cuda_version"].split(".")[0].isdigit()
    s = PeakMemorySampler("cuda", interval_s=60, cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES")).start()
    assert s.stop() > 0 and s.source == "nvml" and len(s.per_gpu_peak_bytes) == 1


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
