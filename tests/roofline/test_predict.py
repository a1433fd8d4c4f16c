"""The expected value beside the bound: efficiency model, schedule trace, fit, calibration, profiles."""

from __future__ import annotations


import numpy as np
import pytest

from bench.config import catalog
from bench.core.errors import BenchError
from bench.roofline import bound, calibrate, engine_profiles, fit, predict, profile, published, trace
from bench.model import flops, modelmath
from bench.roofline import efficiency as E
from bench.roofline.calibrate import MeasuredRun
from result_rows import write_rows


def test_step_time_by_hand():
    c = E.StepCost(dense_weight_bytes=1e9, expert_weight_bytes=2e8, kv_bytes=1e8, gemm_flops=1e12,
                   attention_flops=1e11, sequences=4, tokens=4, allreduce_bytes=4 * 4096 * 2, allreduces=64)
    m = E.Machine(tp=2, bandwidth_bytes_s=2 * 3.35e12, peak_flops=2 * 989e12, link_bytes_s=900e9)
    e = E.Efficiency(bandwidth_fraction=0.8, compute_fraction=0.5, attention_efficiency=0.5, moe_efficiency=0.25,
                     allreduce_latency_s=1e-5, step_overhead_s=2e-3, sequence_overhead_s=1e-5)
    # memory: (1e9 + 2e8/0.25 + 1e8/0.5) / (6.7e12 x 0.8) = 2e9 / 5.36e12
    assert E.memory_s(c, m, e) == pytest.approx(2e9 / 5.36e12)
    # compute: (1e12 + 1e11/0.5) / (1.978e15 x 0.5) = 1.2e12 / 9.89e14 = 1.21335e-3 s (binds)
    assert E.compute_s(c, m, e) == pytest.approx(1.2e12 / 9.89e14)
    # ring all-reduce: 64 x (10 us + 2 x 1/2 x 32768 B / 450 GB/s one way) = 6.4466e-4 s
    assert E.communication_s(c, m, e) == pytest.approx(64 * (1e-5 + 32768 / 450e9))
    # overhead: 2 ms + 4 sequences x 10 us
    assert E.step_time_s(c, m, e) == pytest.approx(1.2e12 / 9.89e14 + 64 * (1e-5 + 32768 / 450e9) + 2.04e-3)


def test_expert_slices_stream_at_size_over_size_plus_overhead():
    """40 expert slices of 5 MB (2e8 bytes): each costs 5 MB + a 5 MB overhead, so experts stream at half rate."""
    c = E.StepCost(dense_weight_bytes=1e9, expert_weight_bytes=2e8, kv_bytes=0.0, gemm_flops=0.0, attention_flops=0.0,
                   sequences=1, tokens=1, allreduce_bytes=0.0, expert_matrices=40)
    m = E.Machine(tp=1, bandwidth_bytes_s=1e12, peak_flops=1e15, link_bytes_s=None)
    e = E.Efficiency(moe_expert_overhead_bytes=5e6)
    # (1e9 + (2e8 + 40 x 5e6) / 1) / 1e12 = 1.4e9 / 1e12 s
    assert E.memory_s(c, m, e) == pytest.approx(1.4e-3)
    # with a 0.5 MoE efficiency on top: (1e9 + 4e8 / 0.5) / 1e12
    assert E.memory_s(c, m, e.with_values(moe_efficiency=0.5)) == pytest.approx(1.8e-3)
    assert E.memory_s(c, m, E.ROOFLINE) == pytest.approx(1.2e-3)  # no overhead: the bound's bytes


def test_expert_slices_per_step_by_hand():
    """Mixtral-8x7B on 2 GPUs, one decoding token: top-2 of 8 experts in each of 32 layers, each expert split
    in two, so 2 x 32 x 2 = 128 slices of 3 x 4096 x 14336 x 2 B / 2 = 176,160,768 bytes."""
    cfg = catalog.resolve_model("mixtral-8x7b-instruct").config
    dep = bound.Deployment(cfg=cfg, gpu=predict.gpu_for("H100-SXM"), tensor_parallel_size=2)
    c = dep.step_cost(1, 100)
    assert c.expert_matrices == pytest.approx(128)
    assert c.expert_weight_bytes / c.expert_matrices == pytest.approx(3 * 4096 * 14336 * 2 / 2)
    dense = bound.Deployment(cfg=catalog.resolve_model("qwen2.5-7b-instruct").config, gpu=predict.gpu_for("H100-SXM"))
    assert dense.step_cost(4, 400).expert_matrices == 0


def test_the_roofline_efficiency_is_the_bound():
    cfg = catalog.resolve_model("deepseek-v2-lite-chat").config
    dep = bound.Deployment(cfg=cfg, gpu=predict.gpu_for("H100-SXM"))
    for args in [(8, 8000, []), (3, 3000, [(500, 100), (200, 0)])]:
        assert float(E.step_time_s(dep.step_cost(*args), dep.machine, E.ROOFLINE)) == pytest.approx(dep.step(*args).time_s)


def test_a_step_computes_one_row_of_logits_per_sequence():
    """3 decodes + a 500-token chunk (100 cached) + a 200-token prompt: 703 tokens through the blocks,
    3 + 2 = 5 rows of logits (one per sequence, the partial chunk's included), not 703."""
    cfg = catalog.resolve_model("qwen2.5-0.5b-instruct").config
    dep = bound.Deployment(cfg=cfg, gpu=predict.gpu_for("H100-SXM"))
    blocks, head = flops.block_linear_flops_per_token(cfg), flops.lm_head_flops_per_row(cfg)
    assert head == 2 * 151936 * 896  # tied embedding table
    c = dep.step_cost(3, 3000, [(500, 100), (200, 0)])
    assert c.gemm_flops == pytest.approx(703 * blocks + 5 * head)
    # the bound's FLOPs: the same linear part plus attention (decode over 3,000 cached; prefill causal pairs)
    attn = (3000 * flops.attention_flops_per_token(cfg, 1)
            + flops.prefill_flops(cfg, 500, 100, logits_rows=1) - 500 * blocks - head
            + flops.prefill_flops(cfg, 200, logits_rows=1) - 200 * blocks - head)
    assert c.attention_flops == pytest.approx(attn)
    assert dep.step(3, 3000, [(500, 100), (200, 0)]).flops == pytest.approx(703 * blocks + 5 * head + attn)


def test_parameters_are_bounded():
    with pytest.raises(ValueError, match="bandwidth_fraction = 1.5 is outside"):
        E.Efficiency(bandwidth_fraction=1.5)
    with pytest.raises(ValueError, match="step_overhead_s"):
        E.Efficiency(step_overhead_s=0.2)


def test_trace_timings_match_the_batch_simulation():
    cfg = catalog.resolve_model("qwen2.5-7b-instruct").config
    dep = bound.Deployment(cfg=cfg, gpu=predict.gpu_for("H20"))
    lengths = [(300, 40)] * 50 + [(100, 90)] * 30
    tr = trace.schedule(dep, lengths, 16, 2048)
    t, p = trace.timings(tr, None), bound.predict_workload(dep, lengths, 16, 2048)
    assert t.elapsed_s == pytest.approx(p.elapsed_s) and t.prefill_s == pytest.approx(p.prefill_s)
    assert list(t.ttft_s) == pytest.approx(p.ttft_s) and list(t.e2e_s) == pytest.approx(p.e2e_s)
    # a 2 ms step overhead adds 2 ms to every step of the same schedule
    slow = trace.timings(tr, E.Efficiency(step_overhead_s=2e-3))
    assert slow.elapsed_s == pytest.approx(p.elapsed_s + 2e-3 * tr.steps)


def test_mla_cached_expanded_by_older_engines():
    cfg = catalog.resolve_model("deepseek-v2-lite-chat").config
    # 27 layers x 16 heads x (128 nope + 64 rope + 128 v) x 2 bytes, against the latent's 27 x 576 x 2
    assert modelmath.kv_bytes_per_token(cfg, mla_expanded=True) == 27 * 16 * 320 * 2 == 276_480
    assert modelmath.kv_bytes_per_token(cfg) == 31_104
    assert engine_profiles.mla_expanded("vLLM", "0.5.3") and not engine_profiles.mla_expanded("vLLM", "0.8.4")
    assert engine_profiles.mla_expanded("SGLang", "0.2 (before MLA)") and not engine_profiles.mla_expanded("SGLang", "0.3.0")
    # vLLM's first DeepSeek-V2 code and SGLang's copy pad K (192) and V (128) to 256 each: 27 x 16 x 512 x 2 bytes
    assert modelmath.kv_bytes_per_token(cfg, mla_expanded=True, mla_padded_head_dim=256) == 27 * 16 * 512 * 2 == 442_368
    assert engine_profiles.mla_padded_head_dim("vLLM", "0.5.3") == 256
    assert engine_profiles.mla_padded_head_dim("SGLang", "0.2 (main 2024-08-04; before MLA)") == 256
    assert engine_profiles.mla_padded_head_dim("LMDeploy", "0.4") == 0  # its own backend: no source says it pads
    assert engine_profiles.mla_padded_head_dim("vLLM", "0.8.4") == 0 and engine_profiles.mla_padded_head_dim("SGLang", "0.3.0") == 0
    padded = bound.Deployment(cfg=cfg, gpu=predict.gpu_for("A100-80G-SXM"), mla_expanded=True, mla_padded_head_dim=256)
    assert padded.kv_bytes_per_token == 442_368
    # decode attention over 1,000 cached tokens in the padded form: 2 x 27 layers x 16 heads x (256 + 256) x 1,000
    assert padded.step_cost(1, 1000).attention_flops == pytest.approx(2 * 27 * 16 * 512 * 1000)


@pytest.mark.parametrize("engine,version,gen", [
    ("vLLM", "0.4.2", "vllm-0.4"), ("vLLM", "0.6.3", "vllm-v0"), ("vLLM", "0.9.0 (V0 engine)", "vllm-v0"),
    ("vLLM", "0.7.0 (V1)", "vllm-v1"), ("vLLM", "0.11.0", "vllm-v1"), ("vllm", None, "vllm-v1"),
    ("SGLang", "0.4.6", "sglang"), ("TensorRT-LLM (Triton backend)", "0.14.0", "trtllm"),
    ("LMDeploy", "0.4", "lmdeploy"), ("DeepSeek", "production", "other")])
def test_engine_generations(engine, version, gen):
    assert engine_profiles.generation(engine, version) == gen


@pytest.mark.parametrize("engine,version,era", [
    ("vLLM", "0.5.3", "moe-2024"), ("vLLM", "0.6 (by date)", "moe-2024"), ("vLLM", "0.6.6", "moe-2025"),
    ("vLLM", "0.7.2", "moe-2025"), ("vllm", None, "moe-2025"), ("SGLang", "0.3.0 (main 2024-09-01)", "moe-2024"),
    ("SGLang", "0.4.0", "moe-2024"), ("SGLang", "0.4.1 (Dec 2024)", "moe-2025"), ("TensorRT-LLM", "0.16", "moe-2024"),
    ("TensorRT-LLM", "0.17", "moe-2025"), ("LMDeploy", "0.4 (PR branch 2024-06; pytorch backend)", "moe-2024"),
    ("LMDeploy", "0.7.1", "moe-2025"), ("DeepSeek", "production", "moe-2025")])
def test_moe_kernel_eras_start_at_each_engines_deepseek_v3_release(engine, version, era):
    assert engine_profiles.moe_kernel_era(engine, version) == era


def test_a_fitted_moe_era_scales_the_slice_loss_and_nothing_else():
    layout = fit.Layout(free=("moe_expert_overhead_bytes",), generations=("sglang",), moe_eras=("moe-2024", "moe-2025"))
    # unit coordinate of 1e6 B on the log range 1e4..1e8: log(100) / log(1e4) = 0.5; era coordinates
    # 0.5 + m / (2 x 3): m = +0.6 -> 0.6, m = -0.3 -> 0.45; the generation at 0.5 (m = 0)
    shared, mult = layout.decode(np.array([0.5, 0.5, 0.6, 0.45]))
    assert shared.moe_expert_overhead_bytes == pytest.approx(1e6)
    assert mult["moe-2024"] == pytest.approx(np.exp(0.6)) and mult["moe-2025"] == pytest.approx(np.exp(-0.3))
    e = fit.for_generation(shared, mult, "sglang", "moe-2024")
    assert e.moe_expert_overhead_bytes == pytest.approx(1e6 * 1.8221188)  # e^0.6 = 1.8221188
    assert e.step_overhead_s == shared.step_overhead_s  # the generation's m = 0
    assert fit.for_generation(shared, mult, "sglang").moe_expert_overhead_bytes == pytest.approx(1e6)
    # ridge on the eras: 0.005 x (0.6^2 + 0.3^2) = 0.005 x 0.45 = 0.00225; on the generation (m = 0.3): 0.02 x 0.09
    assert layout.penalty(np.array([0.5, 0.5, 0.6, 0.45])) == pytest.approx(0.00225)
    assert layout.penalty(np.array([0.5, 0.55, 0.6, 0.45])) == pytest.approx(0.00225 + 0.0018)


def test_coordinate_search_finds_a_bounded_minimum():
    x, fx = fit.coordinate_search(lambda x: (x[0] - 0.3) ** 2 + 2 * (x[1] - 0.75) ** 2, np.array([0.5, 0.5]))
    assert x == pytest.approx([0.3, 0.75], abs=1e-4) and fx < 1e-8
    x, _ = fit.coordinate_search(lambda x: (x[0] - 2.0) ** 2, np.array([0.5]))
    assert x[0] == 1.0  # held at the bound


def generated_runs(truth, hardware_name: str, dtype: str) -> list:
    """Five runs of two models (batch 1 to 32, short and long prompts) whose throughput the model itself made
    under `truth` on `hardware_name`: what calibration must recover."""
    runs = []
    for model, shapes in [("tiny-qwen2", [(1, 128, 32, 8), (8, 128, 32, 16), (32, 512, 16, 64)]),
                          ("qwen2.5-0.5b-instruct", [(1, 64, 32, 4), (16, 256, 32, 32)])]:
        cfg = catalog.resolve_model(model).config
        for seqs, i, o, n in shapes:
            m = MeasuredRun(run={"dtype": dtype, "max_num_seqs": seqs}, model_config=cfg, lengths=[(i, o)] * n,
                            output_tok_s=1.0)
            made = trace.timings(calibrate.traced(m, hardware_name), truth).output_tok_s
            runs.append(MeasuredRun(run=m.run, model_config=cfg, lengths=m.lengths, output_tok_s=made))
    return runs


def test_calibration_recovers_the_parameters_that_generated_the_rows():
    truth = E.Efficiency(bandwidth_fraction=0.62, compute_fraction=0.31, step_overhead_s=0.004, sequence_overhead_s=2e-4)
    runs = generated_runs(truth, "H100-SXM", "float32")
    prof = calibrate.calibrate(runs, "H100-SXM", "mine", base=E.Efficiency())
    for name in calibrate.DEFAULT_FREE:
        assert getattr(prof.parameters, name) == pytest.approx(getattr(truth, name), rel=0.01), name
    assert prof.band_low == pytest.approx(1.0, abs=0.01) and prof.band_high == pytest.approx(1.0, abs=0.01)
    assert prof.kind == "user" and prof.hardware == "H100-SXM" and prof.rows == 5


def test_calibration_needs_enough_rows():
    one = [MeasuredRun(run={}, model_config={}, lengths=[], output_tok_s=1.0)]
    with pytest.raises(BenchError, match="cannot determine 4 parameters"):
        calibrate.calibrate(one, "H100-SXM", "x", free=calibrate.DEFAULT_FREE)
    with pytest.raises(BenchError, match="no measured ok rows"):
        calibrate.calibrate([], "H100-SXM", "x")


def test_profile_round_trip_and_bad_files(tmp_path):
    p = profile.Profile(name="mine", kind="user", parameters=E.Efficiency(bandwidth_fraction=0.5),
                        band_low=0.8, band_high=1.1, hardware="H20")
    profile.save(p, tmp_path / "p.yaml")
    back = profile.load(tmp_path / "p.yaml")
    assert back.parameters.bandwidth_fraction == 0.5 and back.name == "mine" and back.band_high == 1.1
    (tmp_path / "bad.yaml").write_text("name: x\nparameters: {bandwidth: 0.5}\n")
    with pytest.raises(BenchError, match="unknown parameter bandwidth"):
        profile.load(tmp_path / "bad.yaml")
    with pytest.raises(BenchError, match="no such file"):
        profile.load(tmp_path / "none.yaml")
    eras = profile.Profile(name="eras", kind="published", parameters=E.Efficiency(moe_expert_overhead_bytes=1e7),
                           moe_eras={"moe-2024": {"moe_expert_overhead_bytes": 3e7}})
    profile.save(eras, tmp_path / "e.yaml")
    back = profile.load(tmp_path / "e.yaml")
    assert back.efficiency_for("vLLM", "0.5.3").moe_expert_overhead_bytes == 3e7  # a 2024 release: its era's loss
    assert back.efficiency_for("vLLM", "0.8.4").moe_expert_overhead_bytes == 1e7  # no moe-2025 entry: the shared one
    assert back.efficiency_for().moe_expert_overhead_bytes == 1e7
    (tmp_path / "bad-era.yaml").write_text("name: x\nmoe_kernel_eras: {moe-1999: {moe_expert_overhead_bytes: 1}}\n")
    with pytest.raises(BenchError, match="unknown MoE-kernel era moe-1999"):
        profile.load(tmp_path / "bad-era.yaml")


def test_the_published_fit_is_shipped_and_named():
    prof = profile.published()
    assert prof is not None and prof.name == "published-fit-3" and prof.kind == "published"
    # the sourced fixed costs were validated and not shipped (docs/roofline.md): the profile does not state them
    assert prof.parameters.physical_fixed_costs == 0.0
    assert 0.3 <= prof.parameters.bandwidth_fraction <= 1 and prof.band_low < 1 < prof.band_high
    assert set(prof.generations) <= set(engine_profiles.GENERATIONS)
    # the 2024 fused-MoE kernels lost more on each small expert slice than the DeepSeek-V3-era ones
    eras = {g: d["moe_expert_overhead_bytes"] for g, d in prof.moe_eras.items()}
    assert set(eras) == set(engine_profiles.MOE_ERAS) and eras["moe-2024"] > 2 * eras["moe-2025"]


def test_published_rows_carry_their_sources():
    rows = published.load()
    assert len([r for r in rows if r.use == "fit"]) >= 60
    for r in rows:
        assert r.source and r.date and r.metric in published.FASTER_IS_HIGHER, r.id
        catalog.resolve_model(r.model)
        predict.require_gpu(r.hardware)


def test_expected_sits_below_the_bound_with_its_band():
    cfg = catalog.resolve_model("qwen2.5-7b-instruct").config
    e = predict.expected({"input_len": 512, "output_len": 128, "num_prompts": 64, "max_num_seqs": 32}, cfg, "H100-SXM")
    assert e.calibration == "published-fit-3" and e.engine_generation == "vllm-v1"
    assert 0 < e.band_low_tok_s < e.output_tok_s < e.band_high_tok_s <= e.roofline_output_tok_s
    assert e.ttft_p50_ms <= e.ttft_p99_ms and e.tpot_p50_ms <= e.tpot_p99_ms
    # fp8 weights move half the bytes: faster at this memory-bound batch, still under its own bound
    f = predict.expected({"input_len": 512, "output_len": 128, "num_prompts": 64, "max_num_seqs": 32,
                          "quantization": "fp8"}, cfg, "H100-SXM")
    assert e.output_tok_s < f.output_tok_s < f.roofline_output_tok_s


def test_quantization_weight_formats():
    assert predict.weight_format({"quantization": "awq"}, "bfloat16") == "int4"
    assert predict.weight_format({"quantization": "fp8"}, "bfloat16") == "fp8"
    assert predict.weight_format({}, "bfloat16") == "bfloat16"


# -- bench probe / bench calibrate end to end ------------------------------------------------------


def _hardware_copy(tmp_path, monkeypatch):
    from bench.config.hardware import DEFAULT_HARDWARE_FILE

    path = tmp_path / "hardware.yaml"
    path.write_text(DEFAULT_HARDWARE_FILE.read_text())
    monkeypatch.setenv("BENCH_HARDWARE", str(path))
    return path


def test_probe_writes_an_entry_the_roofline_can_use(tmp_path, monkeypatch, capsys):
    from bench import cli
    from bench.config.hardware import get_hardware
    from bench.roofline import probe

    path = _hardware_copy(tmp_path, monkeypatch)
    monkeypatch.setattr(probe, "measure", lambda seconds, backend, dtype: probe.Figures(20.0, 50.0, 16.0, 4, "test figures"))
    assert cli.main(["probe", "--name", "my-cpu", "--seconds", "0.1"]) == 0
    hw = get_hardware("my-cpu")
    assert (hw.kind, hw.memory_bw_tb_s, hw.fp32_tflops) == ("cpu", 0.02, 0.05)
    gpu = predict.require_gpu("my-cpu")  # 20 GB/s and 50 GFLOPS float32 measured
    assert gpu.bandwidth_bytes_s == pytest.approx(20e9) and gpu.fp32_flops == pytest.approx(50e9)
    before = path.read_text()
    assert cli.main(["probe", "--name", "H100-SXM"]) == 2  # an existing datasheet entry is never replaced
    assert path.read_text() == before
    assert "already exists" in capsys.readouterr().err


def _measured_csv(tmp_path, truth, hardware_name):
    from bench.results import schema

    cfg = catalog.resolve_model("tiny-qwen2").config
    rows = []
    for i, (seqs, n_in, n_out, n) in enumerate([(1, 64, 32, 4), (4, 128, 32, 8), (16, 256, 16, 32), (32, 64, 64, 32),
                                                (8, 512, 8, 16)]):
        m = MeasuredRun(run={"dtype": "float32", "max_num_seqs": seqs}, model_config=cfg, lengths=[(n_in, n_out)] * n,
                        output_tok_s=1.0)
        tok_s = trace.timings(calibrate.traced(m, hardware_name), truth).output_tok_s
        row = dict.fromkeys(schema.COLUMNS, "")
        row.update(schema_version=str(schema.SCHEMA_VERSION), run_id=f"r{i}", model="tiny-qwen2", engine="vllm",
                   engine_version="0.32.0", status="ok", dtype="float32", kv_cache_dtype="auto", tensor_parallel_size="1",
                   input_len=str(n_in), output_len=str(n_out), num_prompts=str(n), max_num_seqs=str(seqs),
                   output_tok_s=repr(tok_s), hardware=hardware_name)
        rows.append(row)
    return write_rows(tmp_path / "runs.csv", rows)


def test_calibrate_command_writes_a_profile_sim_then_uses(tmp_path, capsys):
    from bench import cli

    truth = E.Efficiency(bandwidth_fraction=0.5, compute_fraction=0.4, step_overhead_s=0.003, sequence_overhead_s=1e-4,
                         attention_efficiency=1.0, moe_efficiency=1.0)
    runs = _measured_csv(tmp_path, truth, "H100-SXM")
    out = tmp_path / "mine.yaml"
    assert cli.main(["calibrate", str(runs), "--out", str(out)]) == 0  # the rows name their hardware
    prof = profile.load(out)
    assert prof.name == "mine" and prof.hardware == "H100-SXM" and prof.rows == 5
    # attention efficiency and all-reduce latency stay at the published fit's values: tiny-qwen2's KV reads are
    # small, so the four fitted parameters still come out within a few percent
    assert prof.parameters.step_overhead_s == pytest.approx(0.003, rel=0.05)
    csv_out = tmp_path / "sim.csv"
    assert cli.main(["run", "--model", "tiny-qwen2", "--engine", "sim", "--hardware", "H100-SXM", "--profile", str(out),
                     "--num-prompts", "8", "--out", str(csv_out)]) == 0
    import csv

    (row,) = list(csv.DictReader(csv_out.open()))
    assert row["prediction_calibration"] == "mine" and row["engine_version"] == "roofline-3+mine"


def test_calibrate_bad_input_is_one_line(tmp_path, capsys):
    from bench import cli

    runs = _measured_csv(tmp_path, E.Efficiency(step_overhead_s=1e-3), "H100-SXM")
    assert cli.main(["calibrate", str(runs), "--out", str(tmp_path / "x.txt")]) == 2
    assert cli.main(["calibrate", str(runs), "--out", str(tmp_path / "x.yaml"), "--hardware", "H100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "give a .yaml" in err[0] and "did you mean" in err[1]
    assert not (tmp_path / "x.yaml").exists()


def test_explain_shows_the_expected_rate_beside_the_bound(capsys):
    import json

    from bench import cli

    assert cli.main(["explain", "llama-3.1-8b-instruct", "--hardware", "H100-SXM", "--quantization", "fp8",
                     "--format", "json", "--batch", "1,64"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["weight_dtype"] == "fp8" and out["calibration"] == "published-fit-3"
    for b in ("1", "64"):
        assert 0 < out["expected_decode_tok_s"][b] < out["decode_tok_s_bound"][b]


def test_cost_shows_what_the_cost_stands_on():
    from bench.display.cost import throughput_line

    sim = {"engine": "sim", "output_tok_s": "1234.4", "predicted_output_tok_s": "1234.4", "roofline_output_tok_s": "2345",
           "predicted_band_low_tok_s": "672", "predicted_band_high_tok_s": "1888", "prediction_calibration": "published-fit-3"}
    assert throughput_line(sim) == ("throughput: 1,234 output tok/s predicted (band 672-1,888, published-fit-3); "
                                    "roofline bound 2,345")
    measured = {"engine": "vllm", "output_tok_s": "1000", "predicted_output_tok_s": "950", "roofline_output_tok_s": "2345",
                "predicted_band_low_tok_s": "517", "predicted_band_high_tok_s": "1453", "prediction_calibration": "mine"}
    assert throughput_line(measured) == ("throughput: 1,000 output tok/s measured; predicted 950 (band 517-1,453, mine); "
                                         "roofline bound 2,345")
    assert throughput_line({"engine": "vllm", "output_tok_s": "5"}) is None  # a CPU row: nothing beside it


def test_report_says_sim_rows_are_expected_values(tmp_path):
    from bench import cli

    out = tmp_path / "runs.csv"
    assert cli.main(["run", "--model", "tiny-qwen2", "--engine", "sim", "--hardware", "H100-SXM", "--num-prompts", "8",
                     "--out", str(out)]) == 0
    assert cli.main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "what vLLM is expected to reach, calibration published-fit-3" in md


def test_sharegpt_like_lengths_are_seeded_clipped_and_keep_their_means():
    a = published.sharegpt_like(5000, 236, 216)
    assert a == published.sharegpt_like(5000, 236, 216)  # seeded
    assert all(4 <= p <= 1024 and 4 <= o and p + o <= 2048 for p, o in a)  # the samplers' filter
    # lognormal with coefficient of variation 1: the means survive the clipping within a few percent
    assert np.mean([p for p, _ in a]) == pytest.approx(236, rel=0.08)
    assert np.mean([o for _, o in a]) == pytest.approx(216, rel=0.08)
    assert max(o for _, o in a) > 5 * 216  # the long tail that sets a run's last wave


def test_a_bad_published_file_is_one_line(tmp_path):
    src = published.DEFAULT_FILE.read_text().splitlines()
    bad = tmp_path / "runs.csv"
    bad.write_text("\n".join([src[0], src[1].rsplit(",", 1)[0] + ",zipf"]) + "\n")
    with pytest.raises(BenchError, match="line 2: lengths 'zipf' is not fixed or sharegpt"):
        published.load(bad)


def test_case_keys_of_measured_cases_recorded_before_issue_14_still_match():
    import hashlib
    import json

    from bench.config import run as runconfig
    from bench.config.pricing import RowPricing

    cfg, model = runconfig.resolve(runconfig.parse({"model": "tiny-qwen2", "max_num_seqs": 4}))
    # how the row is priced, and which repeat it is: options added since, never part of a key
    later = (*RowPricing.model_fields, "repeats", "until_ci", "repeat_index")
    later += ("temperature", "speculative_config", "spec_acceptance")  # added since, out of the key at their default
    later += ("stall_timeout_s", "max_failure_rate")  # the time limits and the verdict's rule: never part of a key
    old = {k: v for k, v in cfg.model_dump().items()
           if k not in ("timeout_s", "hardware", "quantization", "profile", "sim_timing", *later)}
    old["config_sha"] = model.config_sha
    blob = json.dumps(old, sort_keys=True, separators=(",", ":"))
    assert runconfig.case_key(cfg, model) == hashlib.sha256(blob.encode()).hexdigest()[:16]  # --resume still skips it
    prof = cfg.model_copy(update={"profile": "mine.yaml"})
    fp8 = cfg.model_copy(update={"quantization": "fp8"})
    assert runconfig.case_key(prof, model) == runconfig.case_key(cfg, model)  # only predicted_* follow --profile
    assert runconfig.case_key(fp8, model) != runconfig.case_key(cfg, model)  # the weights measured differ
    sim = cfg.model_copy(update={"engine": "sim", "hardware": "H20"})
    assert runconfig.case_key(sim, model) != runconfig.case_key(sim.model_copy(update={"sim_timing": "bound"}), model)


def test_calibration_on_a_probed_cpu_recovers_a_per_sequence_cost_above_the_gpu_range(tmp_path, monkeypatch):
    """A `bench probe` machine may fit sequence_overhead_s above the GPU range's 1 ms (up to
    MEASURED_PEAK_SEQUENCE_LIMIT_S) and compute_fraction above 1; rows the model made with 1.5 ms per sequence
    and a compute fraction of 1.8 come back within 1%."""
    from bench.roofline import probe

    _hardware_copy(tmp_path, monkeypatch)
    probe.write_entry("probed-cpu", probe.Figures(40.0, 900.0, 32.0, 2, "test figures", backend="torch",
                                                  dtype="bfloat16"), 100.0)
    truth = E.Efficiency(bandwidth_fraction=0.45, compute_fraction=1.8, step_overhead_s=0.002,
                         sequence_overhead_s=0.0015)
    assert truth.sequence_overhead_s > E.BOUNDS["sequence_overhead_s"][1]  # outside a datasheet entry's range
    runs = generated_runs(truth, "probed-cpu", "bfloat16")
    prof = calibrate.calibrate(runs, "probed-cpu", "mine", base=E.Efficiency())
    for name in calibrate.DEFAULT_FREE:
        assert getattr(prof.parameters, name) == pytest.approx(getattr(truth, name), rel=0.01), name
    assert prof.band_low == pytest.approx(1.0, abs=0.01) and prof.band_high == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="sequence_overhead_s"):
        E.Efficiency(sequence_overhead_s=0.011)  # 11 ms: above even a probed machine's 10 ms


def _validate_prediction_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("validate_prediction", catalog.REPO_ROOT / "scripts" / "validate_prediction.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_trace_cache_is_rebuilt_when_the_model_code_changes(tmp_path, monkeypatch):
    import pickle
    from types import SimpleNamespace

    vp = _validate_prediction_script()
    (tmp_path / "bench" / "roofline").mkdir(parents=True)
    source = tmp_path / "bench" / "roofline" / "bound.py"
    source.write_text("STEP = 1\n")
    (tmp_path / "hw.yaml").write_text("gpus: {}\n")
    monkeypatch.setattr(vp, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("BENCH_HARDWARE", str(tmp_path / "hw.yaml"))
    monkeypatch.setattr(vp.published, "Case", lambda r: SimpleNamespace(trace="traced now"))
    run = SimpleNamespace(id="a", model="qwen2.5-0.5b-instruct")
    cache = tmp_path / "traces.pkl"
    key = vp.trace_inputs_sha([run])
    cache.write_bytes(pickle.dumps({"inputs_sha256": key, "cases": {"a": (run, "traced before")}}))
    assert vp.traced_cases([run], cache)["a"][1] == "traced before"  # nothing changed: reused
    source.write_text("STEP = 2\n")  # the model code changed
    assert vp.trace_inputs_sha([run]) != key
    assert vp.traced_cases([run], cache)["a"][1] == "traced now"
    assert pickle.loads(cache.read_bytes())["inputs_sha256"] == vp.trace_inputs_sha([run])


def test_the_published_profile_is_written_with_the_kv_cache_predictions_use(capsys, monkeypatch):
    """The reserve is not charged as shipped (bench.roofline.reserve.CHARGED): a profile fitted with it would time
    caches predictions do not have, so --write-profile asks for --without kv-reserve (exit 2, no file written),
    and the other way round once it is charged."""
    vp = _validate_prediction_script()
    shipped = profile.PUBLISHED_FILE.read_bytes()
    with pytest.raises(SystemExit) as e:
        vp.main(["--write-profile"])
    assert e.value.code == 2 and "add --without kv-reserve" in capsys.readouterr().err
    monkeypatch.setattr(vp.reserve, "CHARGED", True)
    with pytest.raises(SystemExit) as e:
        vp.main(["--write-profile", "--without", "kv-reserve"])
    assert e.value.code == 2 and "drop --without kv-reserve" in capsys.readouterr().err
    assert profile.PUBLISHED_FILE.read_bytes() == shipped
