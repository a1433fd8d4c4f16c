"""A test engine that fails on purpose, plugged in through BENCH_ENGINES (see `fault_env` in
tests/e2e/test_sweep_faults.py). Its behaviour is its registered name:

    fault-ok      deterministic results after BENCH_FAULT_SLEEP_S seconds (default 0)
    fault-hang    starts a grandchild process (pid written to BENCH_FAULT_PIDFILE), then never returns
    fault-die     the engine process kills itself with SIGKILL
    fault-oom     raises CUDA's out-of-memory error
    fault-reject  rejects the case as bad input (what vLLM's engine does for an unknown architecture)

No vllm, no torch: a case costs one Python process start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench.engines.base import EngineSpec, KVCacheInfo
from bench.core.errors import BenchError
from bench.measure.metrics import RequestResult

NAMES = ("fault-ok", "fault-hang", "fault-die", "fault-oom", "fault-reject")
BENCH_ENGINES = ",".join(f"{n}=fault_engine:FaultEngine" for n in NAMES)


class FaultEngine:
    device = "cpu"

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.run = spec.run
        self.name = self.run.engine

    def check(self) -> None:
        if self.name == "fault-reject":
            arch = self.spec.model_config["architectures"][0]
            raise BenchError(f"architecture {arch} is not supported by the fault engine")

    def start(self) -> None:
        if self.name == "fault-die":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.name == "fault-oom":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if self.name == "fault-hang":
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            pidfile = os.environ.get("BENCH_FAULT_PIDFILE")
            if pidfile:
                with open(pidfile, "w") as f:
                    f.write(f"{os.getpid()} {child.pid}\n")
            while True:
                time.sleep(1)

    def generate(self, requests):
        t0 = time.perf_counter()
        time.sleep(float(os.environ.get("BENCH_FAULT_SLEEP_S", "0")))
        out = [RequestResult(prompt_len=r.prompt_len, output_len=r.output_len, ttft_s=0.01, tpot_s=0.001,
                             e2e_s=0.01 + 0.001 * (r.output_len - 1)) for r in requests]
        return out, max(time.perf_counter() - t0, 1e-3)

    def kv_cache_info(self) -> KVCacheInfo:
        return KVCacheInfo(block_size=16, num_blocks=64, capacity_tokens=1024, allocated_bytes=1024 * 2048)

    def info(self) -> dict:
        return {"device": "cpu", "max_num_seqs": self.run.max_num_seqs or 4}

    def stop(self) -> None:
        pass


def plug_in(monkeypatch, tmp_path, name: str, module: str, text: str, cls: str) -> None:
    """Another plugin engine, the module `text` written to tmp_path: importable here (the parent's checks) and in
    the worker's process, registered as `name` through BENCH_ENGINES."""
    from pathlib import Path

    (tmp_path / f"{module}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    repo = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), repo,
                                                                   os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("BENCH_ENGINES", f"{name}={module}:{cls}")
