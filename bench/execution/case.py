"""One case from its resolved config to its recorded row: preflight, prepare, execute, record.

The worker runs in its own process (bench/execution/process.py: its timeout, its process group killed
on timeout or Ctrl-C); a failure's root cause comes from its log (bench/execution/forensics.py).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.roofline import modelmath

from bench.roofline import predict

from bench.results import store as results
from bench.config.catalog import ResolvedModel, WeightsChoice, choose_weights
from bench.cost.pricing import run_cost_columns
from bench.engines.base import EngineSpec
from bench.measure.environment import host_env
from bench.errors import BenchError
from bench.execution.signals import Interrupted, signal_name, signals_deferred
from bench.config.run import RunConfig, case_key
from bench.measure.telemetry import energy_columns
from bench.execution.forensics import settle_failure
from bench.execution.process import spawn_worker

# Engines whose Python package must be importable in this environment, and how to get it.
ENGINE_PACKAGES = {"vllm": "vllm", "hf": "transformers", "hf-cb": "transformers"}
INSTALL_HINTS = {
    "vllm": "run `bash scripts/setup.sh` (CPU build of vLLM) or `bash scripts/setup.sh gpu`, then use .venv/bin/bench",
    "transformers": "run `bash scripts/setup.sh` (vLLM brings torch and transformers) or "
                    "`pip install torch transformers`",
}


@dataclass
class CaseOutcome:
    row: dict
    record: dict  # the JSON written beside the CSV
    log_path: Path | None


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def preflight(cfg: RunConfig) -> None:
    pkg = ENGINE_PACKAGES.get(cfg.engine)
    if pkg and importlib.util.find_spec(pkg) is None:
        raise BenchError(f"{pkg} is not installed in this Python ({sys.executable}); {INSTALL_HINTS[pkg]}")


def analytic_kv(cfg: RunConfig, model: ResolvedModel) -> int:
    dtype = cfg.dtype if cfg.dtype != "auto" else model.dtype
    return modelmath.kv_bytes_per_token(model.config, cfg.kv_cache_dtype, dtype, cfg.tensor_parallel_size or 1)


def build_row(run_id: str, when: dt.datetime, cfg: RunConfig, model: ResolvedModel, weights: str, out: dict,
              env: dict) -> dict:
    m = out.get("metrics") or {}
    kv = out.get("kv") or {}
    info = out.get("engine_info") or {}
    gpu = out.get("gpu_env") or {}
    device = info.get("device") or (cfg.device if cfg.device != "auto" else "")
    device_name = info.get("device_name") or (gpu.get("device_name") if device == "cuda" else env.get("cpu_model"))
    peak = out.get("peak_memory_bytes")
    allocated = kv.get("allocated_bytes")
    row = {
        "schema_version": results.SCHEMA_VERSION,
        "run_id": run_id,
        "timestamp": when.isoformat(timespec="seconds"),
        "model": model.name,
        "engine": cfg.engine,
        "device": device,
        "device_name": device_name,
        "weights": weights,
        "dtype": cfg.dtype,
        "kv_cache_dtype": cfg.kv_cache_dtype,
        "tensor_parallel_size": cfg.tensor_parallel_size,
        "input_len": cfg.input_len,
        "output_len": cfg.output_len,
        "num_prompts": cfg.num_prompts,
        "max_num_seqs": info.get("max_num_seqs") or cfg.max_num_seqs,
        "input_tokens": m.get("input_tokens"),
        "output_tokens": m.get("output_tokens"),
        "elapsed_s": m.get("elapsed_s"),
        "requests_per_s": m.get("requests_per_s"),
        "input_tok_s": m.get("input_tok_s"),
        "output_tok_s": m.get("output_tok_s"),
        "total_tok_s": m.get("total_tok_s"),
        "ttft_p50_ms": m.get("ttft_p50_ms"),
        "ttft_p99_ms": m.get("ttft_p99_ms"),
        "tpot_p50_ms": m.get("tpot_p50_ms"),
        "tpot_p99_ms": m.get("tpot_p99_ms"),
        "kv_block_size": kv.get("block_size"),
        "kv_num_blocks": kv.get("num_blocks"),
        "kv_capacity_tokens": kv.get("capacity_tokens"),
        "kv_bytes_per_token": kv.get("bytes_per_token"),
        "kv_bytes_per_token_analytic": analytic_kv(cfg, model),
        "peak_memory_gb": peak / 1e9 if peak else None,
        "vllm_version": info.get("vllm_version"),
        "torch_version": info.get("torch_version"),
        "git_sha": env.get("git_sha"),
        "config_hash": case_key(cfg, model),
        "status": out.get("status"),
        "error": " ".join(str(out.get("error") or "").split())[:1000],
        "hub_id": model.hub_id,
        "architecture": model.architecture,
        "max_model_len": cfg.max_model_len,
        "pipeline_parallel_size": cfg.pipeline_parallel_size,
        "length_dist": cfg.length_dist,
        "seed": cfg.seed,
        "ttft_mean_ms": m.get("ttft_mean_ms"),
        "tpot_mean_ms": m.get("tpot_mean_ms"),
        "e2e_p50_ms": m.get("e2e_p50_ms"),
        "e2e_p99_ms": m.get("e2e_p99_ms"),
        "completed": m.get("completed"),
        "failed": m.get("failed"),
        "kv_cache_gb": allocated / 1e9 if allocated else None,
        "peak_memory_source": out.get("peak_memory_source"),
        "engine_start_s": out.get("engine_start_s"),
        "warmup_s": out.get("warmup_s"),
        "gpu_count": gpu.get("gpu_count"),
        "driver_version": gpu.get("driver_version"),
        "cpu_model": env.get("cpu_model"),
        "hostname": env.get("hostname"),
        "config_sha": model.config_sha,
        **predict.roofline_columns(cfg.model_dump(), model.config, device, device_name, out),
    }
    row.update(energy_columns(out.get("telemetry"), m.get("output_tokens")))
    row.update(run_cost_columns(row, cfg.hardware))
    return row


@dataclass
class PreparedCase:
    """A resolved case ready to run: what the worker gets and where its files go."""

    cfg: RunConfig
    model: ResolvedModel
    weights: WeightsChoice
    spec: EngineSpec
    run_id: str
    when: dt.datetime
    log_path: Path


@dataclass
class Execution:
    """What running a case produced, wherever it ran (this machine or a Ray node)."""

    out: dict  # the worker's JSON, status and error settled
    env: dict  # host_env() of the machine that ran it
    wall_s: float  # spawn to exit, as the parent saw it
    spawned_at: float  # time.time() at spawn


def prepare_case(cfg: RunConfig, model: ResolvedModel, out_csv: Path, check_engine_here: bool = True) -> PreparedCase:
    """Check the case can start (its engine's package here, unless it runs elsewhere) and name its files.
    Raises BenchError before anything is written."""
    results.check_appendable(out_csv)  # the pure checks first: a bad --out is the same problem in every Python
    if check_engine_here:
        preflight(cfg)
    choice = choose_weights(model, cfg.weights)
    spec = EngineSpec(run=cfg.model_dump(), load_path=choice.load_path, load_format=choice.load_format,
                      model_config=model.config)
    when = dt.datetime.now(dt.timezone.utc)
    run_id = new_run_id(when)
    return PreparedCase(cfg, model, choice, spec, run_id, when, results.json_dir(out_csv) / f"{run_id}.log")


def execute(spec: EngineSpec, timeout_s: float, log_path: Path | None, verbose: bool = False,
            spinner: str | None = None) -> Execution:
    """Run the worker on this machine: its process, its timeout, its log. Ctrl-C/SIGTERM propagate
    (after the engine's process group is killed)."""
    spawned_at, t0 = time.time(), time.perf_counter()
    if spinner and not verbose:
        from rich.console import Console

        with Console(stderr=True).status(spinner):
            out = spawn_worker(spec, timeout_s, log_path)
    else:
        out = spawn_worker(spec, timeout_s, log_path, verbose=verbose)
    wall_s = time.perf_counter() - t0
    if log_path is not None and log_path.exists():
        out = settle_failure(out, log_path.read_text(errors="replace"))
    return Execution(out=out, env=host_env(), wall_s=wall_s, spawned_at=spawned_at)


def interrupted_execution(exc: BaseException, spawned_at: float, env: dict | None = None) -> Execution:
    """A case stopped by SIGINT/SIGTERM: `spawned_at` is time.time() at its start."""
    return Execution(out={"status": "interrupted", "error": f"stopped by {signal_name(exc)}"},
                     env=host_env() if env is None else env, wall_s=time.time() - spawned_at, spawned_at=spawned_at)


def timings(ex: Execution) -> dict:
    """Where a case's wall time went, in seconds: process start (interpreter + bench's imports), the worker's
    own work (engine import and checks, engine start, warm-up, the timed generate as wall time, the rest),
    process exit."""
    out = ex.out
    started, finished = out.get("worker_started_at"), out.get("worker_finished_at")
    if started is None or finished is None:
        return {"case_wall_s": ex.wall_s}
    return {
        "case_wall_s": ex.wall_s,
        "process_start_s": started - ex.spawned_at,
        "worker_s": finished - started,
        "engine_check_s": out.get("engine_check_s"),
        "engine_start_s": out.get("engine_start_s"),
        "warmup_s": out.get("warmup_s"),
        "generate_wall_s": out.get("generate_wall_s"),
        "process_exit_s": ex.wall_s - (finished - ex.spawned_at),
    }


def record_case(prep: PreparedCase, ex: Execution, out_csv: Path, log_text: str | None = None) -> CaseOutcome:
    """Write the case's JSON (atomically) then its CSV row (one fsynced append); SIGINT/SIGTERM wait
    until both are written. `log_text`: an engine log that came from another machine, kept beside the JSON."""
    out = ex.out
    row = build_row(prep.run_id, prep.when, prep.cfg, prep.model, prep.weights.kind, out, ex.env)
    model = prep.model
    with signals_deferred():
        if log_text is not None:
            results.write_atomic(prep.log_path, log_text.encode())
        has_log = prep.log_path.exists()
        record = {
            "schema_version": results.SCHEMA_VERSION,
            "row": row,
            "config": prep.cfg.model_dump(),
            "model": {"name": model.name, "hub_id": model.hub_id, "family": model.family,
                      "architecture": model.architecture, "config_sha": model.config_sha, "config": model.config},
            "weights": {"kind": prep.weights.kind, "source": prep.weights.source,
                        "load_path": prep.weights.load_path, "load_format": prep.weights.load_format},
            "environment": {**ex.env, **(out.get("gpu_env") or {})},
            "engine": out.get("engine_info") or {},
            "kv_cache": out.get("kv") or {},
            "telemetry": out.get("telemetry"),
            "telemetry_note": out.get("telemetry_note") or "",
            "case_wall_s": ex.wall_s,
            "timings": timings(ex),
            "log": prep.log_path.name if has_log else None,
            "traceback": out.get("traceback"),
            "requests": out.get("requests") or [],
        }
        results.write_json(results.json_path(out_csv, prep.run_id), record)
        results.append_row(out_csv, row)
    return CaseOutcome(row=row, record=record, log_path=prep.log_path if has_log else None)


def run_case(cfg: RunConfig, model: ResolvedModel, out_csv: Path, verbose: bool = False,
             label: str = "", bad_input_as_row: bool = False, spinner: bool = True) -> CaseOutcome:
    """Run one resolved case here and record it.

    Bad input raises BenchError before anything is written; input only the engine can judge (an
    architecture vLLM lacks) raises too, or with `bad_input_as_row` (sweeps) becomes a `failed` row.
    Ctrl-C/SIGTERM: the engine is stopped, an `interrupted` row written, then Interrupted is raised.
    """
    prep = prepare_case(cfg, model, out_csv)
    text = f"{label or model.name}: starting the engine and running (log: {prep.log_path})" if spinner else None
    spawned_at = time.time()
    try:
        ex = execute(prep.spec, cfg.timeout_s, prep.log_path, verbose=verbose, spinner=text)
    except KeyboardInterrupt as e:
        outcome = record_case(prep, interrupted_execution(e, spawned_at), out_csv)
        raise Interrupted(signal_name(e), outcome) from None
    if ex.out.get("status") == "bad_input":
        if not bad_input_as_row:  # leave no trace: not even an empty results folder
            prep.log_path.unlink(missing_ok=True)
            if prep.log_path.parent.is_dir() and not any(prep.log_path.parent.iterdir()):
                prep.log_path.parent.rmdir()
            raise BenchError(ex.out.get("error") or "the engine rejected the case")
        ex.out = {**ex.out, "status": "failed"}
    return record_case(prep, ex, out_csv)
