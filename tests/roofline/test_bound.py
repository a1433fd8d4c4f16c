"""Roofline arithmetic checked by hand on one case, plus capacity and crossover."""

import json
import math
from pathlib import Path

import pytest

from bench.roofline.explain import explain

from bench.config import hardware

from bench.roofline import bound as roofline
from bench.roofline.bound import Deployment

ROOT = Path(__file__).resolve().parents[2]


def cfg(name: str) -> dict:
    return json.loads((ROOT / "model_configs" / name / "config.json").read_text())


def dep(model: str, gpu: str, tp: int = 1, **kw) -> Deployment:
    return Deployment(cfg(model), roofline.gpu_spec(gpu, hardware.get_hardware(gpu)), tp, **kw)


def test_gpu_spec_reads_the_datasheet_fields():
    g = roofline.gpu_spec("H100-SXM", hardware.get_hardware("h100-sxm"))
    assert (g.memory_bytes, g.bandwidth_bytes_s, g.bf16_flops, g.fp8_flops) == (80 * 2**30, 3.35e12, 989e12, 1979e12)
    a100 = roofline.gpu_spec("A100-80G-SXM", hardware.get_hardware("A100-80G-SXM"))
    assert a100.fp8_flops is None
    assert roofline.peak_flops_per_gpu(a100, "fp8") == 312e12  # no FP8 tensor cores: bf16 compute
    assert roofline.peak_flops_per_gpu(g, "fp8") == 1979e12
    assert roofline.peak_flops_per_gpu(g, "int4") == 989e12  # weight-only: dequantised to bf16


def test_decode_step_by_hand_qwen7b_h100_batch1_context1000():
    """Qwen2.5-7B, bf16, one H100 SXM (3.35 TB/s, 989 TFLOPS), one sequence with 1000 cached tokens.

    bytes: weights but the 152064 x 3584 embedding table = (7,615,616,512 - 544,997,376) x 2
           = 14,141,238,272; KV read 1000 x 57,344 = 57,344,000; KV written 57,344
    FLOPs: 2 x (7,070,619,136 active - 103,936 norm weights) = 14,141,030,400 linear
           + 2 x 28 layers x 28 heads x (128 + 128) x 1000 = 401,408,000 attention
    """
    d = dep("qwen2.5-7b-instruct", "H100-SXM")
    s = d.decode_step(1, 1000)
    assert s.bytes == 14_141_238_272 + 57_344_000 + 57_344
    assert s.flops == 14_141_030_400 + 401_408_000
    assert s.memory_s == pytest.approx(14_198_639_616 / 3.35e12)  # 4.238 ms
    assert s.compute_s == pytest.approx(14_542_438_400 / 989e12)  # 0.0147 ms
    assert s.bound == "memory"
    assert d.decode_tok_s(1, 1000) == pytest.approx(3.35e12 / 14_198_639_616)  # 235.9 tok/s


def test_kv_capacity_and_max_batch_by_hand():
    """0.9 x 80 GiB - 15,231,233,024 weight bytes = 62,078,178,304 bytes for KV;
    blocks of 16 x 57,344 bytes: 67,659 whole blocks = 1,082,544 tokens; 264 sequences of 4096."""
    d = dep("qwen2.5-7b-instruct", "H100-SXM")
    assert d.kv_cache_bytes_per_gpu == pytest.approx(0.9 * 80 * 2**30 - 15_231_233_024)
    assert d.kv_capacity_tokens == 1_082_544
    assert d.max_batch(4096) == 264


def test_kv_capacity_tokens_whole_blocks():
    assert roofline.kv_capacity_tokens(16 * 100 * 10 + 99, 100) == 160
    assert roofline.kv_capacity_tokens(16 * 100 - 1, 100) == 0


def test_compute_bound_crossover_matches_formula():
    """Decode turns compute-bound when B x FLOPs/peak >= (W + B x KV bytes)/bandwidth."""
    d = dep("qwen2.5-7b-instruct", "H100-SXM")
    f = d.decode_step(1, 100).flops
    kv = d.decode_step(1, 100).bytes - 14_141_238_272
    b_star = (14_141_238_272 / 3.35e12) / (f / 989e12 - kv / 3.35e12)
    assert d.compute_bound_batch(100) == math.ceil(b_star)  # 335
    assert d.compute_bound_batch(1000) is None  # KV traffic per token outgrows its FLOPs: never


def test_tensor_parallel_scales_bandwidth_and_peak():
    one, two = dep("llama-3-8b-instruct", "H100-SXM"), dep("llama-3-8b-instruct", "H100-SXM", 2)
    assert two.decode_step(8, 500).time_s == pytest.approx(one.decode_step(8, 500).time_s / 2)
    assert two.kv_capacity_tokens > 2 * one.kv_capacity_tokens  # the weights are split too


def test_h20_is_compute_bound_where_h100_is_not():
    """H20: 4.0 TB/s but 148 TFLOPS; the crossover batch is far smaller than on an H100."""
    h20, h100 = dep("qwen2.5-7b-instruct", "H20"), dep("qwen2.5-7b-instruct", "H100-SXM")
    assert h20.compute_bound_batch(100) < h100.compute_bound_batch(100) / 4


def test_mla_tp_replication_and_attention_dp():
    tp = dep("deepseek-v2-chat", "H800-SXM", 8, weight_dtype="fp8")
    dp = dep("deepseek-v2-chat", "H800-SXM", 8, weight_dtype="fp8", attention_data_parallel=True)
    assert tp.kv_bytes_per_token == 8 * 69_120
    assert dp.kv_bytes_per_token == 69_120
    attn_fp8 = tp.params.attention * 1.0
    assert dp.weight_bytes_per_gpu == pytest.approx((tp.weight_bytes + 7 * attn_fp8) / 8)


def test_weights_that_do_not_fit():
    d = dep("deepseek-v2-chat", "RTX-4090")
    assert not d.fits
    assert d.kv_capacity_tokens == 0
    assert d.max_batch(1000) == 0


def test_prefill_is_compute_bound_for_long_prompts():
    d = dep("qwen2.5-7b-instruct", "H100-SXM")
    s = d.prefill_step(4096)
    assert s.bound == "compute"
    assert d.prefill_tok_s(4096) == pytest.approx(4096 / s.compute_s)


def test_predict_workload_single_request_matches_steps():
    d = dep("qwen2.5-7b-instruct", "H100-SXM")
    p = roofline.predict_workload(d, [(100, 3)], max_num_seqs=8, max_num_batched_tokens=8192)
    first = d.prefill_step(100).time_s
    dec = [d.decode_step(1, 101).time_s, d.decode_step(1, 102).time_s]
    assert p.ttft_s == [pytest.approx(first)]
    assert p.e2e_s == [pytest.approx(first + sum(dec))]
    assert p.tpot_s == [pytest.approx(sum(dec) / 2)]
    assert p.output_tok_s == pytest.approx(3 / (first + sum(dec)))


def test_explain_keys():
    e = explain(dep("deepseek-v2-lite-chat", "H20"), 2048)
    for key in ("params_total", "params_active", "weight_bytes", "kv_bytes_per_token", "max_batch",
                "decode_tok_s_bound"):
        assert key in e
    assert list(e["decode_tok_s_bound"]) == ["1", "8", "64", "256"]
    assert e["decode_tok_s_bound"]["256"] > e["decode_tok_s_bound"]["1"]
