import json
from pathlib import Path

import pytest

from bench.modelmath import kv_bytes_per_token

CONFIGS = Path(__file__).resolve().parent.parent / "model_configs"


def cfg(name):
    return json.loads((CONFIGS / name / "config.json").read_text())


@pytest.mark.parametrize("name,expected", [
    ("qwen2.5-7b-instruct", 28 * 2 * 4 * 128 * 2),   # 57,344: GQA, 4 KV heads x 128
    ("qwen2.5-0.5b-instruct", 24 * 2 * 2 * 64 * 2),  # 12,288: head_dim = 896 / 14
    ("glm-4-9b-chat", 40 * 2 * 2 * 128 * 2),         # 40,960: explicit head_dim 128
    ("deepseek-v2-lite-chat", 27 * (512 + 64) * 2),  # 31,104: MLA latent + rope key
    ("tiny-qwen2", 4 * 2 * 2 * 64 * 2),              # 2,048
    ("tiny-glm", 4 * 2 * 2 * 64 * 2),                # 2,048
    ("tiny-deepseek-v2", 3 * 576 * 2),               # 3,456
])
def test_kv_bytes_per_token_bf16(name, expected):
    assert kv_bytes_per_token(cfg(name), "auto", "bfloat16") == expected


def test_published_figures_of_the_bundled_configs():
    assert kv_bytes_per_token(cfg("qwen2.5-7b-instruct")) == 57_344
    assert kv_bytes_per_token(cfg("deepseek-v2-lite-chat")) == 31_104


def test_fp8_kv_halves_bf16_and_fp32_doubles():
    c = cfg("qwen2.5-7b-instruct")
    assert kv_bytes_per_token(c, "fp8", "bfloat16") == 57_344 // 2
    assert kv_bytes_per_token(c, "fp8_e5m2", "bfloat16") == 57_344 // 2
    assert kv_bytes_per_token(c, "auto", "float32") == 57_344 * 2


def test_tensor_parallel_replicates_kv_heads_beyond_their_number_and_mla_latents():
    q = cfg("qwen2.5-7b-instruct")  # 4 KV heads: split up to TP 4, replicated beyond
    assert kv_bytes_per_token(q, tensor_parallel_size=4) == 57_344
    assert kv_bytes_per_token(q, tensor_parallel_size=8) == 57_344 * 2
    d = cfg("deepseek-v2-lite-chat")
    assert kv_bytes_per_token(d, tensor_parallel_size=2) == 2 * 31_104


def test_mha_without_kv_heads_uses_attention_heads():
    c = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4}
    assert kv_bytes_per_token(c, "auto", "float16") == 2 * 2 * 4 * 16 * 2


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="unknown dtype"):
        kv_bytes_per_token(cfg("tiny-qwen2"), "auto", "int3")
