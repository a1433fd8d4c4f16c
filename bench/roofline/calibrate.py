"""Calibration to a user's own runs: the efficiency parameters of one machine, fitted to its measured rows.

`bench calibrate RESULTS.csv ... --hardware NAME --out profile.yaml` reads the ok rows of a measured
engine, rebuilds each run (its model, dtype, TP, KV format, max_num_seqs, its requests at the row's mean
lengths, the row's own KV capacity when it reports one), schedules it once (bench.roofline.trace) and fits
the parameters a single machine and engine determine (bench.roofline.fit): the achieved bandwidth and
compute fractions and the per-step and per-sequence overheads by default. The rest (attention and MoE
kernel efficiency, all-reduce latency) stay at the published fit's values. The profile's band is the
10th-90th percentile of measured / predicted over the rows, each predicted by a fit without it when there
are at least 5 rows (else by the full fit). A CPU calibrates too, once `bench probe` has measured its
bandwidth and matmul rate into a hardware entry; on such an entry the compute fraction may exceed 1 (up to
efficiency.MEASURED_PEAK_COMPUTE_LIMIT): the engine's kernels can beat one process's measured matmul; and
the per-sequence overhead up to efficiency.MEASURED_PEAK_SEQUENCE_LIMIT_S: the engine's per-request Python
work shares the CPU's few cores with the model.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

from bench.config.engines import is_predicted
from bench.core.errors import BenchError
from bench.roofline import engine_profiles, fit, predict, trace
from bench.roofline.batchsim import SimError
from bench.roofline.efficiency import BOUNDS, MEASURED_PEAK_COMPUTE_LIMIT, MEASURED_PEAK_SEQUENCE_LIMIT_S, Efficiency
from bench.roofline.profile import Profile

# What a machine's rows determine, most telling first: with n rows the first n are fitted (a sweep of two
# batch sizes fits bandwidth, from decodes, and compute, from prefills; four or more rows fit all four).
DEFAULT_FREE = ("bandwidth_fraction", "compute_fraction", "step_overhead_s", "sequence_overhead_s")
MIN_ROWS_FOR_LOO = 5


@dataclass(frozen=True)
class MeasuredRun:
    """One measured row, as the calibration needs it."""

    run: dict  # RunConfig-like: dtype, kv_cache_dtype, tensor_parallel_size, max_num_seqs, quantization
    model_config: dict
    lengths: list  # (prompt_len, output_len) per request
    output_tok_s: float
    engine: str = "vllm"
    engine_version: str | None = None
    kv_capacity_tokens: int | None = None  # what the engine reported (the CPU build's is set by --cpu-kv-cache-gb)
    max_num_batched_tokens: int | None = None
    label: str = ""


def traced(m: MeasuredRun, hardware_name: str) -> trace.ScheduleTrace:
    gpu = predict.require_gpu(hardware_name)
    dep = predict.deployment(m.run, m.model_config, gpu,
                             mla_expanded=engine_profiles.mla_expanded(m.engine, m.engine_version),
                             mla_padded_head_dim=engine_profiles.mla_padded_head_dim(m.engine, m.engine_version))
    seqs, tokens = predict.vllm_default_limits(gpu)
    return trace.schedule(dep, m.lengths, m.run.get("max_num_seqs") or seqs, m.max_num_batched_tokens or tokens,
                          kv_capacity_tokens=m.kv_capacity_tokens)


def observations(runs: list[MeasuredRun], hardware_name: str) -> tuple[list[fit.Observation], list]:
    obs, traces = [], []
    for m in runs:
        try:
            tr = traced(m, hardware_name)
        except SimError as e:
            raise BenchError(f"row {m.label or '?'}: {e}; the row cannot be rebuilt on {hardware_name}") from None
        traces.append(tr)
        obs.append(fit.observation(tr, engine_profiles.generation(m.engine, m.engine_version), m.output_tok_s,
                                   "output_tok_s", True))
    return obs, traces


def calibrate(runs: list[MeasuredRun], hardware_name: str, name: str, base: Efficiency | None = None,
              free: tuple[str, ...] | None = None) -> Profile:
    """Fit `free` parameters (default: the first len(runs) of DEFAULT_FREE) to the runs on one machine; the
    others from `base` (default: the published fit's for the current vLLM)."""
    if not runs:
        raise BenchError("no measured ok rows to calibrate on (rows of a real engine with output_tok_s)")
    free = free or DEFAULT_FREE[:len(runs)]
    if len(runs) < len(free):
        raise BenchError(f"{len(runs)} rows cannot determine {len(free)} parameters ({', '.join(free)}): measure at "
                         "least as many runs (different batch sizes and lengths)")
    if base is None:
        pub = predict.profiles.published()
        base = pub.efficiency_for("vllm") if pub else Efficiency()
    obs, traces = observations(runs, hardware_name)
    measured_peak = predict.require_gpu(hardware_name).peak_measured  # a bench probe entry
    bounds = {"compute_fraction": (BOUNDS["compute_fraction"][0], MEASURED_PEAK_COMPUTE_LIMIT),
              "sequence_overhead_s": (BOUNDS["sequence_overhead_s"][0], MEASURED_PEAK_SEQUENCE_LIMIT_S)} \
        if measured_peak else {}
    layout = fit.Layout(free=tuple(free), fixed=base, bounds=bounds)
    start = layout.start(base.with_values(**{k: min(max(getattr(base, k), 1e-6), 1.0) for k in free}))
    full = fit.fit(obs, layout, x0=start)
    if len(runs) >= MIN_ROWS_FOR_LOO:
        held = [r.shared for r in fit.leave_one_out(obs, layout, full)]
    else:
        held = [full.shared] * len(runs)
    meas_over_pred = [m.output_tok_s / trace.timings(tr, e).output_tok_s for m, tr, e in zip(runs, traces, held)]
    gens = {engine_profiles.generation(m.engine, m.engine_version) for m in runs}
    return Profile(name=name, kind="user", parameters=full.shared, band_low=float(np.quantile(meas_over_pred, 0.1)),
                   band_high=float(np.quantile(meas_over_pred, 0.9)), hardware=hardware_name,
                   fitted_on=datetime.date.today().isoformat(), rows=len(runs),
                   default_generation=gens.pop() if len(gens) == 1 else "vllm-v1")


def measured_from_rows(rows: list[dict]) -> list[MeasuredRun]:
    """Results-CSV rows (bench.results.typed.read_rows) -> MeasuredRun: ok rows of measured engines only."""
    from bench.config import catalog

    out = []
    for r in rows:
        if r.get("status") != "ok" or not r.get("engine") or is_predicted(r["engine"]) or not r.get("output_tok_s"):
            continue
        try:
            model = catalog.resolve_model(r["model"])
        except BenchError as e:
            raise BenchError(f"row {r.get('run_id')}: {e}") from None
        n, i, o = int(r["num_prompts"]), int(r["input_len"]), int(r["output_len"])
        run = {"dtype": r.get("dtype") or "auto", "kv_cache_dtype": r.get("kv_cache_dtype") or "auto",
               "tensor_parallel_size": int(r.get("tensor_parallel_size") or 1),
               "max_num_seqs": int(r["max_num_seqs"]) if r.get("max_num_seqs") else None,
               "quantization": r.get("quantization") or None}
        cap = r.get("kv_capacity_tokens")
        out.append(MeasuredRun(run=run, model_config=model.config, lengths=[(i, o)] * n,
                               output_tok_s=float(r["output_tok_s"]), engine=r["engine"],
                               engine_version=r.get("engine_version") or None,
                               kv_capacity_tokens=int(cap) if cap else None, label=r.get("run_id", "")))
    return out
