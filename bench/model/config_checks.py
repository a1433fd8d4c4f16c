"""What a config.json must hold for bench.model.modelmath's arithmetic, and the tensor-parallel splits vLLM
accepts for it: checks that name the field and the fix before anything runs. Pure functions, no torch."""

from __future__ import annotations

import math

from bench.model.attention import attention_problem
from bench.model.flops import decode_flops_per_token, prefill_flops
from bench.model.modelmath import is_mla, kv_bytes_per_sequence, num_heads, num_kv_heads, param_counts


# Spellings other families use for the fields read here, for the message (transformers' attribute_map).
MAX_CONFIG_INT = 2**31 - 1  # every size field of a real config fits a 32-bit integer
ALIASES = {"num_hidden_layers": "n_layer", "num_attention_heads": "n_head", "hidden_size": "n_embd",
           "intermediate_size": "n_inner"}


def config_problems(cfg: dict) -> list[str]:
    """Each field of `cfg` the functions of bench.model.modelmath need and cannot read (missing, not a positive whole
    number), named; empty when every one of them runs. Method: the fields each function reads are checked by
    name, then the functions are run once on the config (a context of 1 token) as a backstop."""
    problems = []

    def whole(name: str, required: bool = True) -> None:
        value = cfg.get(name)
        if value is None:
            if required:
                alias = ALIASES.get(name)
                problems.append(f"no {name}" + (f" (it has {alias}, a spelling bench does not read)"
                                                if alias and alias in cfg else ""))
            return
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or value != int(value) or value < 1):
            problems.append(f"{name} is {value!r}, not a positive whole number")
        elif value > MAX_CONFIG_INT:
            problems.append(f"{name} is {value!r}, beyond any model (at most {MAX_CONFIG_INT:,})")

    if cfg.get("num_hidden_layers") is None and cfg.get("num_layers") is not None:
        whole("num_layers")
    else:
        whole("num_hidden_layers")
    for name in ("num_attention_heads", "hidden_size", "vocab_size", "intermediate_size"):
        whole(name)
    for name in ("num_key_value_heads", "multi_query_group_num", "head_dim", "max_position_embeddings"):
        whole(name, required=False)
    if is_mla(cfg):
        for name in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"):
            whole(name)
        whole("q_lora_rank", required=False)
    if cfg.get("n_routed_experts") or cfg.get("num_experts") or cfg.get("num_local_experts"):
        whole("num_experts_per_tok")
        whole("moe_intermediate_size", required=False)
    if not problems and not is_mla(cfg) and num_heads(cfg) % num_kv_heads(cfg):
        problems.append(f"{num_heads(cfg)} attention heads are not a whole number per KV head "
                        f"({num_kv_heads(cfg)} KV heads)")
    if problems:
        return problems
    unsized = attention_problem(cfg)
    if unsized:  # an attention kind the arithmetic cannot size: its field, alone
        return [unsized]
    try:
        kv_bytes_per_sequence(cfg, 1)
        param_counts(cfg)
        decode_flops_per_token(cfg, 1)
        prefill_flops(cfg, 1, logits_rows=1)
    except (KeyError, ValueError, TypeError, ZeroDivisionError) as e:
        return [f"{type(e).__name__} {e}"]
    return []


def tensor_parallel_problem(cfg: dict, tensor_parallel_size: int) -> str | None:
    """Why vLLM would refuse to split this model over `tensor_parallel_size` GPUs, or None. vLLM's rule:
    the attention heads divide evenly among the GPUs, and the KV heads do too, or (fewer KV heads than
    GPUs) each is replicated on a whole number of GPUs."""
    tp = tensor_parallel_size
    if tp <= 1:  # nothing to split (and an endpoint's model may have no shapes at all)
        return None
    heads = num_heads(cfg)
    if heads % tp:
        return f"{heads} attention heads do not divide among {tp} GPUs"
    if not is_mla(cfg):
        kv = num_kv_heads(cfg)
        if (kv >= tp and kv % tp) or (kv < tp and tp % kv):
            return f"{kv} KV heads neither divide among {tp} GPUs nor replicate evenly over them"
    return None


def tensor_parallel_sizes(cfg: dict, up_to: int = 16) -> list[int]:
    """The tensor-parallel sizes up to `up_to` that vLLM accepts for this model."""
    return [tp for tp in range(1, up_to + 1) if tensor_parallel_problem(cfg, tp) is None]
