"""Architecture arithmetic against published sizes and hand-computed figures."""

import json
from pathlib import Path

import pytest

from bench.model import flops as fl
from bench.model import modelmath as mm
ROOT = Path(__file__).resolve().parents[2]


def cfg(name: str) -> dict:
    return json.loads((ROOT / "model_configs" / name / "config.json").read_text())


# Published sizes (model cards / papers). Within 1%.
@pytest.mark.parametrize("name, total, active", [
    ("qwen2.5-7b-instruct", 7.62e9, None),
    ("qwen2.5-0.5b-instruct", 0.49e9, None),
    ("glm-4-9b-chat", 9.4e9, None),
    ("deepseek-v2-lite-chat", 15.7e9, None),
    ("deepseek-v2-chat", 236e9, 21e9),
    ("deepseek-llm-67b-chat", 67e9, None),
    ("llama-3-8b-instruct", 8.03e9, None),
    ("qwen1.5-7b-chat", 7.72e9, None),
])
def test_params_within_1pct_of_published(name, total, active):
    p = mm.param_counts(cfg(name))
    assert p.total == pytest.approx(total, rel=0.01)
    if active:
        assert p.active == pytest.approx(active, rel=0.01)


def test_deepseek_v2_lite_active_params():
    """DeepSeek quotes 2.4B active; the count is 2.451B, which the two-digit figure truncates.

    By hand: attention 27 x 13,763,072; dense layer 3 x 2048 x 10944; 26 MoE layers of
    (6 routed + 2 shared) x 3 x 2048 x 1408 + router 2048 x 64; lm_head 102400 x 2048; norms.
    """
    c = cfg("deepseek-v2-lite-chat")
    attn = 2048 * 16 * 192 + 2048 * 576 + 512 + 512 * 16 * 256 + 16 * 128 * 2048 + 2048
    moe = 8 * 3 * 2048 * 1408 + 2048 * 64
    by_hand = 27 * attn + 3 * 2048 * 10944 + 26 * moe + 102400 * 2048 + 27 * 2048 + 2048
    assert mm.params_active(c) == by_hand == 2_451_435_008
    assert f"{mm.params_active(c) / 1e9:.2f}".startswith("2.4")
    assert mm.params_total(c) == pytest.approx(15.7e9, rel=0.001)


def test_tied_embeddings_counted_once_and_active():
    c = cfg("qwen2.5-0.5b-instruct")
    p = mm.param_counts(c)
    assert p.lm_head == 0
    assert p.active == p.total  # a tied lm_head multiplies the embedding table: nothing is left out


@pytest.mark.parametrize("name, kv", [
    ("qwen2.5-7b-instruct", 57_344), ("qwen2.5-0.5b-instruct", 12_288), ("glm-4-9b-chat", 40_960),
    ("deepseek-v2-lite-chat", 31_104), ("tiny-qwen2", 2_048), ("tiny-deepseek-v2", 3_456), ("tiny-glm", 2_048),
    ("deepseek-v2-chat", 69_120), ("deepseek-llm-67b-chat", 389_120),
])
def test_kv_bytes_per_token_bf16(name, kv):
    assert mm.kv_bytes_per_token(cfg(name)) == kv


def test_kv_bytes_fp8_and_tp():
    q = cfg("qwen2.5-7b-instruct")  # 4 KV heads
    assert mm.kv_bytes_per_token(q, "fp8") == 28_672
    assert mm.kv_bytes_per_token(q, "auto", "bfloat16", 4) == 57_344  # split, not replicated
    assert mm.kv_bytes_per_token(q, "auto", "bfloat16", 8) == 2 * 57_344  # 8 GPUs > 4 heads: replicated
    lite = cfg("deepseek-v2-lite-chat")
    assert mm.kv_bytes_per_token(lite, "fp8") == 27 * 576
    assert mm.kv_bytes_per_token(lite, "auto", "bfloat16", 2) == 2 * 31_104  # MLA latent on every GPU


def test_mla_cuts_kv_933_percent_vs_deepseek_67b():
    """The DeepSeek-V2 paper's 93.3%: V2's latent at ~6 bits per element against 67B's bf16 GQA cache."""
    v2, dense = cfg("deepseek-v2-chat"), cfg("deepseek-llm-67b-chat")
    dense_bf16 = mm.kv_bytes_per_token(dense)  # 95 x 2 x 8 x 128 x 2
    assert dense_bf16 == 389_120
    six_bit = 60 * 576 * 6 / 8
    assert 1 - six_bit / dense_bf16 == pytest.approx(0.933, abs=0.0005)
    assert 1 - mm.kv_bytes_per_token(v2) / dense_bf16 == pytest.approx(0.822, abs=0.0005)
    assert 1 - mm.kv_bytes_per_token(v2, "fp8") / dense_bf16 == pytest.approx(0.911, abs=0.0005)


@pytest.mark.parametrize("wdtype, per_linear", [("bfloat16", 2), ("fp8", 1), ("int8", 1), ("int4", 0.5)])
def test_weight_bytes_by_format(wdtype, per_linear):
    c = cfg("qwen2.5-7b-instruct")
    p = mm.param_counts(c)
    # quantised formats keep embedding, lm_head and norms in 16 bits
    assert mm.weight_bytes(c, wdtype) == p.block_linear_total * per_linear + (p.total - p.block_linear_total) * 2
    assert mm.weight_bytes(c, "float32") == p.total * 4


def test_unknown_weight_dtype():
    with pytest.raises(ValueError, match="int3"):
        mm.weight_bytes(cfg("tiny-qwen2"), "int3")


def test_expected_experts_hit():
    assert mm.expected_experts_hit(64, 6, 0) == 0
    assert mm.expected_experts_hit(64, 6, 1) == pytest.approx(6)
    assert mm.expected_experts_hit(64, 6, 2) == pytest.approx(64 * (1 - (58 / 64) ** 2))  # 11.44
    assert mm.expected_experts_hit(64, 6, 10_000) == pytest.approx(64)


def test_weights_touched_moe_grows_with_tokens_dense_does_not():
    lite, qwen = cfg("deepseek-v2-lite-chat"), cfg("qwen2.5-7b-instruct")
    one, many = mm.weight_bytes_touched(lite, 1), mm.weight_bytes_touched(lite, 4096)
    assert one == pytest.approx(2 * mm.params_active(lite))  # one token: exactly its active weights
    assert many == pytest.approx(mm.weight_bytes(lite) - 2 * 102400 * 2048, rel=1e-6)  # all but the embedding
    assert mm.weight_bytes_touched(qwen, 1) == mm.weight_bytes_touched(qwen, 512)


def test_flops_by_hand_tiny_qwen2():
    """tiny-qwen2: 4 layers, hidden 256, 4 heads x 64, 2 KV heads, MLP 512, tied 4096 x 256 embedding."""
    c = cfg("tiny-qwen2")
    # one layer's attention: q 256 x 256, k and v 2 x 256 x 128, o 256 x 256, q/k/v bias 256 + 2 x 128,
    # input norm 256 = 197,376; MLP 3 x 256 x 512 = 393,216
    blocks = 2 * 4 * (3 * 256 * 256 + 512 + 256 + 3 * 256 * 512)  # 4,724,736
    head = 2 * 4096 * 256  # 2,097,152: one row of logits (the tied embedding table)
    assert fl.block_linear_flops_per_token(c) == blocks
    assert fl.lm_head_flops_per_row(c) == head
    assert fl.linear_flops_per_token(c) == blocks + head
    # a decoded token samples its own row
    assert fl.decode_flops_per_token(c, 100) == blocks + head + 2 * 4 * 4 * (64 + 64) * 100
    # prefill of 10 tokens: every token through the blocks, one row of logits; causal pairs 10 x 11 / 2 = 55
    assert fl.prefill_flops(c, 10, logits_rows=1) == 10 * blocks + head + 2 * 4 * 4 * 128 * 55
    # asking for every position's logits (prompt logprobs) charges 10 rows
    assert fl.prefill_flops(c, 10, logits_rows=10) == 10 * (blocks + head) + 2 * 4 * 4 * 128 * 55
    # 5 more tokens after 10 cached: pairs 5 x 10 + 5 x 6 / 2 = 65
    assert fl.prefill_flops(c, 5, cached_len=10, logits_rows=1) == 5 * blocks + head + 2 * 4 * 4 * 128 * 65
    assert fl.prefill_flops_per_token(c, 10) == (10 * blocks + head + 2 * 4 * 4 * 128 * 55) / 10


def test_lm_head_share_of_the_linear_flops():
    """What charging the head per prompt token overstated: 2 x vocab x hidden over all matmul params."""
    qwen05 = cfg("qwen2.5-0.5b-instruct")  # tied 151,936 x 896 table
    head = fl.lm_head_flops_per_row(qwen05)
    assert head == 2 * 151936 * 896  # 272,269,312
    assert head / fl.linear_flops_per_token(qwen05) == pytest.approx(0.276, abs=0.001)
    # a 1,000-token prompt: one row of logits, not 1,000
    assert fl.prefill_flops(qwen05, 1000, logits_rows=1) - fl.prefill_flops(qwen05, 1000, logits_rows=1000) == -999 * head


def test_mla_attention_dims():
    lite = cfg("deepseek-v2-lite-chat")
    assert fl.attention_dims(lite, decode=True) == (576, 512)  # absorbed: against the latent
    assert fl.attention_dims(lite, decode=False) == (192, 128)  # expanded: nope + rope K, V


def test_mha_without_kv_heads_uses_attention_heads():
    c = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4}
    assert mm.kv_bytes_per_token(c, "auto", "float16") == 2 * 2 * 4 * 16 * 2
    assert mm.kv_bytes_per_token(c, "auto", "float32") == 2 * 2 * 4 * 16 * 4


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="unknown dtype"):
        mm.kv_bytes_per_token(cfg("tiny-qwen2"), "auto", "int3")
