"""Roofline predictions for a run: shared by the sim engine and the efficiency columns of real rows.

Turns what a run was (a RunConfig as a dict, the model's config.json, a hardware name) into a
bench.roofline.bound.Deployment and predicts the same requests on it, with vLLM's scheduler limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.config import hardware
import json

from bench.config.engines import is_predicted, modelled_engine
from bench.config.run import draft_tokens
from bench.roofline import engine_profiles, reserve, speculation, trace
from bench.roofline import profile as profiles
from bench.roofline.profile import Profile

from bench.roofline import bound as roofline
from bench.roofline.batchsim import SimError
from bench.config.catalog import _dtype_of
from bench.core.errors import BenchError
from bench.roofline.bound import Deployment, GpuSpec, WorkloadPrediction
from bench.model import modelmath


def gpu_for(name: str) -> GpuSpec | None:
    """The roofline's view of a hardware.yaml entry (BenchError if unknown; None without the figures)."""
    canonical = hardware.canonical_name(name)
    return roofline.gpu_spec(canonical, hardware.get_hardware(canonical))


def require_gpu(name: str) -> GpuSpec:
    """gpu_for, or one line saying why this entry has no roofline."""
    gpu = gpu_for(name)
    if gpu is None:
        raise BenchError(f"no roofline for hardware '{name}': it is not a GPU entry with memory, bandwidth and "
                         "bf16 figures in hardware.yaml (no CPU roofline is defined)")
    return gpu


def model_dtype(run: dict, model_config: dict) -> str:
    dtype = run.get("dtype") or "auto"
    return _dtype_of(model_config) if dtype == "auto" else dtype


def deployment(run: dict, model_config: dict, gpu: GpuSpec, mla_expanded: bool = False,
               mla_padded_head_dim: int = 0) -> Deployment:
    """vLLM serving `run` on `gpu`: its KV cache is what vLLM's profile run leaves (memory_reserve) where
    bench.roofline.reserve.CHARGED, else util x memory - weights."""
    dtype = model_dtype(run, model_config)
    given = {k: run[k] for k in ("kv_cache_dtype", "gpu_memory_utilization") if run.get(k)}  # else RunConfig's
    tp = run.get("tensor_parallel_size") or 1
    return Deployment(cfg=model_config, gpu=gpu, tensor_parallel_size=tp,
                      draft=draft_of(run, model_config),
                      weight_dtype=weight_format(run, dtype, model_config), model_dtype=dtype, mla_expanded=mla_expanded,
                      mla_padded_head_dim=mla_padded_head_dim,
                      memory_reserve_bytes=memory_reserve(model_config, gpu, tp, run.get("max_num_seqs"),
                                                          run.get("max_num_batched_tokens"), dtype)
                      if reserve.CHARGED else 0.0, **given)


def memory_reserve(model_config: dict, gpu: GpuSpec, tp: int, max_num_seqs: int | None,
                   max_num_batched_tokens: int | None, dtype: str) -> float:
    """vLLM's non-KV reserve per GPU at the run's scheduler limits (else the card's defaults; bench.roofline.reserve);
    0 on a `bench probe` entry (the CPU build sizes its cache from --cpu-kv-cache-gb, with no profile run)."""
    if gpu.peak_measured:
        return 0.0
    seqs, tokens = vllm_default_limits(gpu)
    return reserve.non_kv_bytes(model_config, tp, max_num_batched_tokens or tokens, max_num_seqs or seqs, dtype)


def draft_of(run: dict, model_config: dict) -> speculation.Draft | None:
    """The speculative draft of a run: --speculative-config's method and draft length at --spec-acceptance (the sim's
    assumption) or the acceptance a vLLM run measured (`measured_acceptance`, set by prediction_columns); None
    without speculative decoding or an acceptance."""
    text = run.get("speculative_config")
    rate = run.get("spec_acceptance")
    if rate is None:
        rate = run.get("measured_acceptance")
    if not text or rate is None:
        return None
    spec = json.loads(text)
    return speculation.Draft(spec["method"], draft_tokens(spec, model_config), float(rate))


# --quantization NAME -> the weight format the roofline charges: fp8 W8A8 (FP8 GEMMs where the card has them),
# AWQ and GPTQ weight-only int4 (their usual 4-bit checkpoints; GEMMs in 16 bits).
QUANTIZATION_WEIGHTS = {"fp8": "fp8", "awq": "int4", "gptq": "int4"}


def weight_format(run: dict, dtype: str, model_config: dict | None = None) -> str:
    """The weights' format: the --quantization's, else the checkpoint's own (fp8: DeepSeek-V3/R1, Kimi K2; mxfp4:
    gpt-oss; vLLM loads those without being asked, dummy weights included), else the model dtype."""
    q = run.get("quantization")
    if q:
        return QUANTIZATION_WEIGHTS[q]
    return (modelmath.checkpoint_weight_format(model_config) if model_config else None) or dtype


def vllm_default_limits(gpu: GpuSpec) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) that vLLM's offline LLM picks for this card (vLLM 0.32
    EngineArgs: 1024 / 16384 on cards of 70 GiB or more except A100s, else 256 / 8192)."""
    big = gpu.memory_bytes >= 160 * 2**30 or (gpu.memory_bytes >= 70 * 2**30 and "a100" not in gpu.name.lower())
    return (1024, 16384) if big else (256, 8192)


def predict_lengths(dep: Deployment, lengths: list[tuple[int, int]], max_num_seqs: int | None = None,
                    max_num_batched_tokens: int | None = None, prefix_blocks: list | None = None) -> WorkloadPrediction:
    seqs, tokens = vllm_default_limits(dep.gpu)
    return roofline.predict_workload(dep, lengths, max_num_seqs or seqs, max_num_batched_tokens or tokens,
                                     prefix_blocks)


def _has_roofline(device: str, run: dict) -> bool:
    """GPU and sim rows; a CPU row only when --hardware names an entry with measured figures (bench probe)."""
    return device == "cuda" or is_predicted(run.get("engine")) or (device == "cpu" and bool(run.get("hardware")))


def roofline_columns(run: dict, model_config: dict, device: str, device_name: str | None, out: dict) -> dict:
    """`roofline_output_tok_s` and `efficiency` (measured / roofline) for a finished case.

    Filled when the GPU is known: `--hardware`, or the card NVML named; the sim engine's own rows
    (efficiency 1 by construction). Empty on CPU rows, except with --hardware naming a `bench probe`
    entry (its measured bandwidth and matmul rate).
    """
    empty = {"roofline_output_tok_s": None, "efficiency": None}
    measured = (out.get("metrics") or {}).get("output_tok_s")
    requests = out.get("requests") or []
    if out.get("status") != "ok" or not measured or not requests or not _has_roofline(device, run):
        return empty
    name = run.get("hardware") or hardware.from_device_name(device_name)
    if not name:
        return empty
    gpu = gpu_for(name)
    if gpu is None:
        return empty
    info = out.get("engine_info") or {}
    try:
        pred = predict_lengths(deployment(run, model_config, gpu),
                               [(r["prompt_len"], r["output_len"]) for r in requests],
                               info.get("max_num_seqs") or run.get("max_num_seqs"), info.get("max_num_batched_tokens"))
    except SimError:  # the analytic KV cache cannot hold a request the engine ran: no honest bound
        return empty
    return {"roofline_output_tok_s": pred.output_tok_s, "efficiency": measured / pred.output_tok_s}


# -- the expected value: the efficiency model on top of the bound (docs/roofline.md) --------------------------


@dataclass(frozen=True)
class Expected:
    """What an engine is expected to reach on a run, beside the bound, with the calibration that says so.

    band_*: the measured throughput is expected between them (the profile's held-out 10th-90th percentile of
    measured / predicted, the high end capped at the bound)."""

    output_tok_s: float
    total_tok_s: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    tpot_p50_ms: float | None
    tpot_p99_ms: float | None
    band_low_tok_s: float
    band_high_tok_s: float
    roofline_output_tok_s: float
    calibration: str
    engine_generation: str
    elapsed_s: float
    prefill_s: float
    decode_s: float
    ttft_s: tuple = ()
    tpot_s: tuple = ()
    e2e_s: tuple = ()
    steps: int = 0
    preemptions: int = 0
    max_running: int = 0
    cached_tokens: tuple = ()  # per request: prompt tokens from the prefix cache (None each when caching is off)


def load_profile(path: str | None) -> Profile:
    """A user profile (--profile PATH) or, without one, the published fit shipped with bench."""
    if path:
        return profiles.load(path)
    prof = profiles.published()
    if prof is None:
        raise BenchError(f"no published fit at {profiles.PUBLISHED_FILE}: run scripts/validate_prediction.py "
                         "--write-profile, or give --profile PATH")
    return prof


def expected(run: dict, model_config: dict, hardware_name: str, profile: Profile | None = None,
             lengths: list[tuple[int, int]] | None = None, engine: str | None = None,
             engine_version: str | None = None, max_num_batched_tokens: int | None = None,
             kv_capacity_tokens: int | None = None, prefix_blocks: list | None = None) -> Expected:
    """The expected throughput, TTFT and TPOT of `run` (a RunConfig as a dict) on `hardware_name`.

    The requests are (prompt, output) `lengths` (default: num_prompts x the run's input_len / output_len),
    scheduled once as vLLM would (bench.roofline.trace) and timed by the efficiency model
    (bench.roofline.efficiency) with the profile's parameters for the engine's generation (default: the
    current vLLM). profile None: the published fit. BenchError when the hardware has no roofline;
    SimError when a request cannot fit the KV cache. prefix_blocks (batchsim.prefix_hashes of the prompts): the
    schedule with prefix caching."""
    profile = profile or load_profile(None)
    engine = engine or modelled_engine(run.get("engine") or "vllm")
    gen = engine_profiles.generation(engine, engine_version)
    gpu = require_gpu(hardware_name)
    dep = deployment(run, model_config, gpu, mla_expanded=engine_profiles.mla_expanded(engine, engine_version),
                     mla_padded_head_dim=engine_profiles.mla_padded_head_dim(engine, engine_version))
    if lengths is None:
        lengths = [(int(run.get("input_len") or 128), int(run.get("output_len") or 64))] * int(run.get("num_prompts") or 16)
    seqs, tokens = vllm_default_limits(gpu)
    tr = trace.schedule(dep, lengths, run.get("max_num_seqs") or seqs, max_num_batched_tokens or tokens,
                        kv_capacity_tokens=kv_capacity_tokens, prefix_blocks=prefix_blocks)
    eff = profile.efficiency_for(engine, engine_version)
    t = trace.timings(tr, eff)
    bound = trace.timings(tr, None)
    tpot = t.tpot_s[~np.isnan(t.tpot_s)]
    pct = lambda a, q: float(np.percentile(a, q)) * 1e3 if len(a) else None  # noqa: E731
    return Expected(
        output_tok_s=t.output_tok_s, total_tok_s=t.total_tok_s, ttft_p50_ms=pct(t.ttft_s, 50),
        ttft_p99_ms=pct(t.ttft_s, 99), tpot_p50_ms=pct(tpot, 50), tpot_p99_ms=pct(tpot, 99),
        band_low_tok_s=t.output_tok_s * profile.band_low,
        band_high_tok_s=min(bound.output_tok_s, t.output_tok_s * profile.band_high),
        roofline_output_tok_s=bound.output_tok_s, calibration=profile.name, engine_generation=gen,
        elapsed_s=t.elapsed_s, prefill_s=t.prefill_s, decode_s=t.decode_s, ttft_s=tuple(t.ttft_s.tolist()),
        tpot_s=tuple(t.tpot_s.tolist()), e2e_s=tuple(t.e2e_s.tolist()), steps=tr.steps, preemptions=tr.preemptions,
        max_running=tr.max_running, cached_tokens=tr.cached_tokens)


def expected_decode_tok_s(dep: Deployment, batch: int, context_len: int, eff) -> float:
    """Steady decode of `batch` sequences at `context_len` under efficiency `eff`: batch / expected step time."""
    from bench.roofline import efficiency

    return batch / float(efficiency.step_time_s(dep.step_cost(batch, batch * context_len), dep.machine, eff))


PREDICTION_COLUMNS = ("predicted_output_tok_s", "predicted_ttft_p50_ms", "predicted_ttft_p99_ms",
                      "predicted_tpot_p50_ms", "predicted_tpot_p99_ms", "predicted_band_low_tok_s",
                      "predicted_band_high_tok_s", "prediction_calibration")


def prediction_columns(run: dict, model_config: dict, device: str, device_name: str | None, out: dict,
                       profile: Profile | None = None) -> dict:
    """The expected-value columns of a finished case: filled where roofline_columns is (a GPU the hardware
    file knows, or the sim's), from the same requests, for the engine and version that ran (sim rows: the
    current vLLM). Empty otherwise, or when no calibration is available."""
    empty = dict.fromkeys(PREDICTION_COLUMNS)
    requests = out.get("requests") or []
    if out.get("status") != "ok" or not requests or not _has_roofline(device, run):
        return empty
    name = run.get("hardware") or hardware.from_device_name(device_name)
    if not name or gpu_for(name) is None:
        return empty
    info = out.get("engine_info") or {}
    engine = modelled_engine(run.get("engine"))
    version = None if is_predicted(run.get("engine")) else info.get("engine_version") or out.get("engine_version")
    try:
        prof = profile or load_profile(run.get("profile"))
        measured = (info.get("spec_decode") or {}).get("acceptance_rate")  # a speculative vLLM run's own
        e = expected({**run, "max_num_seqs": info.get("max_num_seqs") or run.get("max_num_seqs"),
                      "measured_acceptance": measured}, model_config, name,
                     prof, [(r["prompt_len"], r["output_len"]) for r in requests], engine, version,
                     info.get("max_num_batched_tokens"),
                     kv_capacity_tokens=(out.get("kv") or {}).get("capacity_tokens") if device == "cpu" else None)
    except (SimError, BenchError):
        return empty
    return {"predicted_output_tok_s": e.output_tok_s, "predicted_ttft_p50_ms": e.ttft_p50_ms,
            "predicted_ttft_p99_ms": e.ttft_p99_ms, "predicted_tpot_p50_ms": e.tpot_p50_ms,
            "predicted_tpot_p99_ms": e.tpot_p99_ms, "predicted_band_low_tok_s": e.band_low_tok_s,
            "predicted_band_high_tok_s": e.band_high_tok_s, "prediction_calibration": e.calibration}
