"""Architecture arithmetic from a Hugging Face config.json: pure functions, no torch.

Parameters (counted from the shapes of the weight matrices, biases and norms included):
  attention   MHA/GQA: q, k, v, o projections; MLA (DeepSeek-V2/V3): q (direct or through a
              q_lora_rank bottleneck), the joint KV down-projection kv_a (kv_lora_rank + rope dims),
              its up-projection kv_b (to per-head nope-K and V), o
  MLP         gated (SiLU): gate, up, down = 3 x hidden x intermediate
  MoE layer   router + routed experts + shared experts; layers before `first_k_dense_replace`
              (DeepSeek) or listed in `mlp_only_layers` (Qwen-MoE) stay dense
  total       every stored parameter (a tied lm_head is the embedding, counted once)
  active      what one token's forward pass multiplies: everything but the input embedding
              (a table lookup) and the routed experts it is not sent to (top-k of n_routed)
Published "active" sizes follow the same convention (DeepSeek-V2-Lite: 2.45B, quoted as 2.4B).

KV-cache bytes per token (what one more token of context costs in memory):
  MHA/GQA: layers x 2 (K and V) x kv_heads x head_dim x dtype bytes
  MLA (DeepSeek-V2/V3): layers x (kv_lora_rank + qk_rope_head_dim) x dtype bytes
    (one compressed latent plus the decoupled RoPE key per layer; no separate V)
Summed over all GPUs of a tensor-parallel group: KV heads are split across GPUs but
replicated when TP exceeds their number, and MLA's latent is replicated on every GPU.

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
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "half": 2, "float": 4}
KV_DTYPE_BYTES = {"fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}
# Weight formats: bytes per element of the transformer blocks' linear layers. Quantised formats
# (fp8 W8A8, int8/int4 weight-only) keep embeddings, lm_head and norms in 16 bits, as vLLM does;
# the per-group scales of int4 (about 2 bytes per 128 weights, 3%) are left out.
WEIGHT_DTYPE_BYTES = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
WEIGHT_DTYPES = tuple(WEIGHT_DTYPE_BYTES)


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


def weight_dtype_bytes(weight_dtype: str) -> float:
    try:
        return WEIGHT_DTYPE_BYTES[weight_dtype]
    except KeyError:
        raise ValueError(f"unknown weight dtype {weight_dtype!r}; known: {', '.join(WEIGHT_DTYPES)}") from None


def is_mla(cfg: dict) -> bool:
    return bool(cfg.get("kv_lora_rank"))


def num_layers(cfg: dict) -> int:
    return int(cfg.get("num_hidden_layers") or cfg["num_layers"])


def num_heads(cfg: dict) -> int:
    return int(cfg["num_attention_heads"])


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


def mla_expanded_elements_per_token_per_layer(cfg: dict, padded_head_dim: int = 0) -> int:
    """MLA cached the old way (vLLM before 0.7.1, SGLang without --enable-mla, LMDeploy 2024): the latent
    expanded into per-head K (nope + rope dims) and V, heads x (d_nope + d_rope + d_v), as MHA would.
    padded_head_dim: an engine that pads K and V to one kernel-supported head size (vLLM's first DeepSeek-V2
    code and SGLang's copy of it pad q, k and v to 256) caches heads x 2 x that."""
    if padded_head_dim:
        return num_heads(cfg) * 2 * padded_head_dim
    return num_heads(cfg) * (int(cfg["qk_nope_head_dim"]) + int(cfg["qk_rope_head_dim"]) + int(cfg["v_head_dim"]))


def kv_bytes_per_token(cfg: dict, kv_cache_dtype: str = "auto", model_dtype: str = "bfloat16",
                       tensor_parallel_size: int = 1, mla_expanded: bool = False, mla_padded_head_dim: int = 0) -> int:
    """KV-cache bytes one token occupies, summed over the GPUs of a TP group (see module doc).

    mla_expanded: an MLA model whose engine caches per-head K and V (split over TP like MHA heads),
    each padded to mla_padded_head_dim when that is given (see mla_expanded_elements_per_token_per_layer)."""
    per_elem = kv_dtype_bytes(kv_cache_dtype, model_dtype)
    layers = num_layers(cfg)
    tp = max(1, tensor_parallel_size)
    if is_mla(cfg) and mla_expanded:
        return layers * mla_expanded_elements_per_token_per_layer(cfg, mla_padded_head_dim) * per_elem
    if is_mla(cfg):
        return tp * layers * kv_elements_per_token_per_layer(cfg) * per_elem
    kv_heads_stored = max(num_kv_heads(cfg), tp)  # heads are replicated when TP > kv heads
    return layers * 2 * kv_heads_stored * head_dim(cfg) * per_elem


# ---------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class MoE:
    n_routed: int  # routed experts per MoE layer
    top_k: int  # routed experts each token is sent to
    expert_params: int  # parameters of one routed expert
    shared_params: int  # parameters of the always-on shared expert(s) of one layer
    router_params: int  # the gate that scores experts
    moe_layers: int  # how many layers are MoE (the rest are dense)


@dataclass(frozen=True)
class ParamCounts:
    """Parameters by where they live; the sums answer total and active."""

    embedding: int  # input embedding table
    lm_head: int  # 0 when tied to the embedding
    attention: int  # all layers, norms of the attention block included
    dense_mlp: int  # all dense layers' MLPs
    moe: MoE | None
    norms: int  # per-layer MLP-side norms and the final norm

    @property
    def moe_total(self) -> int:
        m = self.moe
        return 0 if m is None else m.moe_layers * (m.n_routed * m.expert_params + m.shared_params + m.router_params)

    @property
    def moe_active(self) -> int:
        m = self.moe
        return 0 if m is None else m.moe_layers * (m.top_k * m.expert_params + m.shared_params + m.router_params)

    @property
    def total(self) -> int:
        return self.embedding + self.lm_head + self.attention + self.dense_mlp + self.moe_total + self.norms

    @property
    def active(self) -> int:
        """Per token: no input embedding (a lookup); a tied lm_head still multiplies the table."""
        head = self.lm_head or self.embedding
        return head + self.attention + self.dense_mlp + self.moe_active + self.norms

    @property
    def block_linear_total(self) -> int:
        """Stored parameters of the transformer blocks (what weight-only quantisation shrinks)."""
        return self.attention + self.dense_mlp + self.moe_total


def _gated_mlp(hidden: int, intermediate: int) -> int:
    return 3 * hidden * intermediate


def attention_params_per_layer(cfg: dict) -> int:
    h = int(cfg["hidden_size"])
    heads = num_heads(cfg)
    if is_mla(cfg):
        nope, rope = int(cfg["qk_nope_head_dim"]), int(cfg["qk_rope_head_dim"])
        v_dim, kv_rank = int(cfg["v_head_dim"]), int(cfg["kv_lora_rank"])
        q_rank = cfg.get("q_lora_rank")
        q_out = heads * (nope + rope)
        q = h * int(q_rank) + int(q_rank) + int(q_rank) * q_out if q_rank else h * q_out  # q_a, its norm, q_b
        kv = h * (kv_rank + rope) + kv_rank + kv_rank * heads * (nope + v_dim)  # kv_a, its norm, kv_b
        return q + kv + heads * v_dim * h + h  # o_proj, input norm
    d, kv_heads = head_dim(cfg), num_kv_heads(cfg)
    q, kv, o = h * heads * d, 2 * h * kv_heads * d, heads * d * h
    has_bias = bool(cfg.get("attention_bias")) or cfg.get("model_type") in ("qwen2", "qwen2_moe")  # Qwen: q/k/v bias
    bias = heads * d + 2 * kv_heads * d if has_bias else 0
    return q + kv + o + bias + h  # + input norm


def _moe_layer_flags(cfg: dict) -> list[bool]:
    """Which layers are MoE, following DeepSeek's and Qwen-MoE's config keys."""
    layers = num_layers(cfg)
    if cfg.get("n_routed_experts"):  # DeepSeek V2/V3
        first_dense = int(cfg.get("first_k_dense_replace") or 0)
        freq = int(cfg.get("moe_layer_freq") or 1)
        return [i >= first_dense and i % freq == 0 for i in range(layers)]
    if cfg.get("num_experts") or cfg.get("num_local_experts"):  # Qwen-MoE, Mixtral
        step = int(cfg.get("decoder_sparse_step") or 1)
        dense = set(cfg.get("mlp_only_layers") or [])
        return [i not in dense and (i + 1) % step == 0 for i in range(layers)]
    return [False] * layers


def _moe(cfg: dict, moe_layers: int) -> MoE | None:
    if not moe_layers:
        return None
    h = int(cfg["hidden_size"])
    n_routed = int(cfg.get("n_routed_experts") or cfg.get("num_experts") or cfg["num_local_experts"])
    inter = int(cfg.get("moe_intermediate_size") or cfg["intermediate_size"])
    if cfg.get("n_shared_experts"):  # DeepSeek: n shared experts of the routed experts' size
        shared = _gated_mlp(h, inter * int(cfg["n_shared_experts"]))
    elif cfg.get("shared_expert_intermediate_size"):  # Qwen-MoE: one shared expert plus its sigmoid gate
        shared = _gated_mlp(h, int(cfg["shared_expert_intermediate_size"])) + h
    else:
        shared = 0
    return MoE(n_routed=n_routed, top_k=int(cfg["num_experts_per_tok"]), expert_params=_gated_mlp(h, inter),
               shared_params=shared, router_params=h * n_routed, moe_layers=moe_layers)


def param_counts(cfg: dict) -> ParamCounts:
    h, vocab, layers = int(cfg["hidden_size"]), int(cfg["vocab_size"]), num_layers(cfg)
    flags = _moe_layer_flags(cfg)
    dense_layers = layers - sum(flags)
    tied = bool(cfg.get("tie_word_embeddings", False))
    return ParamCounts(
        embedding=vocab * h,
        lm_head=0 if tied else vocab * h,
        attention=layers * attention_params_per_layer(cfg),
        dense_mlp=dense_layers * _gated_mlp(h, int(cfg["intermediate_size"])),
        moe=_moe(cfg, sum(flags)),
        norms=layers * h + h,  # post-attention norm per layer + final norm
    )


def params_total(cfg: dict) -> int:
    return param_counts(cfg).total


def params_active(cfg: dict) -> int:
    return param_counts(cfg).active


# ---------------------------------------------------------------------------------------------
# Weight bytes


def _embed_bytes_per_param(weight_dtype: str) -> float:
    """Embeddings, lm_head and norms: 16-bit under a quantised format, else the format itself."""
    return 2.0 if weight_dtype in ("fp8", "int8", "int4") else weight_dtype_bytes(weight_dtype)


def weight_bytes(cfg: dict, weight_dtype: str = "bfloat16") -> float:
    """Bytes of all stored weights in the given format (see WEIGHT_DTYPE_BYTES)."""
    p = param_counts(cfg)
    rest = p.total - p.block_linear_total
    return p.block_linear_total * weight_dtype_bytes(weight_dtype) + rest * _embed_bytes_per_param(weight_dtype)


def expected_experts_hit(n_routed: int, top_k: int, tokens: int) -> float:
    """Expected distinct experts that `tokens` tokens reach, each picking top_k of n_routed uniformly.

    One token misses a given expert with probability 1 - k/n; independent tokens all miss it
    with (1 - k/n)^tokens. (Real routers are not uniform; random weights are close to it.)
    """
    if tokens <= 0:
        return 0.0
    return n_routed * (1.0 - (1.0 - top_k / n_routed) ** tokens)


def weight_bytes_touched(cfg: dict, tokens: int, weight_dtype: str = "bfloat16") -> float:
    """Weight bytes one forward pass over `tokens` tokens reads from memory.

    Everything but the input embedding table (rows are gathered, not streamed) and the routed
    experts no token is sent to. A tied lm_head streams the embedding table.
    """
    p = param_counts(cfg)
    wb, eb = weight_dtype_bytes(weight_dtype), _embed_bytes_per_param(weight_dtype)
    head = p.lm_head or p.embedding
    read = (p.attention + p.dense_mlp) * wb + (head + p.norms) * eb
    m = p.moe
    if m is not None:
        hit = expected_experts_hit(m.n_routed, m.top_k, tokens)
        read += m.moe_layers * ((hit * m.expert_params + m.shared_params + m.router_params) * wb)
    return read


def routed_expert_bytes_touched(cfg: dict, tokens: int, weight_dtype: str = "bfloat16") -> float:
    """The routed experts' share of weight_bytes_touched (0 for a dense model)."""
    m = param_counts(cfg).moe
    if m is None:
        return 0.0
    return m.moe_layers * expected_experts_hit(m.n_routed, m.top_k, tokens) * m.expert_params * weight_dtype_bytes(weight_dtype)


# ---------------------------------------------------------------------------------------------
# FLOPs


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


def attention_flops_per_token(cfg: dict, context_len: int, decode: bool = True, mla_padded_head_dim: int = 0) -> float:
    """FLOPs of one token's attention over `context_len` tokens, all layers."""
    d_qk, d_v = attention_dims(cfg, decode, mla_padded_head_dim)
    return 2.0 * num_layers(cfg) * num_heads(cfg) * (d_qk + d_v) * context_len


def decode_flops_per_token(cfg: dict, context_len: int) -> float:
    """One decode step of one sequence whose cache holds `context_len` tokens."""
    return linear_flops_per_token(cfg) + attention_flops_per_token(cfg, context_len, decode=True)


def prefill_flops(cfg: dict, prompt_len: int, cached_len: int = 0, *, logits_rows: int) -> float:
    """FLOPs to prefill `prompt_len` new tokens after `cached_len` already cached (causal attention),
    computing `logits_rows` rows of logits (1 for a chunk the engine samples from or, as vLLM V1 does,
    computes and discards; prompt_len when every prompt position's logprobs are asked for).

    blocks x L + head x logits_rows + attention, where token i (1-based among the new ones) attends to
    cached_len + i tokens: the sum is L x cached + L(L+1)/2, the quadratic term.
    """
    d_qk, d_v = attention_dims(cfg, decode=False)
    pairs = prompt_len * cached_len + prompt_len * (prompt_len + 1) / 2
    attn = 2.0 * num_layers(cfg) * num_heads(cfg) * (d_qk + d_v) * pairs
    return block_linear_flops_per_token(cfg) * prompt_len + lm_head_flops_per_row(cfg) * logits_rows + attn


def prefill_flops_per_token(cfg: dict, prompt_len: int) -> float:
    """A whole prompt of `prompt_len` tokens prefilled in one chunk (one logits row), per token."""
    return prefill_flops(cfg, prompt_len, logits_rows=1) / prompt_len
