"""The memory vLLM keeps from the KV cache besides the weights: its profile run's reserve. Pure.

vLLM's GPU worker (vllm/v1/worker/gpu_worker.py, determine_available_memory; vllm/utils/mem_utils.py,
memory_profiling; vLLM 0.32, read 2026-12-06) gives the KV cache

    gpu_memory_utilization x total memory - weights - activation peak - non-torch memory - CUDA graph estimate

per GPU, where each term is what its start-up measures:

  activation peak  the torch allocator's peak during a dummy forward of max_num_batched_tokens tokens followed by a
                   dummy sampler run over min(tokens, max_num_seqs) rows (gpu_model_runner.profile_run,
                   _dummy_sampler_run). Modelled as the larger of
                   - a layer's MLP at N tokens: the residual and normed input (N x hidden each), gate_up's output
                     (N x 2 x intermediate / TP) and SiLU-and-mul's (N x intermediate / TP), in the activation dtype;
                     an MoE layer: the fused-MoE kernel's three intermediate caches, N x top-k x (2 x moe_intermediate
                     / TP + moe_intermediate / TP + hidden) (vllm/model_executor/layers/fused_moe);
                   - the sampler: S x vocab logits in the activation dtype, their float32 copy, the top-p/top-k sort's
                     float32 values and int64 indices and the float32 softmax (apply_top_k_top_p in
                     vllm/v1/sample/ops/topk_topp_sampler.py): SAMPLER_BYTES_PER_LOGIT bytes a logit, plus the
                     forward's two N x hidden outputs still alive.
  non-torch        memory the instance allocates outside torch (CUDA context growth, cuBLAS workspaces, NCCL and
                   custom all-reduce buffers): NON_TORCH_BYTES on one GPU (vLLM's own log on an RTX 3090, Llama-3.1-8B:
                   "non_torch_memory=0.35GiB", vllm-project/vllm issue #10517, 2024-12-02), plus NCCL_BYTES under
                   tensor parallelism (memory_profiling's docstring example: "0.5 GiB (memory used by NCCL)").
  CUDA graphs      on by default since v0.21 (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1): the graphs' pool,
                   measured at start-up. Published logs: "Estimated CUDA graph memory: 0.36 GiB total" for 16 piecewise
                   graphs (gpustack/runner PR #251, vLLM 0.27.1) and 0.09 GiB for 5 (noonghunna/club-3090 issue #434):
                   18-23 MB a graph, so GRAPH_BYTES a graph x the graphs vLLM captures by default (GRAPHS: 51 capture
                   sizes up to 512 tokens, [1, 2, 4] + 8..248 by 8 + 256..512 by 16, in both FULL decode and PIECEWISE
                   mode).

The CPU build sizes its cache from --cpu-kv-cache-gb instead (no profile run): no reserve there.
"""

from __future__ import annotations

from bench.model import modelmath

GIB = 2**30
SAMPLER_BYTES_PER_LOGIT = 2 + 4 + 4 + 8 + 4  # logits, float32 copy, sorted values, int64 indices, softmax
NON_TORCH_BYTES = 0.35 * GIB
NCCL_BYTES = 0.5 * GIB
GRAPH_BYTES = 20e6
GRAPHS = 2 * 51
# Predictions (bench.roofline.predict.deployment) keep the reserve from the KV cache only when this is True. Off: on
# the published rows, left out one at a time, it lowers the median error (14.1% -> 13.5%) but takes the within-2x
# count from 68/68 to 67/68 (docs/roofline.md, "Validation of the new terms"); never tuned to pass.
CHARGED = False


def activation_peak_bytes(cfg: dict, tp: int, max_num_batched_tokens: int, max_num_seqs: int,
                          model_dtype: str = "bfloat16") -> float:
    """The profile run's transient peak on one GPU (see the module doc)."""
    act = modelmath.dtype_bytes(model_dtype)
    n = max_num_batched_tokens
    h = int(cfg["hidden_size"])
    p = modelmath.param_counts(cfg)
    inter = int(cfg.get("intermediate_size") or 0)
    mlp = n * (2 * h + 3 * inter / tp) * act if p.dense_mlp else 0.0
    m = p.moe
    if m is not None:
        moe_inter = m.expert_params / (3 * h)  # gate, up and down: 3 x hidden x intermediate
        mlp = max(mlp, n * (2 * h + m.top_k * (3 * moe_inter / tp + h)) * act)
    rows = min(n, max_num_seqs)
    sampler = rows * int(cfg["vocab_size"]) * SAMPLER_BYTES_PER_LOGIT + 2 * n * h * act
    return float(max(mlp, sampler))


def non_kv_bytes(cfg: dict, tp: int, max_num_batched_tokens: int, max_num_seqs: int,
                 model_dtype: str = "bfloat16") -> float:
    """What vLLM reserves on each GPU besides the weights: activation peak + non-torch + CUDA graphs."""
    return (activation_peak_bytes(cfg, tp, max_num_batched_tokens, max_num_seqs, model_dtype)
            + NON_TORCH_BYTES + (NCCL_BYTES if tp > 1 else 0.0) + GRAPH_BYTES * GRAPHS)
