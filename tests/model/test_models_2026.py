"""The arithmetic of the 2026 catalog models, by attention and weight kind, against hand-computed figures and the
model cards (bench.model.attention, modelmath, flops)."""

import json
from pathlib import Path

import pytest

from bench.config import catalog
from bench.model import attention as at
from bench.model import flops as fl
from bench.model import modelmath as mm
from bench.model.config_checks import config_problems

ROOT = Path(__file__).resolve().parents[2]


def cfg(name: str) -> dict:
    return json.loads((ROOT / "model_configs" / name / "config.json").read_text())


# -- parameters ------------------------------------------------------------------------------------------------------

NEW = ["qwen3-14b", "qwen3-32b", "qwen3-30b-a3b", "qwen3-235b-a22b", "qwen3-next-80b-a3b", "deepseek-v3.1",
       "deepseek-v3.2", "glm-4.5", "glm-4.6", "glm-4.5-air", "kimi-k2", "gpt-oss-20b", "gpt-oss-120b"]


@pytest.mark.parametrize("name", NEW + ["qwen3-8b", "deepseek-r1"])
def test_params_against_the_model_card(name):
    """Within 1% of the card (models.yaml card), or within the digits the card prints: DeepSeek's 37B, 36.63B by
    bench's count, is 1.01% below but inside 36.5-37.5; Qwen3-30B-A3B's 3.3B is 3.353B with embeddings, truncated."""
    card = catalog.load().models[name].card
    c = cfg(name)
    assert catalog.card_agrees(mm.params_total(c), card.total)[0], mm.params_total(c)
    if card.active:
        got = mm.active_as_counted(c, card.active_counts)
        assert catalog.card_agrees(got, card.active)[0], got


def test_card_figures_and_their_rounding():
    assert catalog.card_figure("37B") == (37e9, 0.5e9)
    assert catalog.card_figure("116.83B") == pytest.approx((116.83e9, 0.005e9))
    assert catalog.card_figure("1T") == (1e12, 0.5e12)
    assert catalog.card_agrees(36.63e9, "37B") == (True, pytest.approx(-0.01, abs=1e-3))
    assert catalog.card_agrees(3.3527e9, "3.3B")[0] and not catalog.card_agrees(3.41e9, "3.3B")[0]
    assert not catalog.card_agrees(32.9e9, "32B")[0]  # GLM-4.5 counted bench's way: the card leaves the head out


# Hand counts of two MoE models, per layer: attention (biases, q/k norms, sinks, input norm), one routed expert, the
# router; then layers, experts, top-k, the vocabulary x hidden of embedding and lm_head, hidden (norm size).
# Qwen3-30B-A3B: q 2048x4096, k and v 2048x512, o 4096x2048, q/k norms of 128; experts 3 x 2048 x 768; router 2048x128.
# gpt-oss-20b: q 2880x4096 and o 4096x2880 with biases, k and v 2880x512 with biases, 64 sinks; experts gate_up
# 2880x5760 + down 2880x2880 with biases (5760 + 2880); router 2880 x 32 + 32 bias.
BY_HAND = {
    "qwen3-30b-a3b": (2048 * 4096 + 2 * 2048 * 512 + 4096 * 2048 + 2 * 128 + 2048, 3 * 2048 * 768, 2048 * 128,
                      48, 128, 8, 151936 * 2048, 2048, 30_532_122_624, 3_041_867_776),
    "gpt-oss-20b": (2880 * 4096 + 4096 * 2880 + 2 * 2880 * 512 + (4096 + 2 * 512) + 2880 + 64 + 2880,
                    3 * 2880 * 2880 + 2 * 2880 + 2880, 2880 * 32 + 32, 24, 32, 4, 201088 * 2880, 2880,
                    20_914_757_184, 3_608_307_264),
}


@pytest.mark.parametrize("name", BY_HAND)
def test_moe_parameters_by_hand(name):
    attn, expert, router, layers, experts, top_k, vocab, hidden, total, active = BY_HAND[name]
    norms = layers * hidden + hidden
    c = cfg(name)
    assert mm.params_total(c) == layers * (attn + experts * expert + router) + 2 * vocab + norms == total
    assert mm.params_active(c) == layers * (attn + top_k * expert + router) + vocab + norms == active


def test_qwen3_next_linear_attention_layers_by_hand():
    """A gated delta-net layer: in_proj_qkvz 2048 x (2 x 16 x 128 + 2 x 32 x 128), in_proj_ba 2048 x 64, conv1d over
    (2 x 16 x 128 + 32 x 128) channels x 4 taps, dt_bias and A_log (32 each), the gated norm (128), out_proj
    4096 x 2048, input norm. The whole model then counts 79,674,391,296: the safetensors total published for this
    architecture (Qwen3-Coder-Next, read 2026-12-06 in a GitHub test of parameter counting)."""
    c = cfg("qwen3-next-80b-a3b")
    by_hand = 2048 * 12288 + 2048 * 64 + 8192 * 4 + 2 * 32 + 128 + 4096 * 2048 + 2048
    assert at.linear_params_per_layer(c) == by_hand == 33_720_512
    # the 12 full layers: q_proj twice as wide (the output gate), k/v 2048 x 512, o 4096 x 2048, q/k norms of 256
    assert mm.attention_params_per_layer(c) == 2048 * 8192 + 2 * 2048 * 512 + 4096 * 2048 + 2 * 256 + 2048
    assert at.layout(c).kinds.count("linear") == 36 and at.layout(c).kinds[3] == "full"
    assert mm.params_total(c) == 79_674_391_296


def test_deepseek_v32_indexer_and_mtp_parameters():
    """V3.2 = V3.1 + an indexer per layer: wq_b 1536 x (64 x 128), wk 7168 x 128, its LayerNorm (weight and bias,
    2 x 128), weights_proj 7168 x 64. MTP (not in the total): one MoE layer + hnorm, enorm, eh_proj 14336 x 7168,
    its own embedding and head, a final norm: 13.46B, DeepSeek's '14B of MTP modules' (671B + 14B = 685B)."""
    v31, v32 = cfg("deepseek-v3.1"), cfg("deepseek-v3.2")
    indexer = 1536 * 64 * 128 + 7168 * 128 + 2 * 128 + 7168 * 64
    assert indexer == 13_959_424
    assert mm.params_total(v32) - mm.params_total(v31) == 61 * indexer
    mtp = mm.mtp_params(v31)
    moe_layer = 256 * 3 * 7168 * 2048 + 3 * 7168 * 2048 + 7168 * 256
    layer = mm.attention_params_per_layer(v31) + moe_layer + 7168
    assert mtp == layer + 2 * 7168 + 2 * 7168 * 7168 + 2 * 129280 * 7168 + 7168
    assert mtp == pytest.approx(14e9, rel=0.04)
    assert mm.mtp_params(cfg("kimi-k2")) == 0  # num_nextn_predict_layers 0


# -- weight bytes ----------------------------------------------------------------------------------------------------


def test_weight_bytes_bf16_fp8_mxfp4_by_hand():
    """gpt-oss-20b: bf16 2 bytes a parameter. fp8: attention, routers and experts 1 byte, embedding, lm_head and
    norms 2. MXFP4 (its checkpoint): experts 4.25 bits = 0.53125 bytes, attention, routers, embeddings and norms
    2 bytes (the checkpoint's modules_to_not_convert)."""
    c = cfg("gpt-oss-20b")
    p = mm.param_counts(c)
    experts = 24 * 32 * p.moe.expert_params
    routers = 24 * p.moe.router_params
    rest = p.embedding + p.lm_head + p.norms
    assert mm.weight_bytes(c, "bfloat16") == 2 * p.total == 41_829_514_368
    assert mm.weight_bytes(c, "fp8") == p.attention + routers + experts + 2 * rest
    assert mm.weight_bytes(c, "mxfp4") == 2 * (p.attention + routers + rest) + experts * 0.53125 == 13_751_518_848
    assert mm.checkpoint_weight_format(c) == "mxfp4"
    assert mm.checkpoint_weight_format(cfg("deepseek-v3.1")) == "fp8" == mm.checkpoint_weight_format(cfg("kimi-k2"))
    assert mm.checkpoint_weight_format(cfg("qwen3-32b")) is None


# -- KV bytes --------------------------------------------------------------------------------------------------------


def test_mla_and_the_v32_index_cache_per_token():
    """MLA (V3.1, Kimi K2): 61 layers x (512 + 64) x 2 bytes; fp8: x 1. V3.2 adds the indexer's key per layer:
    128 FP8 bytes + one float32 scale per 128 = 132 bytes, in every KV dtype."""
    assert mm.kv_bytes_per_token(cfg("deepseek-v3.1")) == 61 * 576 * 2 == 70_272
    assert mm.kv_bytes_per_token(cfg("kimi-k2"), "fp8") == 61 * 576 == 35_136
    v32 = cfg("deepseek-v3.2")
    assert at.layout(v32).index_bytes_per_token_per_layer == 128 + 4
    assert mm.kv_bytes_per_token(v32) == 61 * (576 * 2 + 132) == 78_324
    assert mm.kv_bytes_per_token(v32, "fp8") == 61 * (576 + 132) == 43_188
    assert mm.kv_bytes_per_token(v32, "auto", "bfloat16", 8) == 8 * 78_324  # latent and keys on every GPU


def test_sliding_window_layers_stop_at_the_window_and_sinks_hold_nothing():
    """gpt-oss-120b: 18 full + 18 sliding layers of 2 x 8 x 64 x 2 = 2,048 bytes a token. Per token of the pool:
    36 x 2,048. A sequence of 100 tokens (inside the 128 window): 100 x 73,728; of 4,096: the full layers hold all
    4,096, the sliding ones 128. Its 64 sinks per layer add parameters, no cache."""
    c = cfg("gpt-oss-120b")
    assert mm.kv_bytes_per_token(c) == 36 * 2048 == 73_728
    assert mm.kv_token_bytes(c) == (18 * 2048, 18 * 2048, 0)
    assert mm.kv_bytes_per_sequence(c, 100) == 100 * 73_728
    assert mm.kv_bytes_per_sequence(c, 4096) == 18 * 2048 * 4096 + 18 * 2048 * 128 == 155_713_536
    assert mm.kv_bytes_per_sequence(c, 4096, "fp8") == 155_713_536 // 2
    no_sinks = dict(c, model_type="gpt_oss_without_sinks")  # the same shapes, no sinks or o_proj bias
    assert mm.kv_bytes_per_sequence(no_sinks, 4096) == 155_713_536
    assert mm.attention_params_per_layer(c) - mm.attention_params_per_layer(no_sinks) == 64 + 2880


def test_linear_attention_holds_a_constant_state_per_sequence():
    """Qwen3-Next: 12 full layers of 2 x 2 x 256 x 2 = 2,048 bytes a token; 36 linear layers each keep
    32 x 128 x 128 recurrent + (2 x 16 x 128 + 32 x 128) x 3 convolution values, in bf16, whatever the length
    (and whatever the KV dtype)."""
    c = cfg("qwen3-next-80b-a3b")
    state = 36 * (32 * 128 * 128 + 8192 * 3) * 2
    assert mm.linear_state_bytes(c) == state == 39_518_208
    assert mm.kv_bytes_per_token(c) == 12 * 2048 == 24_576
    assert mm.kv_bytes_per_sequence(c, 1) == 24_576 + state
    assert mm.kv_bytes_per_sequence(c, 32768) == 24_576 * 32768 + state
    assert mm.kv_bytes_per_sequence(c, 32768, "fp8") == 12_288 * 32768 + state


# -- FLOPs -----------------------------------------------------------------------------------------------------------


def test_v32_sparse_attention_flops_at_long_context():
    """A decoded token at 32,768 tokens of context. V3.1's MLA (absorbed: 576-wide scores, 512-wide values) attends
    to all: 61 x 2 x 128 x 1088 x 32,768. V3.2's attends to the indexer's top 2,048 and its indexer scores all
    32,768 with 64 heads x 128: 61 x (2 x 128 x 1088 x 2048 + 2 x 64 x 128 x 32,768), 8.2x fewer."""
    dense = fl.attention_flops_per_token(cfg("deepseek-v3.1"), 32768)
    sparse = fl.attention_flops_per_token(cfg("deepseek-v3.2"), 32768)
    assert dense == 61 * 2 * 128 * 1088 * 32768
    assert sparse == 61 * (2 * 128 * 1088 * 2048 + 2 * 64 * 128 * 32768)
    assert dense / sparse == pytest.approx(8.24, abs=0.01)
    # below the top-k every token is attended to: only the indexer is extra
    assert fl.attention_flops_per_token(cfg("deepseek-v3.2"), 1000) == 61 * (2 * 128 * 1088 + 2 * 64 * 128) * 1000


def test_sliding_window_and_linear_attention_flops():
    """gpt-oss-120b decoding at 4,096: 2 x 64 x (64 + 64) = 16,384 FLOPs a token pair, 18 layers over 4,096 and 18
    over the 128 window. Prefill of 200 tokens: full layers 200 x 201 / 2 pairs; sliding ones 1 + ... + 128 then 72
    x 128. Qwen3-Next: a linear layer costs 8 x 32 x 128 x 128 a token at any context."""
    c = cfg("gpt-oss-120b")
    assert fl.attention_flops_per_token(c, 4096) == 16384 * (18 * 4096 + 18 * 128)
    sliding_pairs = 128 * 129 / 2 + 72 * 128
    assert fl.attention_flops(c, 200, 0, decode=False) == 16384 * (18 * 200 * 201 / 2 + 18 * sliding_pairs)
    assert at.sum_min(100, 50, 128) == sum(min(100 + i, 128) for i in range(1, 51))
    n = cfg("qwen3-next-80b-a3b")
    linear = 36 * 8 * 32 * 128 * 128
    full_pair = 2 * 16 * (256 + 256)
    assert fl.attention_flops_per_token(n, 10) == 12 * full_pair * 10 + linear
    assert fl.attention_flops_per_token(n, 100_000) == 12 * full_pair * 100_000 + linear


# -- configs bench cannot size ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"attention_chunk_size": 8192}, "'attention_chunk_size'"),
    ({"layer_types": ["full_attention", "chunked_attention"] * 18}, "'layer_types[1]'"),
    ({"compress_ratios": [0, 4]}, "'compress_ratios'"),
    ({"layer_types": ["full_attention"] * 3}, "'layer_types'"),
    ({"sliding_window": None}, "'sliding_window'"),
])
def test_an_attention_bench_cannot_size_is_one_problem_naming_its_field(change, field):
    c = dict(cfg("gpt-oss-120b"), **change)
    problems = config_problems(c)
    assert len(problems) == 1 and field in problems[0] and "\n" not in problems[0]


def test_a_linear_layer_without_its_shapes_is_named():
    c = dict(cfg("qwen3-next-80b-a3b"))
    del c["linear_value_head_dim"]
    assert config_problems(c) == ["config.json field 'linear_value_head_dim' must be a positive whole number for "
                                  "linear_attention layers"]
    assert config_problems(cfg("qwen3-next-80b-a3b")) == [] == config_problems(cfg("deepseek-v3.2"))


def test_a_tp_vllm_refuses_names_the_largest_it_accepts_that_fits():
    """Qwen2.5-0.5B's 14 attention heads do not split over 4 GPUs (vLLM refuses); 2 divides 14 and fits, so the grid
    of scripts/models_2026.py says -tp 2, with the sequences TP 2 holds; TP 1 and 2 are the sizes below 4 it takes."""
    from bench.model.config_checks import tensor_parallel_sizes
    from bench.roofline import predict, sizing

    c = cfg("qwen2.5-0.5b-instruct")
    assert tensor_parallel_sizes(c, 4) == [1, 2]
    profile = predict.load_profile(None)
    refused = sizing.size(c, "H20", 4, 4096, profile)
    two = sizing.size(c, "H20", 2, 4096, profile)
    assert not refused.fits and refused.why_not.startswith("vLLM refuses TP 4: 14 attention heads")
    assert two.fits and refused.would_fit == [f"-tp 2 ({two.max_batch:,} sequences)"]
