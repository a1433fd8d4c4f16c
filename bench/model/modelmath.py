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

Layers by attention kind (bench.model.attention): full, sliding-window and gated delta-net linear layers;
MLA and DeepSeek-V3.2's sparse attention are full layers with their own cache shapes.

KV-cache bytes per token (one token of context in every layer that caches tokens: the unit of vLLM's
paged pool, kv_bytes_per_token):
  MHA/GQA: token layers x 2 (K and V) x kv_heads x head_dim x dtype bytes
  MLA (DeepSeek-V2/V3): token layers x (kv_lora_rank + qk_rope_head_dim) x dtype bytes
    (one compressed latent plus the decoupled RoPE key per layer; no separate V)
  DeepSeek-V3.2 adds its indexer's key per token and layer: index_head_dim FP8 bytes + a float32 scale per 128
Summed over all GPUs of a tensor-parallel group: KV heads are split across GPUs but
replicated when TP exceeds their number; MLA's latent and the indexer's keys are replicated on every GPU.
A sequence of C tokens holds (kv_bytes_per_sequence): full layers x C + sliding layers x min(C, window)
+ index keys x C + linear layers' constant state (model dtype); attention sinks hold nothing.

FLOPs: bench.model.flops.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.model import attention

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "half": 2, "float": 4}
KV_DTYPE_BYTES = {"fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}
# Weight formats: bytes per element of the transformer blocks' linear layers. Quantised formats
# (fp8 W8A8, int8/int4 weight-only) keep embeddings, lm_head and norms in 16 bits, as vLLM does;
# the per-group scales of int4 (about 2 bytes per 128 weights, 3%) are left out.
# MXFP4 (OCP microscaling, gpt-oss's published checkpoint): 4-bit values with one 8-bit power-of-two scale per 32,
# 4.25 bits = 0.53125 bytes a weight, on the MLP and expert matrices only (attention, router, embeddings, lm_head
# and norms stay 16-bit: the checkpoint's modules_to_not_convert).
WEIGHT_DTYPE_BYTES = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
                      "mxfp4": 4.25 / 8}
WEIGHT_DTYPES = tuple(WEIGHT_DTYPE_BYTES)
QUANTISED = ("fp8", "int8", "int4", "mxfp4")
# A checkpoint's quantization_config.quant_method -> the weight format vLLM loads it in by default.
CHECKPOINT_FORMATS = {"fp8": "fp8", "mxfp4": "mxfp4"}


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


def checkpoint_weight_format(cfg: dict) -> str | None:
    """The weight format a published checkpoint is stored in (fp8: DeepSeek-V3/R1, Kimi K2; mxfp4: gpt-oss), which
    vLLM loads without being asked; None for 16-bit checkpoints and formats bench does not size."""
    q = cfg.get("quantization_config")
    return CHECKPOINT_FORMATS.get(str(q.get("quant_method", "")).lower()) if isinstance(q, dict) else None


@dataclass(frozen=True)
class FormatBytes:
    """Bytes per parameter of a weight format, by where the parameter lives."""

    attention: float  # attention projections and MoE routers
    mlp: float  # dense MLPs, routed and shared experts
    other: float  # embeddings, lm_head, norms


def format_bytes(weight_dtype: str) -> FormatBytes:
    """16-bit formats and float32: every parameter in it. fp8/int8/int4: the blocks' linear layers in it, the rest
    in 16 bits (as vLLM does). mxfp4: the MLP and expert matrices only (gpt-oss's modules_to_not_convert)."""
    b = weight_dtype_bytes(weight_dtype)
    if weight_dtype == "mxfp4":
        return FormatBytes(2.0, b, 2.0)
    return FormatBytes(b, b, 2.0 if weight_dtype in QUANTISED else b)


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


def kv_token_bytes(cfg: dict, kv_cache_dtype: str = "auto", model_dtype: str = "bfloat16",
                   tensor_parallel_size: int = 1, mla_expanded: bool = False, mla_padded_head_dim: int = 0,
                   draft_layers: int = 0) -> tuple[int, int, int]:
    """(full layers, sliding layers, indexer keys): bytes one token occupies in each, summed over the GPUs of a TP
    group (see the module doc and kv_bytes_per_token). draft_layers: MTP layers run as a speculative draft
    (bench.config.run.mtp_draft_layers), each caching like one more full layer of the model."""
    lay = attention.layout(cfg)
    if draft_layers:
        lay = attention.Layout(lay.kinds + ("full",) * draft_layers, lay.window, lay.linear, lay.index_heads,
                               lay.index_dim, lay.topk)
    per_elem = kv_dtype_bytes(kv_cache_dtype, model_dtype)
    tp = max(1, tensor_parallel_size)
    index = tp * lay.token_layers * lay.index_bytes_per_token_per_layer
    if is_mla(cfg) and mla_expanded:
        per_layer = mla_expanded_elements_per_token_per_layer(cfg, mla_padded_head_dim) * per_elem
    elif is_mla(cfg):
        per_layer = tp * kv_elements_per_token_per_layer(cfg) * per_elem
    else:
        kv_heads_stored = max(num_kv_heads(cfg), tp)  # heads are replicated when TP > kv heads
        per_layer = 2 * kv_heads_stored * head_dim(cfg) * per_elem
    return lay.full * per_layer, lay.sliding * per_layer, index


def kv_bytes_per_token(cfg: dict, kv_cache_dtype: str = "auto", model_dtype: str = "bfloat16",
                       tensor_parallel_size: int = 1, mla_expanded: bool = False, mla_padded_head_dim: int = 0,
                       draft_layers: int = 0) -> int:
    """KV-cache bytes one token occupies in every layer that caches tokens, summed over the GPUs of a TP group
    (see the module doc): the unit vLLM's paged pool is counted in.

    mla_expanded: an MLA model whose engine caches per-head K and V (split over TP like MHA heads),
    each padded to mla_padded_head_dim when that is given (see mla_expanded_elements_per_token_per_layer)."""
    return sum(kv_token_bytes(cfg, kv_cache_dtype, model_dtype, tensor_parallel_size, mla_expanded,
                              mla_padded_head_dim, draft_layers))


def linear_state_bytes(cfg: dict, model_dtype: str = "bfloat16") -> int:
    """Bytes of every linear-attention layer's state for one sequence, whatever its length (the model's dtype:
    the KV dtype does not apply to it); split over a TP group's GPUs with the heads, so the sum does not grow."""
    lay = attention.layout(cfg)
    if lay.linear is None:
        return 0
    return lay.linear_layers * lay.linear.state_elements * dtype_bytes(model_dtype)


def kv_bytes_per_sequence(cfg: dict, context_len: int, kv_cache_dtype: str = "auto", model_dtype: str = "bfloat16",
                          tensor_parallel_size: int = 1) -> int:
    """Cache bytes one sequence of `context_len` tokens holds, all layers, summed over the TP group: full layers and
    indexer keys x context, sliding layers x min(context, window), linear layers' state once."""
    full, sliding, index = kv_token_bytes(cfg, kv_cache_dtype, model_dtype, tensor_parallel_size)
    lay = attention.layout(cfg)
    return ((full + index) * context_len + sliding * lay.windowed(context_len)
            + linear_state_bytes(cfg, model_dtype))


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
    """One full (or sliding-window) attention layer, its input norm included: MLA's projections (and DeepSeek-V3.2's
    indexer), or q/k/v/o with Qwen's q/k/v biases, per-head q/k norms (Qwen3, GLM-4.5's use_qk_norm), Qwen3-Next's
    output gate (q_proj twice as wide), gpt-oss's o_proj bias and attention sinks (one logit per head)."""
    h = int(cfg["hidden_size"])
    heads = num_heads(cfg)
    if is_mla(cfg):
        nope, rope = int(cfg["qk_nope_head_dim"]), int(cfg["qk_rope_head_dim"])
        v_dim, kv_rank = int(cfg["v_head_dim"]), int(cfg["kv_lora_rank"])
        q_rank = cfg.get("q_lora_rank")
        q_out = heads * (nope + rope)
        q = h * int(q_rank) + int(q_rank) + int(q_rank) * q_out if q_rank else h * q_out  # q_a, its norm, q_b
        kv = h * (kv_rank + rope) + kv_rank + kv_rank * heads * (nope + v_dim)  # kv_a, its norm, kv_b
        return q + kv + heads * v_dim * h + h + attention.indexer_params(cfg)  # o_proj, input norm
    d, kv_heads = head_dim(cfg), num_kv_heads(cfg)
    model_type = cfg.get("model_type")
    gate = 2 if cfg.get("attn_output_gate", model_type == "qwen3_next") else 1  # Qwen3-Next: a sigmoid gate per q
    q, kv, o = gate * h * heads * d, 2 * h * kv_heads * d, heads * d * h
    has_bias = bool(cfg.get("attention_bias")) or model_type in ("qwen2", "qwen2_moe")  # Qwen: q/k/v bias
    bias = heads * d + 2 * kv_heads * d if has_bias else 0
    qk_norm = 2 * d if model_type in ("qwen3", "qwen3_moe", "qwen3_next") or cfg.get("use_qk_norm") else 0
    sinks_and_o_bias = heads + h if model_type == "gpt_oss" else 0
    return q + kv + o + bias + qk_norm + sinks_and_o_bias + h  # + input norm


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
    biased = cfg.get("model_type") == "gpt_oss"  # gpt-oss: biases on gate_up (2 x inter), down (hidden), router
    return MoE(n_routed=n_routed, top_k=int(cfg["num_experts_per_tok"]),
               expert_params=_gated_mlp(h, inter) + (2 * inter + h if biased else 0),
               shared_params=shared, router_params=h * n_routed + (n_routed if biased else 0), moe_layers=moe_layers)


def param_counts(cfg: dict) -> ParamCounts:
    h, vocab, layers = int(cfg["hidden_size"]), int(cfg["vocab_size"]), num_layers(cfg)
    flags = _moe_layer_flags(cfg)
    dense_layers = layers - sum(flags)
    tied = bool(cfg.get("tie_word_embeddings", False))
    lay = attention.layout(cfg)
    return ParamCounts(
        embedding=vocab * h,
        lm_head=0 if tied else vocab * h,
        attention=(lay.token_layers * attention_params_per_layer(cfg)
                   + lay.linear_layers * attention.linear_params_per_layer(cfg)),
        dense_mlp=dense_layers * _gated_mlp(h, int(cfg["intermediate_size"])),
        moe=_moe(cfg, sum(flags)),
        norms=layers * h + h,  # post-attention norm per layer + final norm
    )


def params_total(cfg: dict) -> int:
    return param_counts(cfg).total


def params_active(cfg: dict) -> int:
    return param_counts(cfg).active


# What a model card's "active parameters" counts (models.yaml card.active_counts).
ACTIVE_COUNTS = ("bench", "with embeddings", "without embeddings")


def active_as_counted(cfg: dict, counts: str) -> int:
    """Active parameters counted a card's way: 'bench' = params_active (all a token multiplies but the input
    embedding); 'with embeddings' = total minus the routed experts a token skips; 'without embeddings' = bench's
    minus the lm_head."""
    p = param_counts(cfg)
    return {"bench": p.active, "with embeddings": p.active + p.embedding,
            "without embeddings": p.active - (p.lm_head or p.embedding)}[counts]


def mtp_params(cfg: dict) -> int:
    """Multi-token prediction modules (num_nextn_predict_layers: DeepSeek-V3/R1, GLM-4.5), which published totals
    leave out (DeepSeek-V3: 671B + 14B) and vLLM loads only as a speculative draft (--speculative-config method
    mtp). Each: one decoder layer (attention and an MLP like the model's last layer), the norms of the hidden state
    and of the next token's embedding (hnorm, enorm), their joint projection eh_proj (2 x hidden -> hidden), its own
    embedding and head (shared_head) with its norm, as the checkpoints store them."""
    n = int(cfg.get("num_nextn_predict_layers") or 0)
    if not n:
        return 0
    p = param_counts(cfg)
    h, vocab = int(cfg["hidden_size"]), int(cfg["vocab_size"])
    mlp = (p.moe_total // p.moe.moe_layers if p.moe else _gated_mlp(h, int(cfg["intermediate_size"])))
    layer = attention_params_per_layer(cfg) + mlp + h  # + post-attention norm
    return n * (layer + 2 * h + 2 * h * h + 2 * vocab * h + h)


# ---------------------------------------------------------------------------------------------
# Weight bytes


def weight_bytes(cfg: dict, weight_dtype: str = "bfloat16") -> float:
    """Bytes of all stored weights in the given format (see WEIGHT_DTYPE_BYTES and format_bytes)."""
    p = param_counts(cfg)
    f = format_bytes(weight_dtype)
    routers = p.moe.moe_layers * p.moe.router_params if p.moe else 0
    mlp = p.dense_mlp + p.moe_total - routers
    return (p.attention + routers) * f.attention + mlp * f.mlp + (p.total - p.block_linear_total) * f.other


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
    f = format_bytes(weight_dtype)
    head = p.lm_head or p.embedding
    read = p.attention * f.attention + p.dense_mlp * f.mlp + (head + p.norms) * f.other
    m = p.moe
    if m is not None:
        hit = expected_experts_hit(m.n_routed, m.top_k, tokens)
        read += m.moe_layers * ((hit * m.expert_params + m.shared_params) * f.mlp + m.router_params * f.attention)
    return read


def routed_expert_bytes_touched(cfg: dict, tokens: int, weight_dtype: str = "bfloat16") -> float:
    """The routed experts' share of weight_bytes_touched (0 for a dense model)."""
    m = param_counts(cfg).moe
    if m is None:
        return 0.0
    hit = expected_experts_hit(m.n_routed, m.top_k, tokens)
    return m.moe_layers * hit * m.expert_params * format_bytes(weight_dtype).mlp
