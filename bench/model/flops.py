"""FLOPs of a config.json's forward pass: pure functions, no torch (shapes and parameters: bench.model.modelmath).

FLOPs (multiply-add = 2 FLOPs; elementwise work, norms and softmax left out):
  blocks      2 x the transformer blocks' active matmul parameters, per token of the pass
  lm_head     2 x vocab x hidden per row of logits; an engine computes logits only for the positions
              it samples: one row per sequence in the step (vLLM V1 also computes the row of a partial
              prefill chunk and discards it), never one per prompt token
  linear      a decoded token: blocks + one logits row (2 x active matmul parameters)
  attention   a token attending to C cached tokens: 2 x heads x (d_qk + d_v) x C per layer;
              a prompt of L tokens, causal: heads x (d_qk + d_v) x L(L+1) per layer (the quadratic
              term). MLA decodes in the absorbed form (scores against the 576-wide latent, values
              from the 512-wide latent) and prefills in the expanded form (192-wide K, 128-wide V).
              Sliding layers attend to min(C, window) tokens; DeepSeek-V3.2's MLA to min(C, index_topk), its
              indexer scoring all C (2 x index_heads x index_head_dim x C per layer); a gated delta-net layer
              costs 8 x value_heads x key_dim x value_dim per token whatever C (decay and read the state,
              write its rank-1 update, read the output: four passes over the key_dim x value_dim state).
"""

from __future__ import annotations

from bench.model import attention
from bench.model.modelmath import head_dim, is_mla, num_heads, param_counts


def lm_head_flops_per_row(cfg: dict) -> float:
    """One row of logits: 2 x vocab x hidden (a tied head multiplies the embedding table).

    Engines compute logits only for the positions they sample, one row per sequence in a step,
    so this is charged per sequence, not per token (see block_linear_flops_per_token)."""
    p = param_counts(cfg)
    return 2.0 * (p.lm_head or p.embedding)


def block_linear_flops_per_token(cfg: dict) -> float:
    """2 x the transformer blocks' matmul parameters one token multiplies (active experts only; no
    lm_head, whose rows are per sampled sequence; norms are not matmuls)."""
    p = param_counts(cfg)
    return 2.0 * (p.active - p.norms - (p.lm_head or p.embedding))


def linear_flops_per_token(cfg: dict) -> float:
    """A decoded token: its blocks' matmuls plus its own row of logits (= 2 x active matmul params).
    Not for prompt tokens: a prefill chunk of L tokens costs L x blocks + 1 row (prefill_flops)."""
    return block_linear_flops_per_token(cfg) + lm_head_flops_per_row(cfg)


def attention_dims(cfg: dict, decode: bool, mla_padded_head_dim: int = 0) -> tuple[int, int]:
    """(d_qk, d_v) per head of the score and value products. MLA: absorbed for decode, expanded for prefill
    (both padded to mla_padded_head_dim by an engine that pads the expanded form, when given)."""
    if is_mla(cfg) and mla_padded_head_dim and not decode:
        return mla_padded_head_dim, mla_padded_head_dim
    if is_mla(cfg):
        rope, kv_rank = int(cfg["qk_rope_head_dim"]), int(cfg["kv_lora_rank"])
        if decode:
            return kv_rank + rope, kv_rank
        return int(cfg["qk_nope_head_dim"]) + rope, int(cfg["v_head_dim"])
    d = head_dim(cfg)
    return d, d


def attention_flops(cfg: dict, new: int, cached: float, decode: bool = True, mla_padded_head_dim: int = 0,
                    lay: attention.Layout | None = None) -> float:
    """Attention FLOPs of `new` tokens following `cached` ones, causal, all layers: token i (1-based among the new
    ones) attends to cached + i tokens in a full layer (at most index_topk under sparse attention), to at most the
    window in a sliding layer; the indexer scores all of them; a linear layer costs the same per token whatever the
    context (see the module doc). `lay`: the config's layout when the caller has it already."""
    lay = lay or attention.layout(cfg)
    d_qk, d_v = attention_dims(cfg, decode, mla_padded_head_dim)
    pair = 2.0 * num_heads(cfg) * (d_qk + d_v)
    flops = pair * (lay.full * attention.sum_min(cached, new, lay.topk)
                    + lay.sliding * attention.sum_min(cached, new, lay.window))
    if lay.index_heads:
        flops += lay.token_layers * 2.0 * lay.index_heads * lay.index_dim * attention.sum_min(cached, new, None)
    if lay.linear is not None:
        lin = lay.linear
        flops += lay.linear_layers * 8.0 * lin.value_heads * lin.key_dim * lin.value_dim * new
    return flops


def attention_flops_per_token(cfg: dict, context_len: int, decode: bool = True, mla_padded_head_dim: int = 0) -> float:
    """FLOPs of one token's attention over `context_len` tokens (itself included), all layers."""
    return attention_flops(cfg, 1, context_len - 1, decode, mla_padded_head_dim)


def decode_flops_per_token(cfg: dict, context_len: int) -> float:
    """One decode step of one sequence whose cache holds `context_len` tokens."""
    return linear_flops_per_token(cfg) + attention_flops_per_token(cfg, context_len, decode=True)


def prefill_flops(cfg: dict, prompt_len: int, cached_len: int = 0, *, logits_rows: int) -> float:
    """FLOPs to prefill `prompt_len` new tokens after `cached_len` already cached (causal attention),
    computing `logits_rows` rows of logits (1 for a chunk the engine samples from or, as vLLM V1 does,
    computes and discards; prompt_len when every prompt position's logprobs are asked for).

    blocks x L + head x logits_rows + attention, where token i (1-based among the new ones) attends to
    cached_len + i tokens: the sum is L x cached + L(L+1)/2, the quadratic term (attention_flops).
    """
    attn = attention_flops(cfg, prompt_len, cached_len, decode=False)
    return block_linear_flops_per_token(cfg) * prompt_len + lm_head_flops_per_row(cfg) * logits_rows + attn


def prefill_flops_per_token(cfg: dict, prompt_len: int) -> float:
    """A whole prompt of `prompt_len` tokens prefilled in one chunk (one logits row), per token."""
    return prefill_flops(cfg, prompt_len, logits_rows=1) / prompt_len
