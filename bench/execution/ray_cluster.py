"""`bench sweep --ray [ADDRESS]`: each case a Ray task on an existing Ray cluster.

On its node a task does what a local sweep does (case.execute: the worker in its own process,
the case's timeout, its engine log) and returns the outcome and the log; the driver writes the
JSON and the row with the same atomic writes as a local sweep. A case asks Ray for one GPU, or
tensor x pipeline parallel GPUs (none for CPU cases, a predicted engine such as sim, a plugin engine, or vLLM's own
Ray backend, whose workers take their GPUs themselves: such a case may span nodes and must fit the whole cluster;
its task runs with CUDA_VISIBLE_DEVICES="" as Ray sets it, which vLLM and bench read as "every GPU"). Tasks are
never retried: a crash is a `failed` row.

Every node needs this bench (same version) and its engines installed, like the driver; the driver's
BENCH_* environment variables are passed to every task. A case's requests are built on the driver and travel
with its task, so a --dataset file and its tokenizer are needed on the driver only.
Ray is imported only here, only with --ray (`pip install 'bench[ray]'`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config.catalog import REPO_ROOT
from bench.config.engines import gpu_engines
from bench.engines.base import EngineSpec
from bench.core.errors import BenchError
from bench.execution.signals import STOP_SIGNALS, Interrupted, signal_name
from bench.execution.process import KILL_GRACE_S
from bench.execution.case import Execution, execute, interrupted_execution, prepare_case, record_case

LOG_LIMIT_CHARS = 2_000_000  # the tail of an engine log that travels back to the driver
POLL_S = 0.5


def require() -> None:
    if importlib.util.find_spec("ray") is None:
        raise BenchError("--ray needs the ray package, which is not installed here: pip install 'bench[ray]' "
                         "(the same on every node of the cluster)")


def _reachable(address: str, timeout_s: float = 5.0) -> str | None:
    """For a HOST:PORT address, why it cannot be reached (Ray itself would retry for minutes); else None."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return None  # "auto", "local", ray://...: Ray resolves those itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as e:
        return e.strerror or type(e).__name__
    return None


def _no_cluster(address: str, why: str) -> BenchError:
    return BenchError(f"--ray {address}: cannot connect to a Ray cluster ({why}); start one with "
                      "`ray start --head` and pass its address, e.g. --ray 10.0.0.1:6379")


def connect(address: str) -> None:
    why = _reachable(address)
    if why:
        raise _no_cluster(address, why)
    import ray

    ours = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    try:
        ray.init(address=address, log_to_driver=False, logging_level="warning")
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise _no_cluster(address, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__) from None
    for sig, handler in ours.items():  # Ray's own SIGTERM handler would end the driver without recording
        if handler is not None:
            signal.signal(sig, handler)


def world_size(cfg) -> int:
    """GPUs one case's engine uses: tensor x pipeline parallel."""
    return (cfg.tensor_parallel_size or 1) * cfg.pipeline_parallel_size


def on_vllm_ray_backend(cfg) -> bool:
    """A GPU case whose vLLM workers are Ray actors placed across the cluster (its task asks Ray for no GPU)."""
    return cfg.engine == "vllm" and cfg.device != "cpu" and cfg.distributed_executor_backend == "ray"


def task_gpus(cfg, cluster_has_gpus: bool) -> int:
    """GPUs a case's task asks Ray for."""
    if cfg.engine not in gpu_engines() or cfg.device == "cpu" or cfg.distributed_executor_backend == "ray":
        return 0
    if cfg.device == "auto" and not cluster_has_gpus:
        return 0
    return world_size(cfg)


def cluster_shortfall(cases, largest_node_gpus: float, cluster_gpus: float) -> str | None:
    """Why the cluster cannot run these cases, or None. A case's own task must fit one node; a case on vLLM's Ray
    backend must fit the whole cluster (its workers spread over the nodes). Pure: `cases` have .cfg and .spec."""
    per_node = [f"#{c.spec.index} needs {g}" for c in cases if (g := task_gpus(c.cfg, largest_node_gpus > 0))
                > largest_node_gpus]
    spread = [f"#{c.spec.index} needs {world_size(c.cfg)}" for c in cases
              if on_vllm_ray_backend(c.cfg) and world_size(c.cfg) > cluster_gpus]
    problems = []
    if per_node:
        problems.append(f"no node of the Ray cluster has enough GPUs (largest: {largest_node_gpus:g}): "
                        + ", ".join(per_node) + "; lower tensor_parallel_size or use distributed_executor_backend: ray")
    if spread:
        problems.append(f"the Ray cluster has {cluster_gpus:g} GPUs in all: " + ", ".join(spread)
                        + " (distributed_executor_backend: ray); add GPU nodes (`ray start --address HEAD:6379`) "
                          "or lower tensor_parallel_size x pipeline_parallel_size")
    return "; ".join(problems) or None


def forwarded_env() -> dict[str, str]:
    """The driver's BENCH_* variables (BENCH_ENGINES, BENCH_CATALOG, ...) travel with every task."""
    return {k: v for k, v in os.environ.items() if k.startswith("BENCH_")}


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
    spec = dataclasses.replace(spec, load_path=relocate(spec.load_path, driver_root, str(REPO_ROOT)))
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        log_path = Path(tmp) / "case.log"
        ex = execute(spec, timeout_s, log_path)
        text = log_path.read_text(errors="replace")[-LOG_LIMIT_CHARS:] if log_path.exists() else ""
    return RemoteResult(ex, text)


def _node_gpus(ray) -> list[float]:
    return [n.get("Resources", {}).get("GPU", 0) for n in ray.nodes() if n.get("Alive")]


def _largest_node_gpus(ray) -> float:
    return max(_node_gpus(ray), default=0)


def open_cluster(address: str, cases) -> None:
    """Connect to the cluster and check that every case fits a node; BenchError (and disconnected) if not."""
    require()
    import ray

    connect(address)
    nodes = _node_gpus(ray)
    why = cluster_shortfall(cases, max(nodes, default=0), sum(nodes))
    if why:
        ray.shutdown()
        raise BenchError(why)


def run_cases(cases, out_csv: Path, progress, until=None) -> None:
    """On the cluster open_cluster connected to: submit the cases round by round (a round: every case's repeat of
    one repeat_index; a sweep without repeats is one round), record each row as its task finishes, and submit the
    next round when the last is recorded, without the repeats `until` (bench.execution.rounds.UntilCi) no longer
    wants. The repeats of a case share its spec, so one round at a time also keeps them apart on the queue.
    Ctrl-C/SIGTERM: running tasks are cancelled (their engines stopped), recorded as interrupted, and
    Interrupted is raised. Disconnects at the end."""
    import ray

    from bench.execution.rounds import by_round, still_wanted

    try:
        has_gpus = _largest_node_gpus(ray) > 0
        fan = _Fanout(ray, out_csv, progress, until)
        for batch in by_round(cases):
            for case in batch:
                if still_wanted(case, until):
                    fan.submit(case, task_gpus(case.cfg, has_gpus))
                else:
                    progress.left_out(case)
            try:
                fan.gather()
            except KeyboardInterrupt as e:
                fan.stop(e)
                raise Interrupted(signal_name(e)) from None
    finally:
        ray.shutdown()


class _Fanout:
    """The driver's state: tasks submitted, which have started (each task announces its start on a Ray
    queue), which rows are recorded."""

    def __init__(self, ray, out_csv: Path, progress, until=None):
        from ray.util.queue import Queue

        self.ray, self.out_csv, self.progress, self.until = ray, out_csv, progress, until
        self.starts = Queue(actor_options={"num_cpus": 0})
        self.task = ray.remote(run_on_node)
        self.case_of: dict = {}  # ref -> case
        self.prep_of: dict[int, object] = {}  # case number -> PreparedCase
        self.running: dict[int, tuple[float, str]] = {}  # case number -> (time.time() it started, host)
        self.unrecorded: list = []  # refs whose row is not written yet

    def submit(self, case, gpus: int) -> None:
        prep = prepare_case(case.cfg, case.model, self.out_csv, check_engine_here=False)
        self.prep_of[case.spec.index] = prep
        ref = self.task.options(num_cpus=1, num_gpus=gpus, max_retries=0,
                                runtime_env={"env_vars": forwarded_env()}).remote(
            prep.spec, case.cfg.timeout_s, str(REPO_ROOT), case.spec.index, self.starts)
        # the task holds its own copy of the requests (Ray serialised its arguments): the driver keeps only their
        # columns, so a campaign's requests are not all held here at once
        prep.spec = dataclasses.replace(prep.spec, workload=None)
        self.case_of[ref] = case
        self.unrecorded.append(ref)

    def note_starts(self) -> None:
        from ray.util.queue import Empty

        while True:
            try:
                index, host, t = self.starts.get_nowait()
            except Empty:
                return
            self.running[index] = (t, host)
            self.prep_of[index].when = dt.datetime.fromtimestamp(t, dt.timezone.utc)
            self.progress.started(next(c for c in self.case_of.values() if c.spec.index == index))

    def gather(self) -> None:
        while self.unrecorded:
            done, _ = self.ray.wait(self.unrecorded, num_returns=1, timeout=POLL_S)
            self.note_starts()
            for ref in done:
                case = self.case_of[ref]
                self.record(ref, *_gather(self.ray, ref, self.running.get(case.spec.index, (None, ""))[0]))

    def record(self, ref, ex: Execution, log_text: str | None = None) -> None:
        case = self.case_of[ref]
        if ex.out.get("status") == "bad_input":  # input only the engine could judge: a failed row, as locally
            ex.out = {**ex.out, "status": "failed"}
        outcome = record_case(self.prep_of[case.spec.index], ex, self.out_csv, log_text=log_text)
        self.unrecorded.remove(ref)
        self.running.pop(case.spec.index, None)
        if self.until is not None:
            self.until.add(case.key, outcome.row)
        self.progress.finished(case, outcome.row, ex.wall_s)

    def stop(self, exc: BaseException) -> None:
        """Cancel every unfinished task (a running one gets KeyboardInterrupt: its engine is killed) and
        record the ones that had started as interrupted; the others have no row and --resume runs them."""
        left = list(self.unrecorded)
        for ref in left:
            self.ray.cancel(ref)
        ready, _ = self.ray.wait(left, num_returns=len(left), timeout=KILL_GRACE_S + 5)
        self.note_starts()
        for ref in left:
            index = self.case_of[ref].spec.index
            if ref in ready:
                try:  # it finished before the cancel reached it: its real row
                    result = self.ray.get(ref)
                    self.record(ref, result.execution, result.log_text)
                    continue
                except self.ray.exceptions.RayError:
                    pass
            if index in self.running:
                t, host = self.running[index]
                self.record(ref, interrupted_execution(exc, t, env={"hostname": host}))


def _gather(ray, ref, started_at: float | None) -> tuple[Execution, str | None]:
    try:
        result = ray.get(ref)
        return result.execution, result.log_text
    except ray.exceptions.RayError as e:  # the task's worker or node died: a failed row, not a crashed sweep
        text = " ".join(str(e).split())[:500]
        wall = time.time() - started_at if started_at else 0.0
        return Execution(out={"status": "failed", "error": f"Ray task failed: {type(e).__name__}: {text}"},
                         env={}, wall_s=wall, spawned_at=started_at or time.time()), None
