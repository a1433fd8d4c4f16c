"""What the hardware allows: time bounds for a model on a GPU group. Pure functions.

A step of the engine (one forward pass over some decoding sequences and some prompt chunks)
cannot take less than
    max(bytes moved / memory bandwidth, FLOPs / peak tensor FLOPS)
where bytes moved = weights the step touches (for MoE: the dense part, the shared experts and
the expected number of distinct routed experts its tokens reach) + KV cache read + KV written,
and FLOPs = the blocks' linear layers for every token + one lm_head row per sequence (decoding, or a
prompt chunk: logits only where the engine samples) + attention (bench.model.modelmath). With tensor parallelism over N GPUs
the bandwidth and the peak are N times one GPU's; communication is not charged, so this is
an upper bound on speed, never an estimate of overhead.

The KV cache gets gpu_memory_utilization x memory - weights - memory_reserve_bytes on each GPU, in 16-token
blocks: the bound's own cache reserves nothing; a prediction of vLLM may reserve its profile run's activation
peak, CUDA graphs and non-torch memory (bench.roofline.reserve, set by bench.roofline.predict.deployment).

Units in names: _s seconds, _bytes, _flops, _tok_s tokens per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bench.config import run as runconfig
from bench.roofline import batchsim, collectives, efficiency, speculation
from bench.roofline.gpu import GIB, GpuSpec, gpu_spec, peak_flops_per_gpu  # noqa: F401 (bound.X is their public name)
from bench.roofline.kvcache import KvCache
from bench.model import flops, modelmath

BLOCK_SIZE = 16


@dataclass(frozen=True)
class StepBound:
    tokens: int
    flops: float
    bytes: float
    compute_s: float
    memory_s: float

    @property
    def time_s(self) -> float:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass(frozen=True, eq=False)
class Deployment(KvCache):
    """A model served on `tensor_parallel_size` GPUs of one kind, in given weight and KV formats."""

    cfg: dict
    gpu: GpuSpec
    tensor_parallel_size: int = 1
    weight_dtype: str = "bfloat16"
    kv_cache_dtype: str = runconfig.default("kv_cache_dtype")
    model_dtype: str = "bfloat16"  # activations; what kv_cache_dtype 'auto' stores
    gpu_memory_utilization: float = runconfig.default("gpu_memory_utilization")
    # Data-parallel attention (SGLang's --enable-dp-attention, DeepSeek's own serving): each GPU keeps
    # whole attention weights and the KV of its own sequences, so MLA's latent is stored once, not per GPU.
    attention_data_parallel: bool = False
    # MLA cached expanded per head (older engines, bench.roofline.engine_profiles.mla_expanded): about 9x the
    # latent's bytes, and decode attention in the expanded 192/128 form instead of the absorbed 576/512 one.
    mla_expanded: bool = False
    # K and V of the expanded form padded to one head size (engine_profiles.mla_padded_head_dim); 0: not padded
    mla_padded_head_dim: int = 0
    # speculative decoding (bench.roofline.speculation): each decoding sequence verifies k + 1 tokens a step and
    # a network draft adds k passes; None: one token a step
    draft: speculation.Draft | None = None
    # what the engine keeps from the KV cache besides the weights, per GPU (vLLM's profile run:
    # bench.roofline.reserve.non_kv_bytes); 0: the bound's cache
    memory_reserve_bytes: float = 0.0

    @property
    def tp(self) -> int:
        return max(1, self.tensor_parallel_size)

    @cached_property
    def params(self) -> modelmath.ParamCounts:
        return modelmath.param_counts(self.cfg)

    @cached_property
    def weight_bytes(self) -> float:
        return modelmath.weight_bytes(self.cfg, self.weight_dtype)

    @cached_property
    def kv_bytes_per_token(self) -> int:
        """Summed over the TP group (MLA's latent and too-few KV heads are replicated, unless attention is DP)."""
        return sum(self._kv_parts[:3])

    @cached_property
    def replicated_weight_bytes(self) -> float:
        """Bytes stored on every GPU beyond an even 1/TP split: whole attention weights under DP attention."""
        if not self.attention_data_parallel:
            return 0.0
        return self.params.attention * modelmath.format_bytes(self.weight_dtype).attention * (self.tp - 1)

    @property
    def weight_bytes_per_gpu(self) -> float:
        return (self.weight_bytes + self.replicated_weight_bytes) / self.tp

    @property
    def bandwidth_bytes_s(self) -> float:
        return self.tp * self.gpu.bandwidth_bytes_s

    @property
    def peak_flops(self) -> float:
        return self.tp * peak_flops_per_gpu(self.gpu, self.weight_dtype)

    @cached_property
    def _block_flops(self) -> float:
        return flops.block_linear_flops_per_token(self.cfg)

    @cached_property
    def _head_flops(self) -> float:
        return flops.lm_head_flops_per_row(self.cfg)

    @cached_property
    def _linear_flops(self) -> float:
        """A decoding sequence's linear FLOPs: its token through the blocks and its row of logits."""
        return self._block_flops + self._head_flops

    @cached_property
    def _mla_pad(self) -> int:
        return self.mla_padded_head_dim if self.mla_expanded else 0

    @cached_property
    def _attn_flops_per_ctx_decode(self) -> float:
        return flops.attention_flops_per_token(self.cfg, 1, decode=not self.mla_expanded,
                                               mla_padded_head_dim=self._mla_pad)

    def _decode_attn_flops(self, n_decode: int, decode_context_tokens: int) -> float:
        """Attention FLOPs of `n_decode` decoding sequences whose contexts sum to decode_context_tokens. Every layer
        full (the common case): linear in the sum. Windows, sparse top-k or linear layers: each sequence taken at
        the mean context (exact when they are of one length, as in a batch of equal requests)."""
        if self._layout.plain:
            return decode_context_tokens * self._attn_flops_per_ctx_decode
        if n_decode == 0:
            return 0.0
        mean = decode_context_tokens / n_decode
        return n_decode * flops.attention_flops(self.cfg, 1, mean - 1, decode=not self.mla_expanded,
                                                mla_padded_head_dim=self._mla_pad, lay=self._layout)

    def _prefill_attn_flops(self, prompt_len: int, cached_len: int) -> float:
        return flops.attention_flops(self.cfg, prompt_len, cached_len, decode=False, mla_padded_head_dim=self._mla_pad,
                                     lay=self._layout)

    def _prefill_flops(self, prompt_len: int, cached_len: int) -> float:
        """flops.prefill_flops of one chunk (one logits row) with the config's constants cached."""
        return self._block_flops * prompt_len + self._head_flops + self._prefill_attn_flops(prompt_len, cached_len)

    # -- memory -------------------------------------------------------------------------------

    @property
    def kv_cache_bytes_per_gpu(self) -> float:
        return self.gpu_memory_utilization * self.gpu.memory_bytes - self.weight_bytes_per_gpu - self.memory_reserve_bytes

    @property
    def fits(self) -> bool:
        return self.kv_cache_bytes_per_gpu >= BLOCK_SIZE * self.kv_bytes_per_token / self.tp

    @property
    def kv_capacity_tokens(self) -> int:
        """Tokens the KV cache holds, all sequences together (0 when the weights do not fit)."""
        return kv_capacity_tokens(max(0.0, self.kv_cache_bytes_per_gpu), self.kv_bytes_per_token / self.tp)

    def max_batch(self, context_len: int) -> int:
        """Sequences of `context_len` tokens whose KV fits at once (a window or a linear state: their bytes
        per sequence, kv_units)."""
        if self._cache_linear:
            return self.kv_capacity_tokens // context_len
        return int(self.kv_capacity_tokens // self.kv_units(context_len))

    # -- time ---------------------------------------------------------------------------------

    @property
    def _verified(self) -> int:
        """Tokens a decoding sequence runs through the model a step (speculative decoding: k + 1)."""
        return self.draft.verified if self.draft else 1

    @property
    def tokens_per_step(self) -> float:
        """Tokens a decoding sequence emits a step (speculative decoding: 1 + k x acceptance)."""
        return self.draft.tokens_per_step if self.draft else 1.0

    def _draft_cost(self, n_decode: int) -> tuple[float, float]:
        """(weight bytes, FLOPs) of a step's draft passes (k of them, a network draft only)."""
        d = self.draft
        if d is None or not d.computed or n_decode == 0:
            return 0.0, 0.0
        moved, work = speculation.draft_pass(self.cfg, self.weight_dtype, n_decode, self.weight_bytes_touched(n_decode))
        return d.draft_tokens * moved, d.draft_tokens * work

    def _decode_work(self, n_decode: int, decode_context_tokens: int) -> float:
        """FLOPs of a step's decoding sequences: k + 1 verified tokens each (1 without a draft), and the draft's."""
        q = self._verified
        return (n_decode * q * self._linear_flops + q * self._decode_attn_flops(n_decode, decode_context_tokens)
                + self._draft_cost(n_decode)[1])

    def step(self, n_decode: int, decode_context_tokens: int, prefill_chunks: list[tuple[int, int]] = ()) -> StepBound:
        """One forward pass: n_decode sequences decoding (their contexts summing to decode_context_tokens)
        and prefill chunks of (new tokens, tokens already cached)."""
        new = sum(n for n, _ in prefill_chunks)
        tokens = n_decode * self._verified + new
        work = self._decode_work(n_decode, decode_context_tokens)
        work += sum(self._prefill_flops(n, cached) for n, cached in prefill_chunks)
        moved = self.weight_bytes_touched(tokens) + self.replicated_weight_bytes + self._draft_cost(n_decode)[0]
        moved += sum(self._kv_step_bytes(n_decode, decode_context_tokens, prefill_chunks))
        return StepBound(tokens=tokens, flops=work, bytes=moved, compute_s=work / self.peak_flops,
                         memory_s=moved / self.bandwidth_bytes_s)

    def step_split(self, n_decode: int, decode_context_tokens: int,
                   prefill_chunks: list[tuple[int, int]] = ()) -> tuple[float, float, float]:
        """(step seconds, prefill cost, decode cost): the step's roofline time and what each part uses of
        the resource that binds it. Compute-bound: each part's FLOPs. Memory-bound: each part's bytes,
        the weights (read once for all tokens) shared by token count, KV read and written by its owner.
        bench.cost.formulas.step_share_seconds turns these into prefill and decode seconds."""
        s = self.step(n_decode, decode_context_tokens, prefill_chunks)
        new = sum(n for n, _ in prefill_chunks)
        if s.bound == "compute":
            decode = self._decode_work(n_decode, decode_context_tokens)
            return s.time_s, s.flops - decode, decode
        weights = self.weight_bytes_touched(s.tokens) + self.replicated_weight_bytes
        prefill = weights * new / s.tokens + self._kv_step_bytes(n_decode, decode_context_tokens, prefill_chunks)[0]
        return s.time_s, prefill, s.bytes - prefill

    @cached_property
    def machine(self) -> efficiency.Machine:
        """The TP group as the efficiency model sees it."""
        return efficiency.Machine(tp=self.tp, bandwidth_bytes_s=self.bandwidth_bytes_s, peak_flops=self.peak_flops,
                                  link_bytes_s=self.gpu.interconnect_bytes_s,
                                  allreduce_alpha_s=collectives.allreduce_alpha_s(self.gpu.link_kind, self.tp))

    @cached_property
    def _expert_memo(self) -> dict[int, float]:
        return {}

    def step_cost(self, n_decode: int, decode_context_tokens: int,
                  prefill_chunks: list[tuple[int, int]] = ()) -> efficiency.StepCost:
        """The step of `step` split by kind, for bench.roofline.efficiency (same totals as the bound's)."""
        new = sum(n for n, _ in prefill_chunks)
        tokens = n_decode * self._verified + new
        memo = self._expert_memo
        if tokens not in memo:
            memo[tokens] = (modelmath.routed_expert_bytes_touched(self.cfg, tokens, self.weight_dtype)
                            if self.params.moe is not None else 0.0)
        experts = memo[tokens]
        m = self.params.moe
        # each GPU holds 1/TP of every expert: group bytes / one expert's bytes = hit x layers x TP slices
        matrices = (experts / (m.expert_params * modelmath.format_bytes(self.weight_dtype).mlp) * self.tp
                    if m is not None else 0.0)
        draft_bytes, draft_flops = self._draft_cost(n_decode)
        dense = self.weight_bytes_touched(tokens) - experts + self.replicated_weight_bytes + draft_bytes
        attn = self._verified * self._decode_attn_flops(n_decode, decode_context_tokens)
        sequences = n_decode + len(prefill_chunks)
        # one logits row per sequence, per verified token of a speculative decode
        gemm = tokens * self._block_flops + (sequences + n_decode * (self._verified - 1)) * self._head_flops
        gemm += draft_flops
        for n, cached in prefill_chunks:
            attn += self._prefill_attn_flops(n, cached)
        act_bytes = 4 if self.model_dtype == "float32" else 2
        return efficiency.StepCost(
            dense_weight_bytes=dense, expert_weight_bytes=experts,
            kv_bytes=sum(self._kv_step_bytes(n_decode, decode_context_tokens, prefill_chunks)),
            gemm_flops=gemm, attention_flops=attn, sequences=sequences, tokens=tokens,
            allreduce_bytes=tokens * int(self.cfg["hidden_size"]) * act_bytes,
            allreduces=collectives.ALLREDUCES_PER_LAYER * modelmath.num_layers(self.cfg) if self.tp > 1 else 0,
            expert_matrices=matrices, launch_s=collectives.launch_s(self._kernels, tokens))

    @cached_property
    def _kernels(self) -> int:
        return collectives.kernels_per_step(modelmath.num_layers(self.cfg), m.moe_layers if (m := self.params.moe) else 0)

    def decode_step(self, batch: int, context_len: int) -> StepBound:
        return self.step(batch, batch * context_len)

    def decode_tok_s(self, batch: int, context_len: int) -> float:
        return batch / self.decode_step(batch, context_len).time_s

    def prefill_step(self, prompt_len: int, n_prompts: int = 1) -> StepBound:
        return self.step(0, 0, [(prompt_len, 0)] * n_prompts)

    def prefill_tok_s(self, prompt_len: int, n_prompts: int = 1) -> float:
        return n_prompts * prompt_len / self.prefill_step(prompt_len, n_prompts).time_s

    def compute_bound_batch(self, context_len: int, limit: int = 1 << 20) -> int | None:
        """Smallest decode batch at this context whose step is compute-bound; None if none up to `limit`.

        compute/memory grows with the batch (weights are shared, FLOPs are per token), so bisect.
        """
        if self.decode_step(limit, context_len).bound != "compute":
            return None
        lo, hi = 1, limit
        while lo < hi:
            mid = (lo + hi) // 2
            if self.decode_step(mid, context_len).bound == "compute":
                hi = mid
            else:
                lo = mid + 1
        return lo


def kv_capacity_tokens(kv_cache_bytes: float, kv_bytes_per_token: float, block_size: int = BLOCK_SIZE) -> int:
    """Whole blocks of `block_size` tokens that fit in `kv_cache_bytes` (vLLM's paged cache)."""
    if kv_bytes_per_token <= 0:
        raise ValueError("kv_bytes_per_token must be positive")
    return int(kv_cache_bytes // (block_size * kv_bytes_per_token)) * block_size


# -- workloads ------------------------------------------------------------------------------------


class TokenRates:
    """Tokens per second of a predicted run, from its token counts over its elapsed_s (fields of the dataclass
    that mixes it in)."""

    elapsed_s: float
    input_tokens: int
    output_tokens: int

    @property
    def output_tok_s(self) -> float:
        return self.output_tokens / self.elapsed_s

    @property
    def input_tok_s(self) -> float:
        return self.input_tokens / self.elapsed_s

    @property
    def total_tok_s(self) -> float:
        return (self.input_tokens + self.output_tokens) / self.elapsed_s


@dataclass(frozen=True)
class WorkloadPrediction(TokenRates):
    elapsed_s: float
    input_tokens: int
    output_tokens: int
    ttft_s: list[float]
    tpot_s: list[float | None]
    e2e_s: list[float]
    steps: int
    preemptions: int
    max_running: int
    prefill_s: float | None = None  # elapsed_s split step by step (Deployment.step_split)
    decode_s: float | None = None
    cached_tokens: tuple = ()  # per request: prompt tokens from the prefix cache (None each when caching is off)


def predict_workload(dep: Deployment, lengths: list[tuple[int, int]], max_num_seqs: int = 256,
                     max_num_batched_tokens: int = 8192, prefix_blocks: list | None = None) -> WorkloadPrediction:
    """All (prompt_len, output_len) requests at t=0, continuously batched, each step at its roofline time;
    `prefix_blocks` (batchsim.prefix_hashes): with prefix caching."""
    def step_time_s(n_decode: int, ctx: int, chunks: list) -> tuple[float, float, float]:
        return dep.step_split(n_decode, ctx, chunks)

    out = batchsim.simulate(lengths, step_time_s, dep.kv_capacity_tokens, max_num_seqs, max_num_batched_tokens,
                            prefix_blocks=prefix_blocks, kv_units=dep.kv_units_or_none,
                            tokens_per_step=dep.tokens_per_step)
    tpot = [(r.finish_s - r.first_token_s) / (r.output_len - 1) if r.output_len > 1 else None for r in out.requests]
    return WorkloadPrediction(elapsed_s=out.elapsed_s, input_tokens=out.input_tokens, output_tokens=out.output_tokens,
                              ttft_s=[r.first_token_s for r in out.requests], tpot_s=tpot,
                              e2e_s=[r.finish_s for r in out.requests], steps=out.steps,
                              preemptions=out.preemptions, max_running=out.max_running,
                              prefill_s=out.prefill_s, decode_s=out.decode_s,
                              cached_tokens=tuple(r.cached_tokens for r in out.requests))
