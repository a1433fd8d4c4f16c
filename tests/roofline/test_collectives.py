"""The sourced fixed costs of a step: all-reduce latency (alpha-beta) and kernel launches, by hand."""

from __future__ import annotations

import pytest

from bench.config import catalog
from bench.model import modelmath
from bench.roofline import bound, collectives, predict
from bench.roofline import efficiency as E


def test_allreduce_alpha_by_link_and_tp():
    assert collectives.allreduce_alpha_s("nvlink", 1) == 0.0  # no all-reduce at TP 1
    assert collectives.allreduce_alpha_s("nvlink", 2) == 6e-6
    assert collectives.allreduce_alpha_s("nvlink", 8) == 6e-6
    assert collectives.allreduce_alpha_s("pcie", 2) == 20e-6
    assert collectives.allreduce_alpha_s(None, 4) == 20e-6  # a card that does not say: PCIe
    assert predict.gpu_for("H200-SXM").link_kind == "nvlink" and predict.gpu_for("L40S").link_kind == "pcie"


def test_kernels_and_launch_gaps_by_hand():
    llama70 = catalog.resolve_model("llama-3.1-70b-instruct").config
    qwen235 = catalog.resolve_model("qwen3-235b-a22b").config
    assert collectives.kernels_per_step(80, 0) == 800  # 80 layers x 10 kernels
    assert collectives.kernels_per_step(94, 94) == 94 * 10 + 94 * 4 == 1316
    assert modelmath.num_layers(llama70) == 80 and modelmath.param_counts(qwen235).moe.moe_layers == 94
    # a 64-token decode step replays its graph: 800 x 0.5 us; a 1,024-token step is launched from the host: 800 x 0.9 us
    assert collectives.launch_s(800, 64) == pytest.approx(4.0e-4)
    assert collectives.launch_s(800, 512) == pytest.approx(4.0e-4)
    assert collectives.launch_s(800, 1024) == pytest.approx(7.2e-4)
    assert collectives.launch_s(800, 0) == 0.0


def test_fixed_costs_of_a_70b_decode_step_by_tp():
    """Llama-3.1-70B fp8, 32 sequences decoding on H200s: at TP 8, 2 x 80 all-reduces x 6 us = 0.96 ms plus
    800 kernels x 0.5 us = 0.40 ms, 1.36 ms the step; at TP 1 only the launches, 0.40 ms. The ring's bytes are
    charged either way (beta), so the difference with and without the fixed costs is exactly these."""
    cfg = catalog.resolve_model("llama-3.1-70b-instruct").config
    gpu = predict.gpu_for("H200-SXM")
    on = E.Efficiency(bandwidth_fraction=0.9, compute_fraction=0.5, physical_fixed_costs=1.0)
    off = on.with_values(physical_fixed_costs=0.0)
    for tp, fixed in [(8, 160 * 6e-6 + 800 * 0.5e-6), (2, 160 * 6e-6 + 800 * 0.5e-6), (1, 800 * 0.5e-6)]:
        dep = bound.Deployment(cfg=cfg, gpu=gpu, tensor_parallel_size=tp, weight_dtype="fp8")
        c = dep.step_cost(32, 32 * 2000)
        assert c.launch_s == pytest.approx(4.0e-4)
        t_on = float(E.step_time_s(c, dep.machine, on))
        t_off = float(E.step_time_s(c, dep.machine, off))
        assert t_on - t_off == pytest.approx(fixed)
    assert 160 * 6e-6 + 800 * 0.5e-6 == pytest.approx(1.36e-3)


def test_the_roofline_charges_no_fixed_cost():
    """physical_fixed_costs defaults to 0: the roofline and profiles written before it stay as they were."""
    cfg = catalog.resolve_model("llama-3.1-70b-instruct").config
    dep = bound.Deployment(cfg=cfg, gpu=predict.gpu_for("H100-SXM"), tensor_parallel_size=4)
    c = dep.step_cost(8, 8000)
    assert E.ROOFLINE.physical_fixed_costs == 0.0
    assert float(E.communication_s(c, dep.machine, E.ROOFLINE)) == pytest.approx(
        160 * 2 * 3 / 4 * 8 * 8192 * 2 / 450e9)  # the ring's bytes only: 8 tokens x 8192 x 2 B over 900/2 GB/s
    with pytest.raises(ValueError, match="physical_fixed_costs"):
        E.Efficiency(physical_fixed_costs=1.5)


def test_distinct_experts_a_step_reads_by_hand():
    """E(1 - (1 - k/E)^T): 128 experts, top-8, 32 tokens: (15/16)^32 = exp(32 x ln 0.9375) = exp(-2.065233) = 0.126789,
    so 128 x 0.873211 = 111.771 experts a layer; one token reaches exactly 8; 1,000 tokens all 128 (to 1e-26)."""
    assert modelmath.expected_experts_hit(128, 8, 32) == pytest.approx(111.771, abs=1e-3)
    assert modelmath.expected_experts_hit(128, 8, 1) == pytest.approx(8.0)
    assert modelmath.expected_experts_hit(128, 8, 1000) == pytest.approx(128.0)


def test_expert_slices_per_gpu_are_consistent_across_tp():
    """Qwen3-235B-A22B fp8, 32 decoding tokens. vLLM's default (no --enable-expert-parallel) shards every expert over
    the TP group, and every GPU sees all 32 tokens: each GPU reads 111.77 x 94 slices of 3 x 4096 x 1536 / TP bytes.
    The per-slice loss is then TP-independent per GPU (111.77 x 94 x loss / one GPU's bandwidth) while the slice bytes
    per GPU halve from TP 2 to TP 4."""
    cfg = catalog.resolve_model("qwen3-235b-a22b").config
    gpu = predict.gpu_for("H200-SXM")
    loss = E.Efficiency(moe_expert_overhead_bytes=12.9e6)
    per_gpu = {}
    for tp in (2, 4):
        dep = bound.Deployment(cfg=cfg, gpu=gpu, tensor_parallel_size=tp, weight_dtype="fp8")
        c = dep.step_cost(32, 32 * 1000)
        hit = modelmath.expected_experts_hit(128, 8, 32)
        assert c.expert_matrices == pytest.approx(hit * 94 * tp)
        assert c.expert_weight_bytes / c.expert_matrices == pytest.approx(3 * 4096 * 1536 / tp)  # fp8: 1 B each
        bare = c.__class__(**{**c.__dict__, "dense_weight_bytes": 0.0, "kv_bytes": 0.0})
        per_gpu[tp] = (float(E.memory_s(bare, dep.machine, loss)), float(E.memory_s(bare, dep.machine, E.ROOFLINE)))
    slices = 111.771 * 94
    for tp in (2, 4):
        overhead = per_gpu[tp][0] - per_gpu[tp][1]
        assert overhead == pytest.approx(slices * 12.9e6 / 4.8e12, rel=1e-4)  # 2.83 ms at either TP
        assert per_gpu[tp][1] == pytest.approx(slices * 3 * 4096 * 1536 / tp / 4.8e12, rel=1e-4)
