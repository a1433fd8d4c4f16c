"""The KV cache of a deployment: what one token and one sequence hold, and what a step reads and writes. Pure.

A mixin of bench.roofline.bound.Deployment (its fields cfg, tp, kv_cache_dtype, model_dtype, attention_data_parallel,
mla_expanded and its _mla_pad, _verified, kv_bytes_per_token). Every layer full (the common case): a token of context
costs kv_bytes_per_token in every layer, read once a step. Sliding windows, linear layers' states, sparse attention's
top-k and the indexer's keys (bench.model.attention): each sequence's cache is sized and read by kind, a decode
step's sequences taken at their mean context (exact when they are of one length).
"""

from __future__ import annotations

from functools import cached_property

from bench.config.run import mtp_draft_layers
from bench.model import attention, modelmath


class KvCache:
    @cached_property
    def _layout(self) -> attention.Layout:
        return attention.layout(self.cfg)

    @cached_property
    def _kv_parts(self) -> tuple[int, int, int, int]:
        """(full layers, sliding layers, indexer keys) bytes per token and the linear layers' state per sequence,
        summed over the TP group."""
        tp = 1 if self.attention_data_parallel else self.tp
        draft = self.draft
        full, sliding, index = modelmath.kv_token_bytes(self.cfg, self.kv_cache_dtype, self.model_dtype, tp,
                                                        self.mla_expanded, self._mla_pad,
                                                        mtp_draft_layers(self.cfg, draft and draft.method))
        return full, sliding, index, modelmath.linear_state_bytes(self.cfg, self.model_dtype)

    @cached_property
    def _cache_linear(self) -> bool:
        """A sequence's cache grows by kv_bytes_per_token a token from the first (no window, no constant state)."""
        return not self._layout.sliding and not self._layout.linear_layers

    def kv_bytes_per_sequence(self, context_len: int) -> float:
        """Bytes one sequence of `context_len` tokens holds on the TP group (modelmath.kv_bytes_per_sequence)."""
        full, sliding, index, state = self._kv_parts
        return (full + index) * context_len + sliding * self._layout.windowed(context_len) + state

    def kv_units(self, tokens: int) -> float:
        """A sequence of `tokens` tokens in the cache's unit, tokens of kv_bytes_per_token (what
        kv_capacity_tokens counts): the tokens themselves, fewer under sliding windows, more with a linear state."""
        if self._cache_linear:
            return tokens
        return self.kv_bytes_per_sequence(tokens) / self.kv_bytes_per_token

    @property
    def kv_units_or_none(self):
        """kv_units for the scheduler (bench.roofline.batchsim), None where a sequence holds one unit a token."""
        return None if self._cache_linear else self.kv_units

    def kv_read_bytes(self, context_len: float) -> float:
        """Cache bytes one decode step of one sequence with `context_len` tokens cached reads (see _kv_read_bytes)."""
        return self._kv_read_bytes(context_len)

    def _kv_read_bytes(self, context_len: float) -> float:
        """Cache bytes attention reads for one query step of a sequence with `context_len` tokens cached: the full
        layers' tokens it attends to (all, or the sparse top-k), the indexer's keys of all, the window, the state."""
        full, sliding, index, state = self._kv_parts
        lay = self._layout
        return full * lay.attended(context_len) + index * context_len + sliding * lay.windowed(context_len) + state

    def _kv_step_bytes(self, n_decode: int, decode_context_tokens: int,
                       prefill_chunks: list[tuple[int, int]]) -> tuple[float, float]:
        """(prefill, decode) cache bytes a step reads and writes: each sequence's cache as attention reads it, and
        every new token written (a linear layer's state read and written once per sequence)."""
        new = sum(n for n, _ in prefill_chunks)
        per_token = self.kv_bytes_per_token
        if self._layout.plain:
            return ((sum(c for _, c in prefill_chunks) + new) * per_token,
                    (decode_context_tokens + n_decode * self._verified) * per_token)
        state = self._kv_parts[3]
        full, sliding, index, _ = self._kv_parts
        prefill = sum((full + index) * c + sliding * self._layout.windowed(c) + 2 * state for _, c in prefill_chunks)
        prefill += new * per_token
        decode = 0.0
        if n_decode:
            decode = n_decode * (self._kv_read_bytes(decode_context_tokens / n_decode) + state
                                 + self._verified * per_token)
        return prefill, decode

    @cached_property
    def _touched_memo(self) -> dict[int, float]:
        return {}

    def weight_bytes_touched(self, tokens: int) -> float:
        """Weight bytes a pass over `tokens` tokens reads (dense models: all, whatever the count)."""
        if self.params.moe is None:
            tokens = 1
        memo = self._touched_memo
        if tokens not in memo:
            memo[tokens] = modelmath.weight_bytes_touched(self.cfg, tokens, self.weight_dtype)
        return memo[tokens]

