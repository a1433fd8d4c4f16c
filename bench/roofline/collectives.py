"""Fixed costs of an engine step that no byte or FLOP count shows: all-reduce latency and kernel launches. Pure.

A tensor-parallel transformer block (Megatron-style, as vLLM builds it) all-reduces twice a layer: after attention's
row-parallel o_proj and after the MLP's row-parallel down projection. Each all-reduce costs, alpha-beta:

    allreduce_s = alpha(link) + 2 (TP-1)/TP x message bytes / one-way link bandwidth

The beta part is bench.roofline.efficiency.communication_s's (the card's interconnect_gb_s); alpha is here, per link
class, at the message sizes of decode (tens to hundreds of kB), with CUDA graphs, as vLLM runs decode:

  NVLink / NVSwitch  6 us   NCCL 2.20.5 all_reduce_perf with CUDA graphs on an HGX 8 x H100, 128 B - 64 kB: "approximately
                            6us" at 2 GPUs (NVIDIA/nccl issue #1259, 2024-04-22); PyTorch's one-shot intra-node all-reduce
                            (the algorithm of vLLM's custom all-reduce, vllm-project/vllm PR #2192) 6-15 us on 8 x H100 over
                            its message sizes (pytorch/pytorch PR #114001, quoted in issue #131739, 2024-07-25): 6 us is
                            the small-message end of both, so it is charged at every TP (no source gives its growth).
  PCIe               20 us  NCCL all_reduce_perf on 2 x T4 over PCIe, 8 B: 20.4 us (NVIDIA/nccl issue #428, 2020-12-03);
                            on 4 x RTX PRO 6000 (PCIe) NCCL's reduce-scatter and all-gather of one 4096-wide row take
                            8.3 and 13.6 us (flashinfer-ai/flashinfer PR #5023, 2026): about 22 us together.

The class is hardware.yaml's `interconnect` (nvlink or pcie); a card that does not state it is charged as PCIe.

Kernel launches: a decoder layer runs KERNELS_PER_LAYER kernels besides its all-reduces (vLLM's LlamaDecoderLayer:
input RMSNorm, QKV GEMM, rotary embedding, KV-cache write, attention, o_proj GEMM, fused add-RMSNorm, gate_up GEMM,
SiLU-and-mul, down GEMM) and an MoE layer MOE_EXTRA_KERNELS more (router GEMM, top-k softmax, the expert alignment,
the two grouped GEMMs' extra activation and the weighted sum). Each costs, beyond its own work, the gap between two
kernels: GRAPH_KERNEL_S inside a CUDA graph and STREAM_KERNEL_S launched one by one from the host (NVIDIA's "Getting
Started with CUDA Graphs", A. Gray, 2019-09-05: a 2.9 us kernel takes 3.4 us a kernel replayed from a graph, 3.8 us
launched back to back on a stream). vLLM captures decode steps of up to MAX_GRAPH_TOKENS tokens
(CompilationConfig.max_cudagraph_capture_size: 512 by default, vllm/config/vllm.py, vLLM 0.32); larger steps (prefill
chunks) launch their kernels from the host.
"""

from __future__ import annotations

NVLINK_ALPHA_S = 6e-6
PCIE_ALPHA_S = 20e-6
ALLREDUCES_PER_LAYER = 2
KERNELS_PER_LAYER = 10
MOE_EXTRA_KERNELS = 4
GRAPH_KERNEL_S = 0.5e-6
STREAM_KERNEL_S = 0.9e-6
MAX_GRAPH_TOKENS = 512


def allreduce_alpha_s(link_kind: str | None, tp: int) -> float:
    """The fixed latency of one all-reduce over `tp` GPUs joined by `link_kind` (hardware.yaml's interconnect:
    nvlink or pcie; see the module doc); 0 at TP 1."""
    if tp <= 1:
        return 0.0
    return NVLINK_ALPHA_S if (link_kind or "").lower() == "nvlink" else PCIE_ALPHA_S


def kernels_per_step(layers: int, moe_layers: int) -> int:
    """Kernels one forward pass launches besides its all-reduces."""
    return layers * KERNELS_PER_LAYER + moe_layers * MOE_EXTRA_KERNELS


def launch_s(kernels: int, tokens: int, max_graph_tokens: int = MAX_GRAPH_TOKENS) -> float:
    """Seconds a step of `tokens` tokens loses between its `kernels` kernels: replayed from a CUDA graph up to
    max_graph_tokens tokens, launched from the host above (0 tokens: no step, no cost)."""
    if tokens <= 0:
        return 0.0
    return kernels * (GRAPH_KERNEL_S if tokens <= max_graph_tokens else STREAM_KERNEL_S)
