"""`bench sweep --ray [ADDRESS]`: each case a Ray task on an existing Ray cluster.

On its node a task does what a local sweep does (runner.execute: the worker in its own process,
the case's timeout, its engine log) and returns the outcome and the log; the driver writes the
JSON and the row with the same atomic writes as a local sweep. A case asks Ray for one GPU, or
tensor x pipeline parallel GPUs (none for CPU cases, the sim engine, or vLLM's own Ray backend,
whose workers take their GPUs themselves). Tasks are never retried: a crash is a `failed` row.

Every node needs this bench (same version) and its engines installed, like the driver.
Ray is imported only here, only with --ray (`pip install 'bench[ray]'`).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.catalog import REPO_ROOT
from bench.engines.base import EngineSpec
from bench.errors import BenchError
from bench.interrupt import Interrupted, signal_name
from bench.runner import KILL_GRACE_S, Execution, execute, interrupted_execution, prepare_case, record_case

GPU_ENGINES = ("vllm",)
LOG_LIMIT_CHARS = 2_000_000  # the tail of an engine log that travels back to the driver
POLL_S = 0.5


def require() -> None:
    if importlib.util.find_spec("ray") is None:
        raise BenchError("--ray needs the ray package, which is not installed here: pip install 'bench[ray]' "
                         "(the same on every node of the cluster)")


def connect(address: str) -> None:
    import ray

    try:
        ray.init(address=address, log_to_driver=False, logging_level="warning")
    except (ConnectionError, RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BenchError(f"--ray {address}: cannot connect to a Ray cluster ({first}); start one with "
                         "`ray start --head` and pass its address, e.g. --ray 10.0.0.1:6379") from None


def task_gpus(cfg, cluster_has_gpus: bool) -> int:
    """GPUs a case's task asks Ray for."""
    if cfg.engine not in GPU_ENGINES or cfg.device == "cpu" or cfg.distributed_executor_backend == "ray":
        return 0
    if cfg.device == "auto" and not cluster_has_gpus:
        return 0
    return (cfg.tensor_parallel_size or 1) * cfg.pipeline_parallel_size


def relocate(path: str, driver_root: str, local_root: str) -> str:
    """A path under the driver's bench checkout, moved under this node's (bundled model configs)."""
    if Path(path).exists() or not path.startswith(driver_root.rstrip("/") + "/"):
        return path
    return local_root.rstrip("/") + path[len(driver_root.rstrip("/")):]


@dataclass
class RemoteResult:
    execution: Execution
    log_text: str


def run_on_node(spec: EngineSpec, timeout_s: float, driver_root: str, index: int, started) -> RemoteResult:
    """The Ray task: announce the start, run the case in its own process here, return outcome and log."""
    import socket

    started.put((index, socket.gethostname(), time.time()))
    spec = EngineSpec(**{**spec.__dict__, "load_path": relocate(spec.load_path, driver_root, str(REPO_ROOT))})
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        log_path = Path(tmp) / "case.log"
        ex = execute(spec, timeout_s, log_path)
        text = log_path.read_text(errors="replace")[-LOG_LIMIT_CHARS:] if log_path.exists() else ""
    return RemoteResult(ex, text)


def _largest_node_gpus(ray) -> float:
    return max((n.get("Resources", {}).get("GPU", 0) for n in ray.nodes() if n.get("Alive")), default=0)


def run_cases(cases, out_csv: Path, progress, address: str) -> None:
    """Submit every case, record each row as its task finishes. Ctrl-C/SIGTERM: running tasks are cancelled
    (their engines stopped), recorded as interrupted, and Interrupted is raised."""
    require()
    import ray
    from ray.util.queue import Empty, Queue

    connect(address)
    try:
        largest = _largest_node_gpus(ray)
        gpus = {c.spec.index: task_gpus(c.cfg, largest > 0) for c in cases}
        too_big = [f"#{i} needs {g}" for i, g in gpus.items() if g > largest]
        if too_big:
            raise BenchError(f"no node of the Ray cluster has enough GPUs (largest: {largest:g}): "
                             + ", ".join(too_big) + "; lower tensor_parallel_size or use "
                             "distributed_executor_backend: ray")
        started = Queue(actor_options={"num_cpus": 0})
        task = ray.remote(run_on_node)
        by_ref, by_index = {}, {c.spec.index: c for c in cases}
        preps = {}
        for case in cases:
            prep = prepare_case(case.cfg, case.model, out_csv, check_engine_here=False)
            preps[case.spec.index] = prep
            ref = task.options(num_cpus=1, num_gpus=gpus[case.spec.index], max_retries=0).remote(
                prep.spec, case.cfg.timeout_s, str(REPO_ROOT), case.spec.index, started)
            by_ref[ref] = case
        running: dict[int, tuple[float, str]] = {}  # case number -> (time.time() it started, its node's host)
        pending = list(by_ref)

        def note_starts():
            while True:
                try:
                    index, host, t = started.get_nowait()
                except Empty:
                    return
                running[index] = (t, host)
                preps[index].when = dt.datetime.fromtimestamp(t, dt.timezone.utc)
                progress.started(by_index[index])

        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                note_starts()
                for ref in done:
                    case = by_ref[ref]
                    ex, log_text = _gather(ray, ref, running.get(case.spec.index, (None, ""))[0])
                    running.pop(case.spec.index, None)
                    if ex.out.get("status") == "bad_input":
                        ex.out = {**ex.out, "status": "failed"}
                    outcome = record_case(preps[case.spec.index], ex, out_csv, log_text=log_text)
                    progress.finished(case, outcome.row, ex.wall_s)
        except KeyboardInterrupt as e:
            _stop(ray, pending, by_ref, running, preps, out_csv, progress, e)
            raise Interrupted(signal_name(e)) from None
    finally:
        ray.shutdown()


def _gather(ray, ref, started_at: float | None) -> tuple[Execution, str]:
    try:
        result = ray.get(ref)
        return result.execution, result.log_text
    except ray.exceptions.RayError as e:  # the task's worker or node died: a failed row, not a crashed sweep
        text = " ".join(str(e).split())[:500]
        wall = time.time() - started_at if started_at else 0.0
        return Execution(out={"status": "failed", "error": f"Ray task failed: {type(e).__name__}: {text}"},
                         env={}, wall_s=wall, spawned_at=started_at or time.time()), ""


def _stop(ray, pending, by_ref, running, preps, out_csv, progress, exc) -> None:
    """Cancel every unfinished task (a running one gets KeyboardInterrupt: its engine is killed) and record
    the ones that had started as interrupted."""
    for ref in pending:
        ray.cancel(ref)
    ray.wait(pending, num_returns=len(pending), timeout=KILL_GRACE_S + 5)
    for ref in pending:
        case = by_ref[ref]
        if case.spec.index not in running:
            continue  # never started: no row, --resume runs it
        t, host = running[case.spec.index]
        ex = interrupted_execution(exc, t, env={"hostname": host})
        outcome = record_case(preps[case.spec.index], ex, out_csv)
        progress.finished(case, outcome.row, ex.wall_s)
