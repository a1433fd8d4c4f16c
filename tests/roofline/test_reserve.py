"""vLLM's non-KV reserve (its profile run), by hand and against a published start-up log."""

from __future__ import annotations

import pytest

from bench.config import catalog
from bench.roofline import bound, predict, reserve

GIB = 2**30


def test_activation_peak_of_a_dense_model_by_hand():
    """Llama-3.1-70B (hidden 8192, intermediate 28672, vocab 128256), bf16, TP 1.
    8192 tokens, 256 sequences: MLP 8192 x (2 x 8192 + 3 x 28672) x 2 B = 1,677,721,600 B; sampler 256 x 128256 x 22 B
    + 2 x 8192 x 8192 x 2 B = 990,773,248 B: the MLP binds.
    16384 tokens, 1024 sequences: MLP 3,355,443,200 B; sampler 1024 x 128256 x 22 + 2 x 16384 x 8192 x 2
    = 2,889,351,168 + 536,870,912 = 3,426,222,080 B: the sampler binds."""
    cfg = catalog.resolve_model("llama-3.1-70b-instruct").config
    assert reserve.activation_peak_bytes(cfg, 1, 8192, 256) == pytest.approx(1_677_721_600)
    assert reserve.activation_peak_bytes(cfg, 1, 16384, 1024) == pytest.approx(3_426_222_080)
    # TP 4 splits the MLP's intermediate: 8192 x (16384 + 21504) x 2 = 620,756,992 B, below the sampler's
    assert reserve.activation_peak_bytes(cfg, 4, 8192, 256) == pytest.approx(990_773_248)


def test_activation_peak_of_an_moe_model_by_hand():
    """Qwen3-235B-A22B (hidden 4096, 128 experts of intermediate 1536, top-8), TP 4, 8192 tokens: the fused-MoE
    caches 8192 x (2 x 4096 + 8 x (3 x 1536 / 4 + 4096)) x 2 B = 8192 x 50176 x 2 = 822,083,584 B;
    the sampler 256 x 151936 x 22 + 2 x 8192 x 4096 x 2 = 855,703,552 + 134,217,728 = 989,921,280 B."""
    cfg = catalog.resolve_model("qwen3-235b-a22b").config
    assert reserve.activation_peak_bytes(cfg, 4, 8192, 256) == pytest.approx(989_921_280)
    assert reserve.activation_peak_bytes(cfg, 4, 8192, 1) == pytest.approx(822_083_584)  # 1 row: the MoE caches bind


def test_reserve_and_kv_capacity_of_70b_fp8_on_one_h200(monkeypatch):
    """vLLM's defaults on an H200 (1024 sequences, 16384 tokens): 3,426,222,080 B activation + 0.35 GiB non-torch +
    102 graphs x 20 MB = 5.4408 GiB less KV than the bound's cache; at 8k tokens a sequence 23 -> 21."""
    cfg = catalog.resolve_model("llama-3.1-70b-instruct").config
    gpu = predict.gpu_for("H200-SXM")
    # not charged by default (bench.roofline.reserve.CHARGED): a prediction's cache is the bound's
    assert predict.deployment({"quantization": "fp8"}, cfg, gpu).memory_reserve_bytes == 0.0
    monkeypatch.setattr(reserve, "CHARGED", True)
    dep = predict.deployment({"quantization": "fp8"}, cfg, gpu)
    expected = 3_426_222_080 + 0.35 * GIB + 102 * 20e6
    assert dep.memory_reserve_bytes == pytest.approx(expected)
    assert expected / GIB == pytest.approx(5.4408, abs=1e-4)
    plain = bound.Deployment(cfg=cfg, gpu=gpu, weight_dtype="fp8")
    assert plain.kv_cache_bytes_per_gpu - dep.kv_cache_bytes_per_gpu == pytest.approx(expected)
    # 327,680 B of KV a token (80 layers x 8 heads x 128 x 2 x 2 B): 59.234 GiB / (8192 x 327,680) = 23.7 -> 23;
    # 53.793 GiB -> 21.5 -> 21
    assert (plain.max_batch(8192), dep.max_batch(8192)) == (23, 21)
    # TP 2 adds NCCL's buffers (0.5 GiB) and splits the MLP; the sampler still binds at 1024 rows
    assert reserve.non_kv_bytes(cfg, 2, 16384, 1024) == pytest.approx(expected + 0.5 * GIB)


def test_no_reserve_on_a_probed_cpu():
    """The CPU build sizes its cache from --cpu-kv-cache-gb (no profile run)."""
    cfg = catalog.resolve_model("qwen2.5-0.5b-instruct").config
    gpu = bound.GpuSpec(name="cpu", memory_bytes=64 * GIB, bandwidth_bytes_s=5e10, bf16_flops=1e12, fp8_flops=None,
                        peak_measured=True)
    assert predict.memory_reserve(cfg, gpu, 1, 4, 2048, "bfloat16") == 0.0


def test_activation_slope_matches_a_published_profile_log():
    """vLLM's V0 log, Llama-3.1-8B on an RTX 3090 (vllm-project/vllm issue #10517, 2024-12-02), whole prompts
    profiled (no chunked prefill, so max_num_batched_tokens = max_model_len): peak torch memory 17.06 GiB at 20,000
    tokens and 17.98 GiB at 29,000, weights 14.9888 GB. Measured slope (17.98 - 17.06) GiB / 9,000 tokens =
    109,757 B a token; modelled: the MLP's (2 x 4096 + 3 x 14336) x 2 B = 102,400 B a token (7% under)."""
    cfg = catalog.resolve_model("llama-3.1-8b-instruct").config
    measured = (17.98 - 17.06) * GIB / 9000
    modelled = (reserve.activation_peak_bytes(cfg, 1, 29000, 256) - reserve.activation_peak_bytes(cfg, 1, 20000, 256)) / 9000
    assert modelled == pytest.approx(102_400)
    assert modelled / measured == pytest.approx(0.933, abs=0.01)
