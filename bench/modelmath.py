"""Architecture arithmetic from a Hugging Face config.json: pure functions, no torch.

KV-cache bytes per token (what one more token of context costs in memory):
  MHA/GQA: layers x 2 (K and V) x kv_heads x head_dim x dtype bytes
  MLA (DeepSeek-V2/V3): layers x (kv_lora_rank + qk_rope_head_dim) x dtype bytes
    (one compressed latent plus the decoupled RoPE key per layer; no separate V)
Summed over all GPUs of a tensor-parallel group: KV heads are split across GPUs but
replicated when TP exceeds their number, and MLA's latent is replicated on every GPU.
"""

from __future__ import annotations

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "half": 2, "float": 4}
KV_DTYPE_BYTES = {"fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}


def dtype_bytes(dtype: str) -> int:
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPE_BYTES)}") from None


def kv_dtype_bytes(kv_cache_dtype: str, model_dtype: str) -> int:
    """'auto' stores the KV cache in the model's dtype; fp8 variants take one byte."""
    if kv_cache_dtype == "auto":
        return dtype_bytes(model_dtype)
    if kv_cache_dtype in KV_DTYPE_BYTES:
        return KV_DTYPE_BYTES[kv_cache_dtype]
    return dtype_bytes(kv_cache_dtype)


def is_mla(cfg: dict) -> bool:
    return bool(cfg.get("kv_lora_rank"))


def num_layers(cfg: dict) -> int:
    return int(cfg.get("num_hidden_layers") or cfg["num_layers"])


def num_kv_heads(cfg: dict) -> int:
    for key in ("num_key_value_heads", "multi_query_group_num", "num_attention_heads"):
        if cfg.get(key):
            return int(cfg[key])
    raise ValueError("config.json names no attention heads")


def head_dim(cfg: dict) -> int:
    if cfg.get("head_dim"):
        return int(cfg["head_dim"])
    return int(cfg["hidden_size"]) // int(cfg["num_attention_heads"])


def kv_elements_per_token_per_layer(cfg: dict) -> int:
    if is_mla(cfg):
        return int(cfg["kv_lora_rank"]) + int(cfg["qk_rope_head_dim"])
    return 2 * num_kv_heads(cfg) * head_dim(cfg)


def kv_bytes_per_token(cfg: dict, kv_cache_dtype: str = "auto", model_dtype: str = "bfloat16",
                       tensor_parallel_size: int = 1) -> int:
    """KV-cache bytes one token occupies, summed over the GPUs of a TP group (see module doc)."""
    per_elem = kv_dtype_bytes(kv_cache_dtype, model_dtype)
    layers = num_layers(cfg)
    tp = max(1, tensor_parallel_size)
    if is_mla(cfg):
        return tp * layers * kv_elements_per_token_per_layer(cfg) * per_elem
    kv_heads_stored = max(num_kv_heads(cfg), tp)  # heads are replicated when TP > kv heads
    return layers * 2 * kv_heads_stored * head_dim(cfg) * per_elem
