"""Child processes that must not outlive bench: the case worker (and vLLM's server, bench/serve/server.py).

Each child leads its own process group, so stopping it reaches the engine's own children; on Linux it
also gets SIGTERM should bench die without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.engines.base import EngineSpec, engine_env
from bench.execution.forensics import log_tail

KILL_GRACE_S = 10.0


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the child's whole process group, give it KILL_GRACE_S to shut down, then SIGKILL
    whatever is left. The group outlives its leader: vLLM's engine core and workers may still be
    tearing down (or hung) after the worker process itself has exited."""
    pgid = proc.pid  # the child leads its own group (start_new_session=True, or own_group_dying_with_parent)
    if not group_alive(pgid):
        proc.poll()
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + KILL_GRACE_S
    while time.monotonic() < deadline:
        proc.poll()
        if not group_alive(pgid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if bench dies (even by kill -9); it then stops its engine."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def own_group_dying_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child leads a process group of its own (kill_group reaches its children) in the caller's session, and
    dies with bench (die_with_parent). Unlike start_new_session, the session stays the caller's: Linux schedules CPU
    time by session (autogroup) where that is on, and a process that does not want a share of its own next to
    bench's, vLLM's server measured by bench's client (bench.serve.server), keeps bench's."""
    os.setpgid(0, 0)
    die_with_parent()


def signame(num: int) -> str:
    """`SIGKILL (9)` for 9; the bare number for one that names no signal."""
    try:
        return f"{signal.Signals(num).name} ({num})"
    except ValueError:
        return str(num)


WATCH_INTERVAL_S = 0.5  # how often `watch` reads the worker's progress file: two reads of a tiny file a second


def wait_watching(proc: subprocess.Popen, timeout_s: float, watch, progress_file: Path) -> int:
    """proc.wait(timeout_s), calling watch(progress_file) every WATCH_INTERVAL_S meanwhile (no watch: one wait)."""
    if watch is None:
        return proc.wait(timeout=timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(proc.args, timeout_s)
        try:
            return proc.wait(timeout=min(WATCH_INTERVAL_S, left))
        except subprocess.TimeoutExpired:
            watch(progress_file)


def spawn_worker(spec: EngineSpec, timeout_s: float, log_path: Path | None, verbose: bool = False,
                 watch=None) -> dict:
    """Run bench.execution.worker on the spec; always returns a dict with at least status and error.
    `watch(path)`: called twice a second while it runs with the file where the worker notes its phases
    (bench.execution.worker.note_phase; bench.display.progress reads it)."""
    env = engine_env(os.environ, spec.run.weights)
    with tempfile.TemporaryDirectory(prefix="bench-case-") as tmp:
        spec_file, out_file = Path(tmp, "spec.json"), Path(tmp, "out.json")
        env["BENCH_PROGRESS_FILE"] = str(Path(tmp, "progress.jsonl"))
        spec_file.write_text(spec.to_json())  # the worker validates its RunConfig again
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        log = None if verbose or log_path is None else open(log_path, "wb")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.execution.worker", str(spec_file), str(out_file)],
                stdout=log, stderr=subprocess.STDOUT if log else None, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,  # its own process group: we can stop the engine's children too
                preexec_fn=die_with_parent,
            )
            try:
                rc = wait_watching(proc, timeout_s, watch, Path(env["BENCH_PROGRESS_FILE"]))
            except subprocess.TimeoutExpired:
                kill_group(proc)
                return {"status": "timeout", "error": f"case exceeded its timeout of {timeout_s:g} s"}
            except BaseException:  # Ctrl-C: take the engine down with us
                kill_group(proc)
                raise
            kill_group(proc)  # stray engine children, if any
        finally:
            if log:
                log.close()
        if out_file.exists():
            return json.loads(out_file.read_text())
        how = f"killed by signal {signame(-rc)}" if rc < 0 else f"exit code {rc}"
        tail = log_tail(log_path)
        return {"status": "failed", "error": f"engine process died ({how}) without a result" + (f": {tail}" if tail else "")}
