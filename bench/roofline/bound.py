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

The KV cache gets what vLLM would give it, at best: gpu_memory_utilization x memory - weights
on each GPU (activations and CUDA graphs are not reserved), in 16-token blocks.

Units in names: _s seconds, _bytes, _flops, _tok_s tokens per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bench.config import run as runconfig
from bench.roofline import batchsim, efficiency
from bench.model import modelmath

GIB = 2**30
BLOCK_SIZE = 16
EXPLAIN_BATCHES = (1, 8, 64, 256)


@dataclass(frozen=True)
class GpuSpec:
    name: str
    memory_bytes: float
    bandwidth_bytes_s: float
    bf16_flops: float
    fp8_flops: float | None
    interconnect_bytes_s: float | None = None  # GPU-to-GPU, both directions together (datasheet figure)
    fp32_flops: float | None = None  # measured float32 matmul peak (bench probe entries)
    peak_measured: bool = False  # the peaks are one process's measured matmul (bench probe), not a datasheet's


def gpu_spec(name: str, hw) -> GpuSpec | None:
    """The accessor: the only place that reads hardware.yaml fields. None for a CPU entry without a
    measured matmul peak (no datasheet CPU roofline is defined) or without the figures a roofline needs.

    A CPU entry with a measured fp32_tflops, or a bf16_tflops `bench probe` measured, gets a
    roofline from its measured bandwidth and matmul rate: every format's peak is the measured one (no tensor
    units assumed), float32's half a 16-bit one when only that was measured (peak_flops_per_gpu).
    peak_measured: a CPU entry with a roofline, or any entry `bench probe` wrote (its spec_source says so)."""
    fp32 = getattr(hw, "fp32_tflops", None)
    bf16 = getattr(hw, "bf16_tflops", None)
    link = getattr(hw, "interconnect_gb_s", None)
    probed = str(getattr(hw, "spec_source", "")).startswith("bench probe")
    if getattr(hw, "kind", "gpu") != "gpu":
        bf16 = bf16 if probed else None  # a datasheet CPU bf16 figure is no peak LLM GEMMs reach: no roofline
        if not ((fp32 or bf16) and getattr(hw, "memory_bw_tb_s", None) and getattr(hw, "memory_gb", None)):
            return None
        return GpuSpec(name=name, memory_bytes=hw.memory_gb * GIB, bandwidth_bytes_s=hw.memory_bw_tb_s * 1e12,
                       bf16_flops=(bf16 or fp32) * 1e12, fp8_flops=None,
                       interconnect_bytes_s=link * 1e9 if link else None,
                       fp32_flops=fp32 * 1e12 if fp32 else None, peak_measured=True)
    if not (getattr(hw, "memory_gb", None) and getattr(hw, "memory_bw_tb_s", None) and getattr(hw, "bf16_tflops", None)):
        return None
    fp8 = getattr(hw, "fp8_tflops", None)
    return GpuSpec(name=name, memory_bytes=hw.memory_gb * GIB, bandwidth_bytes_s=hw.memory_bw_tb_s * 1e12,
                   bf16_flops=hw.bf16_tflops * 1e12, fp8_flops=fp8 * 1e12 if fp8 else None,
                   interconnect_bytes_s=link * 1e9 if link else None, fp32_flops=fp32 * 1e12 if fp32 else None,
                   peak_measured=probed)


def peak_flops_per_gpu(gpu: GpuSpec, weight_dtype: str) -> float:
    """fp8 weights run FP8 GEMMs where the card has them; weight-only int8/int4 compute in bf16; fp32 as TF32."""
    if weight_dtype == "fp8" and gpu.fp8_flops:
        return gpu.fp8_flops
    if weight_dtype == "float32":
        return gpu.fp32_flops or gpu.bf16_flops / 2
    return gpu.bf16_flops


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
class Deployment:
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
        tp = 1 if self.attention_data_parallel else self.tp
        return modelmath.kv_bytes_per_token(self.cfg, self.kv_cache_dtype, self.model_dtype, tp, self.mla_expanded,
                                            self._mla_pad)

    @cached_property
    def replicated_weight_bytes(self) -> float:
        """Bytes stored on every GPU beyond an even 1/TP split: whole attention weights under DP attention."""
        if not self.attention_data_parallel:
            return 0.0
        return self.params.attention * modelmath.weight_dtype_bytes(self.weight_dtype) * (self.tp - 1)

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
        return modelmath.block_linear_flops_per_token(self.cfg)

    @cached_property
    def _head_flops(self) -> float:
        return modelmath.lm_head_flops_per_row(self.cfg)

    @cached_property
    def _linear_flops(self) -> float:
        """A decoding sequence's linear FLOPs: its token through the blocks and its row of logits."""
        return self._block_flops + self._head_flops

    @cached_property
    def _mla_pad(self) -> int:
        return self.mla_padded_head_dim if self.mla_expanded else 0

    @cached_property
    def _attn_flops_per_ctx_decode(self) -> float:
        return modelmath.attention_flops_per_token(self.cfg, 1, decode=not self.mla_expanded,
                                                   mla_padded_head_dim=self._mla_pad)

    @cached_property
    def _prefill_attn_per_pair(self) -> float:
        d_qk, d_v = modelmath.attention_dims(self.cfg, decode=False, mla_padded_head_dim=self._mla_pad)
        return 2.0 * modelmath.num_layers(self.cfg) * modelmath.num_heads(self.cfg) * (d_qk + d_v)

    def _prefill_flops(self, prompt_len: int, cached_len: int) -> float:
        """modelmath.prefill_flops of one chunk (one logits row) with the config's constants cached."""
        pairs = prompt_len * cached_len + prompt_len * (prompt_len + 1) / 2
        return self._block_flops * prompt_len + self._head_flops + self._prefill_attn_per_pair * pairs

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

    # -- memory -------------------------------------------------------------------------------

    @property
    def kv_cache_bytes_per_gpu(self) -> float:
        return self.gpu_memory_utilization * self.gpu.memory_bytes - self.weight_bytes_per_gpu

    @property
    def fits(self) -> bool:
        return self.kv_cache_bytes_per_gpu >= BLOCK_SIZE * self.kv_bytes_per_token / self.tp

    @property
    def kv_capacity_tokens(self) -> int:
        """Tokens the KV cache holds, all sequences together (0 when the weights do not fit)."""
        return kv_capacity_tokens(max(0.0, self.kv_cache_bytes_per_gpu), self.kv_bytes_per_token / self.tp)

    def max_batch(self, context_len: int) -> int:
        """Sequences of `context_len` tokens whose KV fits at once."""
        return self.kv_capacity_tokens // context_len

    # -- time ---------------------------------------------------------------------------------

    def step(self, n_decode: int, decode_context_tokens: int, prefill_chunks: list[tuple[int, int]] = ()) -> StepBound:
        """One forward pass: n_decode sequences decoding (their contexts summing to decode_context_tokens)
        and prefill chunks of (new tokens, tokens already cached)."""
        new = sum(n for n, _ in prefill_chunks)
        tokens = n_decode + new
        flops = n_decode * self._linear_flops + decode_context_tokens * self._attn_flops_per_ctx_decode
        flops += sum(self._prefill_flops(n, cached) for n, cached in prefill_chunks)
        kv_read = decode_context_tokens + sum(cached for _, cached in prefill_chunks)
        moved = self.weight_bytes_touched(tokens) + self.replicated_weight_bytes
        moved += (kv_read + tokens) * self.kv_bytes_per_token
        return StepBound(tokens=tokens, flops=flops, bytes=moved, compute_s=flops / self.peak_flops,
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
            decode = n_decode * self._linear_flops + decode_context_tokens * self._attn_flops_per_ctx_decode
            return s.time_s, s.flops - decode, decode
        weights = self.weight_bytes_touched(s.tokens) + self.replicated_weight_bytes
        prefill = weights * new / s.tokens + (sum(c for _, c in prefill_chunks) + new) * self.kv_bytes_per_token
        return s.time_s, prefill, s.bytes - prefill

    @cached_property
    def machine(self) -> efficiency.Machine:
        """The TP group as the efficiency model sees it."""
        return efficiency.Machine(tp=self.tp, bandwidth_bytes_s=self.bandwidth_bytes_s, peak_flops=self.peak_flops,
                                  link_bytes_s=self.gpu.interconnect_bytes_s)

    @cached_property
    def _expert_memo(self) -> dict[int, float]:
        return {}

    def step_cost(self, n_decode: int, decode_context_tokens: int,
                  prefill_chunks: list[tuple[int, int]] = ()) -> efficiency.StepCost:
        """The step of `step` split by kind, for bench.roofline.efficiency (same totals as the bound's)."""
        new = sum(n for n, _ in prefill_chunks)
        tokens = n_decode + new
        memo = self._expert_memo
        if tokens not in memo:
            memo[tokens] = (modelmath.routed_expert_bytes_touched(self.cfg, tokens, self.weight_dtype)
                            if self.params.moe is not None else 0.0)
        experts = memo[tokens]
        m = self.params.moe
        # each GPU holds 1/TP of every expert: group bytes / one expert's bytes = hit x layers x TP slices
        matrices = (experts / (m.expert_params * modelmath.weight_dtype_bytes(self.weight_dtype)) * self.tp
                    if m is not None else 0.0)
        dense = self.weight_bytes_touched(tokens) - experts + self.replicated_weight_bytes
        kv_read = decode_context_tokens + sum(cached for _, cached in prefill_chunks)
        attn = decode_context_tokens * self._attn_flops_per_ctx_decode
        sequences = n_decode + len(prefill_chunks)
        gemm = tokens * self._block_flops + sequences * self._head_flops  # one logits row per sequence
        for n, cached in prefill_chunks:
            attn += self._prefill_flops(n, cached) - n * self._block_flops - self._head_flops
        act_bytes = 4 if self.model_dtype == "float32" else 2
        return efficiency.StepCost(
            dense_weight_bytes=dense, expert_weight_bytes=experts, kv_bytes=(kv_read + tokens) * self.kv_bytes_per_token,
            gemm_flops=gemm, attention_flops=attn, sequences=sequences, tokens=tokens,
            allreduce_bytes=tokens * int(self.cfg["hidden_size"]) * act_bytes,
            allreduces=2 * modelmath.num_layers(self.cfg) if self.tp > 1 else 0, expert_matrices=matrices)

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
                            prefix_blocks=prefix_blocks)
    tpot = [(r.finish_s - r.first_token_s) / (r.output_len - 1) if r.output_len > 1 else None for r in out.requests]
    return WorkloadPrediction(elapsed_s=out.elapsed_s, input_tokens=out.input_tokens, output_tokens=out.output_tokens,
                              ttft_s=[r.first_token_s for r in out.requests], tpot_s=tpot,
                              e2e_s=[r.finish_s for r in out.requests], steps=out.steps,
                              preemptions=out.preemptions, max_running=out.max_running,
                              prefill_s=out.prefill_s, decode_s=out.decode_s,
                              cached_tokens=tuple(r.cached_tokens for r in out.requests))


# -- explain ------------------------------------------------------------------------------------


def explain(dep: Deployment, context_len: int, batches: tuple[int, ...] = EXPLAIN_BATCHES) -> dict:
    """The numbers `bench explain` shows, as plain data (JSON-ready)."""
    p = dep.params
    rows = []
    for b in batches:
        s = dep.decode_step(b, context_len)
        rows.append({"batch": b, "step_ms": s.time_s * 1e3, "tok_s": b / s.time_s, "bound": s.bound,
                     "fits_kv": dep.fits and b <= dep.max_batch(context_len),
                     "weight_bytes_read": dep.weight_bytes_touched(b) + dep.replicated_weight_bytes,
                     "kv_bytes_read": b * context_len * dep.kv_bytes_per_token})
    prefill = dep.prefill_step(context_len)
    return {
        "model_type": dep.cfg.get("model_type"),
        "hardware": dep.gpu.name,
        "tensor_parallel_size": dep.tp,
        "weight_dtype": dep.weight_dtype,
        "kv_cache_dtype": dep.kv_cache_dtype,
        "context": context_len,
        "gpu_memory_utilization": dep.gpu_memory_utilization,
        "params_total": p.total,
        "params_active": p.active,
        "weight_bytes": dep.weight_bytes,
        "weight_bytes_per_gpu": dep.weight_bytes_per_gpu,
        "attention_data_parallel": dep.attention_data_parallel,
        "kv_bytes_per_token": dep.kv_bytes_per_token,
        "fits": dep.fits,
        "kv_cache_bytes": max(0.0, dep.kv_cache_bytes_per_gpu) * dep.tp,
        "kv_capacity_tokens": dep.kv_capacity_tokens,
        "max_batch": dep.max_batch(context_len),
        "decode_tok_s_bound": {str(r["batch"]): r["tok_s"] for r in rows},
        "decode": rows,
        "compute_bound_from_batch": dep.compute_bound_batch(context_len),
        "prefill_tok_s_bound": context_len / prefill.time_s,
        "prefill_bound": prefill.bound,
        "decode_flops_per_token": modelmath.decode_flops_per_token(dep.cfg, context_len),
        "prefill_flops_per_token": modelmath.prefill_flops_per_token(dep.cfg, context_len),
        "peak_flops": dep.peak_flops,
        "bandwidth_bytes_s": dep.bandwidth_bytes_s,
    }
