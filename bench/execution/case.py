"""One case from its resolved config to its recorded row: preflight, prepare, execute, record.

The worker runs in its own process (bench/execution/process.py: its timeout, its process group killed
on timeout or Ctrl-C); a failure's root cause comes from its log (bench/execution/forensics.py).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bench.results import store as results
from bench.execution.record import case_record, offline_row
from bench.config.catalog import ResolvedModel, WeightsChoice, choose_weights
from bench.config.engines import not_installed, required_package
from bench.engines.base import EngineSpec
from bench.measure.environment import host_env
from bench.core.errors import BenchError
from bench.execution.signals import Interrupted, signal_name, signals_deferred
from bench.config.run import RunConfig
from bench.execution.forensics import settle_failure
from bench.execution import worker
from bench.execution.process import spawn_worker


@dataclass
class CaseOutcome:
    row: dict
    record: dict  # the JSON written beside the CSV
    log_path: Path | None


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def preflight(cfg: RunConfig, model_config: dict | None = None) -> None:
    """BenchError (one line) when the case cannot start in this Python: its engine needs a package it lacks
    (bench.config.engines' table: the package and how to install it), or its vLLM is the CPU build and the model is
    one that build cannot run (bench.engines.vllm_build: known from package metadata, before a worker imports vLLM)."""
    pkg = required_package(cfg.engine)
    if pkg and importlib.util.find_spec(pkg) is None:
        raise BenchError(not_installed(cfg.engine, pkg))
    if model_config is not None:
        from bench.engines.vllm_build import refusal_here

        problem = refusal_here(cfg.engine, cfg.device, model_config)
        if problem:
            raise BenchError(problem)


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
    workload: dict  # spec.workload.columns(): the row's workload columns


@dataclass
class Execution:
    """What running a case produced, wherever it ran (this machine or a Ray node)."""

    out: dict  # the worker's JSON, status and error settled
    env: dict  # host_env() of the machine that ran it
    wall_s: float  # spawn to exit, as the parent saw it
    spawned_at: float  # time.time() at spawn


def engine_spec(cfg: RunConfig, model: ResolvedModel, choice: WeightsChoice) -> EngineSpec:
    """What the worker gets: the resolved case, where the model is, and the case's requests, built here, once.
    The worker times exactly these requests and the row's workload columns describe them; on a Ray cluster they
    travel with the task. (resolve() built a --dataset file's requests once before, to refuse a bad file before
    any case starts.)"""
    from bench.workload import source

    return EngineSpec(run=cfg, load_path=choice.load_path, load_format=choice.load_format, model_config=model.config,
                      workload=source.build(cfg.model_dump(), model.config))


def prepare_case(cfg: RunConfig, model: ResolvedModel, out_csv: Path, check_engine_here: bool = True) -> PreparedCase:
    """Check the case can start (its engine's package here, unless it runs elsewhere), build its requests and
    name its files. Raises BenchError before anything is written."""
    results.check_appendable(out_csv)  # the pure checks first: a bad --out is the same problem in every Python
    if check_engine_here:
        preflight(cfg, model.config)
    choice = choose_weights(model, cfg.weights)
    spec = engine_spec(cfg, model, choice)
    when = dt.datetime.now(dt.timezone.utc)
    run_id = new_run_id(when)
    return PreparedCase(cfg, model, choice, spec, run_id, when, results.json_dir(out_csv) / f"{run_id}.log",
                        spec.workload.columns())


def execute(spec: EngineSpec, timeout_s: float, log_path: Path | None, verbose: bool = False,
            spinner: str | None = None, watch=None) -> Execution:
    """Run the worker on this machine: its process, its timeout, its log. Ctrl-C/SIGTERM propagate
    (after the engine's process group is killed). `watch`: see process.spawn_worker (it replaces the spinner).
    A predicted case (the sim) runs in this process instead, its timeout a timer (worker.runs_here, run_here)."""
    spawned_at, t0 = time.time(), time.perf_counter()
    if worker.runs_here(spec):
        out = worker.run_here(spec, timeout_s)
        return Execution(out=out, env=host_env(), wall_s=time.perf_counter() - t0, spawned_at=spawned_at)
    if watch is not None and not verbose:
        out = spawn_worker(spec, timeout_s, log_path, watch=watch)
    elif spinner and not verbose:
        from bench.core.console import make_console

        with make_console(stderr=True).status(spinner):
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
        "telemetry_cpu_s": out.get("telemetry_cpu_s"),
        "process_exit_s": ex.wall_s - (finished - ex.spawned_at),
    }


def record_case(prep: PreparedCase, ex: Execution, out_csv: Path, log_text: str | None = None) -> CaseOutcome:
    """Write the case's JSON (atomically) then its CSV row (one fsynced append); SIGINT/SIGTERM wait
    until both are written. `log_text`: an engine log that came from another machine, kept beside the JSON."""
    out = ex.out
    row = offline_row(run_id=prep.run_id, when=prep.when, cfg=prep.cfg, model=prep.model,
                      weights=prep.weights.kind, out=out, env=ex.env, workload=prep.workload)
    model = prep.model
    with signals_deferred():
        if log_text is not None:
            results.write_atomic(prep.log_path, log_text.encode())
        has_log = prep.log_path.exists()
        record = case_record(
            row, config=prep.cfg.model_dump(), model=model, with_model_config=True,
            environment={**ex.env, **(out.get("gpu_env") or {})},
            log=prep.log_path.name if has_log else None, requests=out.get("requests") or [],
            weights={"kind": prep.weights.kind, "source": prep.weights.source,
                     "load_path": prep.weights.load_path, "load_format": prep.weights.load_format},
            engine=out.get("engine_info") or {}, kv_cache=out.get("kv") or {}, telemetry=out.get("telemetry"),
            telemetry_note=out.get("telemetry_note") or "",
            peak_memory_per_gpu_bytes=out.get("peak_memory_per_gpu_bytes") or [], case_wall_s=ex.wall_s,
            timings=timings(ex),
            traceback=out.get("traceback"),
        )
        results.write_json(results.json_path(out_csv, prep.run_id), record)
        results.append_row(out_csv, row)
    return CaseOutcome(row=row, record=record, log_path=prep.log_path if has_log else None)


def run_case(cfg: RunConfig, model: ResolvedModel, out_csv: Path, verbose: bool = False,
             label: str = "", bad_input_as_row: bool = False, spinner: bool = True, watch=None) -> CaseOutcome:
    """Run one resolved case here and record it.

    Bad input raises BenchError before anything is written; input only the engine can judge (an
    architecture vLLM lacks) raises too, or with `bad_input_as_row` (sweeps) becomes a `failed` row.
    Ctrl-C/SIGTERM: the engine is stopped, an `interrupted` row written, then Interrupted is raised.
    `watch`: a progress display's (bench.display.progress), shown instead of the spinner.
    """
    prep = prepare_case(cfg, model, out_csv)
    text = f"{label or model.name}: starting the engine and running (log: {prep.log_path})" if spinner else None
    spawned_at = time.time()
    try:
        ex = execute(prep.spec, cfg.timeout_s, prep.log_path, verbose=verbose, spinner=text, watch=watch)
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
