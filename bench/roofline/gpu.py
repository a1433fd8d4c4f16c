"""One GPU (or a CPU `bench probe` measured) as the roofline sees it: memory, bandwidth, peaks, link. Pure.

gpu_spec is the only place that reads hardware.yaml's fields for the roofline; bench.roofline.bound re-exports
these names (bound.GpuSpec, bound.gpu_spec) for its callers.

Units in names: _bytes, _bytes_s bytes per second, _flops FLOP per second.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30


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
    link_kind: str | None = None  # hardware.yaml's interconnect: nvlink | pcie (None: not stated)
    host_cores: bool = False  # the engine runs on the host's CPU cores (a CPU entry): a server's front end shares them


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
                       fp32_flops=fp32 * 1e12 if fp32 else None, peak_measured=True, host_cores=True)
    if not (getattr(hw, "memory_gb", None) and getattr(hw, "memory_bw_tb_s", None) and getattr(hw, "bf16_tflops", None)):
        return None
    fp8 = getattr(hw, "fp8_tflops", None)
    return GpuSpec(name=name, memory_bytes=hw.memory_gb * GIB, bandwidth_bytes_s=hw.memory_bw_tb_s * 1e12,
                   bf16_flops=hw.bf16_tflops * 1e12, fp8_flops=fp8 * 1e12 if fp8 else None,
                   interconnect_bytes_s=link * 1e9 if link else None, fp32_flops=fp32 * 1e12 if fp32 else None,
                   peak_measured=probed, link_kind=getattr(hw, "interconnect", None))


def peak_flops_per_gpu(gpu: GpuSpec, weight_dtype: str) -> float:
    """fp8 weights run FP8 GEMMs where the card has them; weight-only int8/int4 compute in bf16; fp32 as TF32.
    mxfp4: no card of hardware.yaml has FP4 tensor units (Blackwell's are the first), so vLLM dequantizes MXFP4 weights
    to bf16 inside its MoE kernels (Marlin/Triton, compute capability 8.0 and newer): bf16's peak, the bytes of
    4.25-bit weights (modelmath.WEIGHT_DTYPE_BYTES)."""
    if weight_dtype == "fp8" and gpu.fp8_flops:
        return gpu.fp8_flops
    if weight_dtype == "float32":
        return gpu.fp32_flops or gpu.bf16_flops / 2
    return gpu.bf16_flops
