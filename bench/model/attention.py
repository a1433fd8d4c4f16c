"""The attention of a config.json, layer by layer: which kind each layer is and what it keeps per sequence. Pure.

Kinds of layer (bench.model.modelmath sizes each):
  full     caches every token of the context: K and V per KV head (MHA/GQA), or MLA's compressed latent
  sliding  the same per token, but only the last `sliding_window` tokens: its cache stops growing at the window
           (gpt-oss alternates sliding and full layers; a Mistral-style window covers every layer)
  linear   gated delta-net linear attention (Qwen3-Next): a recurrent state of value_heads x key_dim x value_dim
           and a short convolution state of (2 x key_heads x key_dim + value_heads x value_dim) x (kernel - 1)
           per sequence, whatever its length; kept in the model's dtype (vLLM's mamba cache dtype 'auto')

Read from transformers' `layer_types` list (full_attention, sliding_attention, linear_attention); else Qwen3-Next's
`full_attention_interval` N (layer i is full when (i + 1) % N == 0, the rest linear); else a `sliding_window` that
`use_sliding_window` does not switch off (Qwen2's flag) applies to every layer; else every layer is full.

Attention sinks (gpt-oss): one learned logit per head that joins each softmax's denominator. They hold no token,
so they cost parameters (heads per layer) and no KV bytes.

Sparse attention (DeepSeek-V3.2): a lightning indexer of `index_n_heads` heads scores every cached token against
its own key of `index_head_dim` values, cached per token and layer in FP8 with one float32 scale per 128 values
(index_head_dim + index_head_dim / 128 x 4 bytes, whatever the KV dtype: vLLM's DeepseekV32IndexerCache); MLA then
attends to the `index_topk` best tokens only. The latent cache still holds every token.

A config that names an attention bench cannot size is refused with the field (attention_problem).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("full", "sliding", "linear")
LAYER_TYPES = {"full_attention": "full", "sliding_attention": "sliding", "linear_attention": "linear"}
# Fields that describe attention bench's arithmetic does not model, and what they are.
UNSIZED_FIELDS = {
    "attention_chunk_size": "chunked local attention (Llama 4)",
    "hybrid_override_pattern": "Mamba/attention hybrid layers (Nemotron-H)",
    "layers_block_type": "Mamba/attention hybrid layers (Jamba)",
    "attn_type_list": "lightning linear attention (MiniMax)",
    "linear_attn_config": "Kimi delta attention (Kimi Linear)",
    "compress_ratios": "compressed sparse attention (DeepSeek-V4)",
    "sliding_window_pattern": "an interleaved sliding-window pattern (Gemma)",
}
LINEAR_FIELDS = ("linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
                 "linear_conv_kernel_dim")
INDEX_FIELDS = ("index_n_heads", "index_head_dim", "index_topk")
INDEX_SCALE_BLOCK = 128  # values sharing one float32 scale in the indexer's FP8 key cache
INDEX_SCALE_BYTES = 4


@dataclass(frozen=True)
class Linear:
    """One gated delta-net layer's shapes (Qwen3-Next's linear_* fields)."""

    key_heads: int
    value_heads: int
    key_dim: int
    value_dim: int
    conv_kernel: int

    @property
    def conv_channels(self) -> int:
        return 2 * self.key_heads * self.key_dim + self.value_heads * self.value_dim

    @property
    def state_elements(self) -> int:
        """Recurrent state plus the convolution's last kernel - 1 inputs, per sequence."""
        return self.value_heads * self.key_dim * self.value_dim + self.conv_channels * (self.conv_kernel - 1)


@dataclass(frozen=True)
class Layout:
    kinds: tuple[str, ...]  # one per layer
    window: int | None  # sliding layers' window, tokens
    linear: Linear | None
    index_heads: int = 0  # DeepSeek-V3.2's lightning indexer (0: none)
    index_dim: int = 0
    topk: int | None = None  # tokens a sparse-attention query attends to

    @property
    def full(self) -> int:
        return self.kinds.count("full")

    @property
    def sliding(self) -> int:
        return self.kinds.count("sliding")

    @property
    def linear_layers(self) -> int:
        return self.kinds.count("linear")

    @property
    def token_layers(self) -> int:
        """Layers that cache per token (full and sliding)."""
        return self.full + self.sliding

    @property
    def index_bytes_per_token_per_layer(self) -> int:
        if not self.index_dim:
            return 0
        return self.index_dim + -(-self.index_dim // INDEX_SCALE_BLOCK) * INDEX_SCALE_BYTES

    @property
    def plain(self) -> bool:
        """Every layer full, no sparse attention: cache and attention grow linearly with the context."""
        return self.full == len(self.kinds) and self.topk is None

    def attended(self, context: int) -> int:
        """Tokens a full layer's query attends to at this context (all of them, or the sparse top-k)."""
        return context if self.topk is None else min(context, self.topk)

    def windowed(self, context: int) -> int:
        """Tokens a sliding layer holds and attends to at this context."""
        return context if self.window is None else min(context, self.window)


def _int(cfg: dict, name: str) -> int:
    return int(cfg[name])


def attention_problem(cfg: dict) -> str | None:
    """One line naming the field of an attention kind bench cannot size, or None."""
    for name, what in UNSIZED_FIELDS.items():
        if cfg.get(name) not in (None, [], 0, False):
            return (f"config.json field '{name}' describes {what}, an attention bench cannot size (it sizes full, "
                    "sliding-window, MLA, DeepSeek-V3.2 sparse and gated delta-net linear attention)")
    types = cfg.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or not types:
            return f"config.json field 'layer_types' is {types!r}, not a list of layer kinds"
        for i, t in enumerate(types):
            if not isinstance(t, str) or t not in LAYER_TYPES:
                return (f"config.json field 'layer_types[{i}]' is {t!r}, an attention kind bench cannot size "
                        f"(it sizes {', '.join(LAYER_TYPES)})")
        layers = cfg.get("num_hidden_layers") or cfg.get("num_layers")
        if layers is not None and len(types) != layers:
            return f"config.json field 'layer_types' lists {len(types)} layers, num_hidden_layers says {layers}"
    interval = cfg.get("full_attention_interval")
    if interval is not None and not _positive(interval):
        return "config.json field 'full_attention_interval' must be a positive whole number of layers"
    kinds = _kinds(cfg)
    if "sliding" in kinds and not _positive(cfg.get("sliding_window")):
        return "config.json field 'sliding_window' must be a positive number of tokens for sliding_attention layers"
    if "linear" in kinds:
        for name in LINEAR_FIELDS:
            if not _positive(cfg.get(name)):
                return f"config.json field '{name}' must be a positive whole number for linear_attention layers"
    if any(cfg.get(n) is not None for n in INDEX_FIELDS):
        for name in INDEX_FIELDS:
            if not _positive(cfg.get(name)):
                return f"config.json field '{name}' must be a positive whole number for sparse (indexer) attention"
    return None


def _positive(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1 and v == int(v)


def _kinds(cfg: dict) -> tuple[str, ...]:
    layers = int(cfg.get("num_hidden_layers") or cfg.get("num_layers") or 0)
    types = cfg.get("layer_types")
    if isinstance(types, list) and types:
        return tuple(LAYER_TYPES.get(t, "full") for t in types)
    interval = cfg.get("full_attention_interval")
    if interval and any(cfg.get(n) for n in LINEAR_FIELDS):
        return tuple("full" if (i + 1) % int(interval) == 0 else "linear" for i in range(layers))
    if cfg.get("sliding_window") and cfg.get("use_sliding_window", True):
        return ("sliding",) * layers
    return ("full",) * layers


def layout(cfg: dict) -> Layout:
    """The layer kinds and cache shapes of `cfg` (see the module doc); attention_problem first for bad configs."""
    kinds = _kinds(cfg)
    window = int(cfg["sliding_window"]) if "sliding" in kinds else None
    linear = None
    if "linear" in kinds:
        linear = Linear(*(_int(cfg, n) for n in LINEAR_FIELDS))
    if cfg.get("index_topk"):
        return Layout(kinds, window, linear, _int(cfg, "index_n_heads"), _int(cfg, "index_head_dim"),
                      _int(cfg, "index_topk"))
    return Layout(kinds, window, linear)


def indexer_params(cfg: dict) -> int:
    """DeepSeek-V3.2's lightning indexer, per layer: its query up-projection from the q latent, its key projection
    and LayerNorm (weight and bias), and the per-head weights projection."""
    lay = layout(cfg)
    if not lay.index_heads:
        return 0
    q_rank = int(cfg.get("q_lora_rank") or cfg["hidden_size"])
    h = int(cfg["hidden_size"])
    return q_rank * lay.index_heads * lay.index_dim + h * lay.index_dim + 2 * lay.index_dim + h * lay.index_heads


def linear_params_per_layer(cfg: dict) -> int:
    """One gated delta-net layer (Qwen3-Next): in_proj_qkvz (q, k, v and the output gate z), in_proj_ba (beta and
    the decay a, one per value head), the depthwise causal convolution over q, k and v, dt_bias and A_log per value
    head, the gated RMSNorm over value_dim, out_proj, and the layer's input norm."""
    lin = layout(cfg).linear
    if lin is None:
        return 0
    h = int(cfg["hidden_size"])
    qkvz = h * (2 * lin.key_heads * lin.key_dim + 2 * lin.value_heads * lin.value_dim)
    ba = h * 2 * lin.value_heads
    conv = lin.conv_channels * lin.conv_kernel
    return qkvz + ba + conv + 2 * lin.value_heads + lin.value_dim + lin.value_heads * lin.value_dim * h + h


def describe(cfg: dict) -> str:
    """The layer kinds in words, e.g. '18 full + 18 sliding-window (128 tokens)'."""
    lay = layout(cfg)
    parts = []
    if lay.full:
        full = f"{lay.full} full"
        if lay.topk is not None:
            full += (f" sparse (top {lay.topk:,} of the tokens, picked by a {lay.index_heads}-head indexer whose keys "
                     f"take {lay.index_bytes_per_token_per_layer} bytes a token)")
        parts.append(full)
    if lay.sliding:
        parts.append(f"{lay.sliding} sliding-window ({lay.window:,} tokens)")
    if lay.linear_layers:
        parts.append(f"{lay.linear_layers} linear (gated delta-net: a constant state per sequence)")
    return " + ".join(parts)


def sum_min(before: int, new: int, cap: int | None) -> float:
    """sum over i = 1..new of min(before + i, cap): the tokens a causal chunk of `new` tokens after `before`
    cached ones attends to when each query sees at most `cap` (None: no cap, before x new + new(new+1)/2)."""
    if cap is None:
        return new * before + new * (new + 1) / 2
    lo, hi = before + 1, before + new  # the positions of the new tokens
    if hi <= cap:
        return (lo + hi) * new / 2
    if lo > cap:
        return float(new * cap)
    below = cap - lo + 1  # positions lo..cap
    return (lo + cap) * below / 2 + (new - below) * cap
