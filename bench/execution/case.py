"""Run one case in its own process and turn what it reports into a results row.

Config in (JSON), JSON out, a timeout, the engine's log kept beside the result; the whole
process group is killed on timeout or Ctrl-C so no engine process outlives its case.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path



from bench.results import store as results
from bench.results.record import offline_row
from bench.config.catalog import ResolvedModel, WeightsChoice, choose_weights
from bench.engines.base import EngineSpec
from bench.measure.environment import host_env
from bench.errors import BenchError
from bench.execution.signals import Interrupted, signal_name, signals_deferred
from bench.config.run import RunConfig
from bench.execution.worker import looks_like_oom

# Engines whose Python package must be importable in this environment, and how to get it.
ENGINE_PACKAGES = {"vllm": "vllm", "hf": "transformers", "hf-cb": "transformers"}
INSTALL_HINTS = {
    "vllm": "run `bash scripts/setup.sh` (CPU build of vLLM) or `bash scripts/setup.sh gpu`, then use .venv/bin/bench",
    "transformers": "run `bash scripts/setup.sh` (vLLM brings torch and transformers) or "
                    "`pip install torch transformers`",
}
KILL_GRACE_S = 10.0


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


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the case's whole process group, give it KILL_GRACE_S to shut down, then SIGKILL
    whatever is left. The group outlives its leader: vLLM's engine core and workers may still be
    tearing down (or hung) after the worker process itself has exited."""
    pgid = proc.pid  # start_new_session=True made the worker its group's leader
    if not _group_alive(pgid):
        proc.poll()
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + KILL_GRACE_S
    while time.monotonic() < deadline:
        proc.poll()
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the worker gets SIGTERM if the sweep dies (even by kill -9); it then stops its engine."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_worker(spec: EngineSpec, timeout_s: float, log_path: Path | None, verbose: bool = False) -> dict:
    """Run bench.execution.worker on the spec; always returns a dict with at least status and error."""
    env = dict(os.environ)
    if spec.run["weights"] != "hub":
        env.setdefault("HF_HUB_OFFLINE", "1")  # never download unless asked (--weights hub)
        env.setdefault("TRANSFORMERS_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-case-") as tmp:
        spec_file, out_file = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_file.write_text(json.dumps(spec.__dict__))
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        log = None if verbose or log_path is None else open(log_path, "wb")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.execution.worker", str(spec_file), str(out_file)],
                stdout=log, stderr=subprocess.STDOUT if log else None, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,  # its own process group: we can stop the engine's children too
                preexec_fn=_die_with_parent,
            )
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return {"status": "timeout", "error": f"case exceeded its timeout of {timeout_s:g} s"}
            except BaseException:  # Ctrl-C: take the engine down with us
                _kill_group(proc)
                raise
            _kill_group(proc)  # stray engine children, if any
        finally:
            if log:
                log.close()
        if out_file.exists():
            return json.loads(out_file.read_text())
        how = f"killed by signal {_signame(-rc)}" if rc < 0 else f"exit code {rc}"
        tail = _tail(log_path)
        return {"status": "failed", "error": f"engine process died ({how}) without a result" + (f": {tail}" if tail else "")}


def _signame(num: int) -> str:
    try:
        return f"{signal.Signals(num).name} ({num})"
    except ValueError:
        return str(num)


GENERIC_FAILURES = ("Engine core initialization failed", "See root cause above", "please check the stack trace")
ERROR_LINE = re.compile(r"\b([A-Za-z_]*(?:Error|Exception)): (.+)$")
WORKER_ERROR = re.compile(r"Worker failed with error '(.+?)'(?:, please check|$)")


def root_cause(log_text: str) -> str:
    """The most specific error in an engine log: vLLM reports a worker's failure several times,
    wrapped in generic messages; the user needs the innermost one."""
    lines = log_text.splitlines()
    for line in reversed(lines):
        m = WORKER_ERROR.search(line)
        if m:
            return m.group(1)
    for line in reversed(lines):
        m = ERROR_LINE.search(line)
        if m and not any(g in line for g in GENERIC_FAILURES):
            return f"{m.group(1)}: {m.group(2).strip()}"
    return ""


def _tail(path: Path | None, lines: int = 3) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])[-500:]


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
    if check_engine_here:
        preflight(cfg)
    results.check_appendable(out_csv)
    choice = choose_weights(model, cfg.weights)
    spec = EngineSpec(run=cfg.model_dump(), load_path=choice.load_path, load_format=choice.load_format,
                      model_config=model.config)
    when = dt.datetime.now(dt.timezone.utc)
    run_id = new_run_id(when)
    return PreparedCase(cfg, model, choice, spec, run_id, when, results.json_dir(out_csv) / f"{run_id}.log")


def settle_failure(out: dict, log_text: str) -> dict:
    """Put the engine log's root cause into a failed case's error and class out-of-memory failures as oom."""
    if out.get("status") in ("ok", "bad_input", "interrupted"):
        return out
    cause = root_cause(log_text)
    out = dict(out)
    if cause and cause not in str(out.get("error")):
        out["error"] = f"{cause} ({out.get('error')})"
    if out["status"] == "failed" and looks_like_oom(cause):
        out["status"] = "oom"
    return out


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
    row = offline_row(run_id=prep.run_id, when=prep.when, cfg=prep.cfg, model=prep.model,
                      weights=prep.weights.kind, out=out, env=ex.env)
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
