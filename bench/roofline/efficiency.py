"""The efficiency model: what an engine is expected to reach on top of the roofline. Pure functions.

The roofline (bench.roofline.bound) times a step at max(bytes / bandwidth, FLOPs / peak) with perfect
kernels and free communication. A real engine loses time in a few places, each one parameter here,
each physical, bounded and fitted (bench.roofline.fit) rather than looked up:

    memory_s  = (dense weight bytes + (routed-expert bytes + expert slices x moe_expert_overhead_bytes) / moe_efficiency
                 + KV bytes / attention_efficiency) / (TP x bandwidth x bandwidth_fraction)
    compute_s = (GEMM FLOPs + attention FLOPs / attention_efficiency) / (TP x peak x compute_fraction)
    comm_s    = all-reduces x (allreduce_latency_s + physical_fixed_costs x alpha
                               + 2 (TP-1)/TP x message bytes / one-way link bandwidth)
                (two per layer under tensor parallelism: after attention and after the MLP; ring all-reduce;
                the link is the card's interconnect_gb_s in hardware.yaml, half of it each way; alpha the link's
                sourced latency, bench.roofline.collectives)
    step_s    = max(memory_s, compute_s) + comm_s + physical_fixed_costs x launch_s
                + step_overhead_s + sequence_overhead_s x sequences
                (launch_s: the kernels' launch gaps, bench.roofline.collectives)

bandwidth_fraction   achieved share of the datasheet memory bandwidth when streaming weights (0.3-1)
compute_fraction     achieved share of the dense tensor peak on prefill and large-batch GEMMs (0.1-1)
attention_efficiency attention kernels' share of the streaming rate on KV reads (paged, small heads) (0.1-1)
moe_efficiency       fused-MoE kernels' share of the streaming rate on large routed experts (0.1-1; the published
                     fit keeps it at 1: its rows cannot tell it from the next parameter)
moe_expert_overhead_bytes  what a fused-MoE kernel loses on each expert's weight slice (one expert, one layer,
                     one GPU: its 1/TP of the expert's matrices), counted as bytes streamed: ramping the
                     pipeline up and down over a slice's tiles costs the same whatever its size (10 kB-100 MB).
                     So a slice of s bytes streams at s / (s + overhead) of the rate: Mixtral-8x7B's 176 MB slices
                     (TP2) near full rate, DeepSeek-V2/R1's 5-6 MB slices (TP8) at a fraction, V2-Lite's 17 MB
                     (TP1) between. Its count per step is StepCost.expert_matrices (experts hit x layers x TP).
                     The published fit has one value per MoE-kernel era (engine_profiles.moe_kernel_era).
allreduce_latency_s  fixed cost of one all-reduce (launch, synchronisation), seconds (0-100 us)
step_overhead_s      fixed cost of one engine step: scheduling, sampling, launches, output handling (0-50 ms)
sequence_overhead_s  per sequence in the step: sampling, detokenising, bookkeeping (0-1 ms; up to 10 ms on a
                     `bench probe` machine, MEASURED_PEAK_SEQUENCE_LIMIT_S)
physical_fixed_costs 1: charge the sourced all-reduce latency and kernel-launch gaps (bench.roofline.collectives);
                     0: not (the roofline, and profiles written before they were modelled). Never fitted: a profile
                     states it.

With every fraction 1, every overhead 0 and no link figure the step time is the roofline's (bound.Deployment.step).
The fields of StepCost may be numpy arrays (one element per step): step_time_s is then vectorised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

# (low, high) of each parameter: the physical range a fit may move it in.
BOUNDS: dict[str, tuple[float, float]] = {
    "bandwidth_fraction": (0.3, 1.0),
    "compute_fraction": (0.1, 1.0),
    "attention_efficiency": (0.1, 1.0),
    "moe_efficiency": (0.1, 1.0),
    "moe_expert_overhead_bytes": (1e4, 1e8),
    "allreduce_latency_s": (1e-7, 1e-4),
    "step_overhead_s": (1e-6, 0.05),
    "sequence_overhead_s": (1e-8, 1e-3),
    "physical_fixed_costs": (0.0, 1.0),
}
# A peak that was measured (`bench probe`: one process's matmul, on a busy machine) is not a ceiling: an
# engine's own kernels (oneDNN on a CPU) can beat it. A profile fitted on such an entry may take
# compute_fraction up to this; datasheet peaks keep BOUNDS.
MEASURED_PEAK_COMPUTE_LIMIT = 8.0
# A machine `bench probe` measured (a CPU) runs vLLM's per-request Python work (scheduling, input preparation,
# sampling, output handling) on the same few cores as the model: on 2 shared cores fits put it at 1.5-2.8 ms
# per sequence (docs/roofline.md, the CPU check), above the 1 ms a GPU engine's range allows. A profile fitted on
# such an entry may take sequence_overhead_s up to this; datasheet entries keep BOUNDS.
MEASURED_PEAK_SEQUENCE_LIMIT_S = 0.01


@dataclass(frozen=True)
class Efficiency:
    """The parameters of the model above (defaults: the roofline itself, no overhead)."""

    bandwidth_fraction: float = 1.0
    compute_fraction: float = 1.0
    attention_efficiency: float = 1.0
    moe_efficiency: float = 1.0
    moe_expert_overhead_bytes: float = 0.0
    allreduce_latency_s: float = 0.0
    step_overhead_s: float = 0.0
    sequence_overhead_s: float = 0.0
    physical_fixed_costs: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            lo, hi = BOUNDS[f.name]
            if f.name == "compute_fraction":
                hi = MEASURED_PEAK_COMPUTE_LIMIT
            if f.name == "sequence_overhead_s":
                hi = MEASURED_PEAK_SEQUENCE_LIMIT_S
            v = getattr(self, f.name)
            floor = 0.0 if f.name.endswith(("_s", "_bytes")) else lo  # 0: the roofline (no overhead)
            if not (floor <= v <= hi):
                raise ValueError(f"efficiency parameter {f.name} = {v} is outside its range [{floor}, {hi}]")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def with_values(self, **values: float) -> "Efficiency":
        return replace(self, **values)


PARAMETERS = tuple(f.name for f in fields(Efficiency))
ROOFLINE = Efficiency()


@dataclass(frozen=True)
class StepCost:
    """What one engine step (or, as arrays, each step of a run) moves, computes and sends, on the whole TP group."""

    dense_weight_bytes: object  # weights read whatever the tokens: attention, dense MLPs, shared experts, lm_head
    expert_weight_bytes: object  # routed experts the step's tokens reach
    kv_bytes: object  # KV cache read and written
    gemm_flops: object  # linear layers
    attention_flops: object  # scores and values
    sequences: object  # sequences in the step (decoding + prefilling)
    tokens: object  # tokens in the step
    allreduce_bytes: object  # one all-reduce's message: tokens x hidden x activation bytes
    allreduces: object = 0  # all-reduces per step (2 per layer under TP, else 0)
    steps: object = 1  # engine steps summed into this cost (the fit sums runs of similar steps)
    expert_matrices: object = 0  # routed experts' weight slices read, one per expert hit, layer and GPU
    launch_s: object = 0.0  # the kernels' launch gaps, seconds (bench.roofline.collectives.launch_s)


@dataclass(frozen=True)
class Machine:
    """The hardware side of a step: the TP group's totals (bench.roofline.bound.Deployment supplies it)."""

    tp: int
    bandwidth_bytes_s: float  # whole group
    peak_flops: float  # whole group, in the weights' format
    link_bytes_s: float | None  # one card's interconnect, both directions together
    allreduce_alpha_s: float = 0.0  # one all-reduce's fixed latency on this link and TP (bench.roofline.collectives)


def memory_s(c: StepCost, m: Machine, e: Efficiency):
    experts = (c.expert_weight_bytes + c.expert_matrices * e.moe_expert_overhead_bytes) / e.moe_efficiency
    moved = c.dense_weight_bytes + experts + c.kv_bytes / e.attention_efficiency
    return moved / (m.bandwidth_bytes_s * e.bandwidth_fraction)


def compute_s(c: StepCost, m: Machine, e: Efficiency):
    return (c.gemm_flops + c.attention_flops / e.attention_efficiency) / (m.peak_flops * e.compute_fraction)


def communication_s(c: StepCost, m: Machine, e: Efficiency):
    """Ring all-reduce: each card sends and receives 2 (TP-1)/TP of the message, one way at half the link figure;
    each all-reduce also pays the fitted latency and, with physical_fixed_costs, the link's sourced alpha."""
    latency = c.allreduces * c.steps * (e.allreduce_latency_s + e.physical_fixed_costs * m.allreduce_alpha_s)
    if m.link_bytes_s is None:
        return latency
    return latency + c.allreduces * 2.0 * (m.tp - 1) / m.tp * c.allreduce_bytes / (m.link_bytes_s / 2.0)


def overhead_s(c: StepCost, e: Efficiency):
    return e.step_overhead_s * c.steps + e.sequence_overhead_s * c.sequences + e.physical_fixed_costs * c.launch_s


def step_time_s(c: StepCost, m: Machine, e: Efficiency):
    """Expected seconds of a step (or of each step, with array fields): see the module doc."""
    return np.maximum(memory_s(c, m, e), compute_s(c, m, e)) + communication_s(c, m, e) + overhead_s(c, e)
