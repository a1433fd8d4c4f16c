"""One measured case in its own process: `python -m bench.execution.worker SPEC.json OUT.json`.

The parent never imports vllm or torch. This process builds the engine, warms it up, times
`generate` (GPU power and energy sampled around it, and only it), reads the KV-cache allocation
and peak memory, and writes one JSON result.
Failures come back as data: status bad_input / oom / failed with the error and traceback.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from bench.engines import engine_version, load_engine
from bench.engines.base import EngineSpec
from bench.errors import BenchError
from bench.execution.forensics import looks_like_oom
from bench.measure.metrics import compute_metrics
from bench.measure.telemetry import PeakMemorySampler, start_gpu_telemetry
from bench.workload import source


def classify(exc: BaseException) -> str:
    if isinstance(exc, BenchError):
        return "bad_input"
    return "oom" if looks_like_oom(f"{type(exc).__name__}: {exc}") else "failed"


def case_requests(spec: EngineSpec) -> tuple[list, list]:
    """The timed requests and the warm-up batch of a case (the bare-generate baseline uses the same).

    Warm-up: one batch of the real shape (other seed), short outputs: compiles kernels, fills allocators.
    """
    run, cfg = spec.run, spec.model_config
    work = source.build(run, cfg)  # --dataset: the same requests the parent checked and described in the row
    n = min(len(work.requests), run["max_num_seqs"] or len(work.requests))
    warmup = source.warmup(run, cfg, work, n, min(run["output_len"], 8))
    return work.requests, warmup


def gpu_count(run: dict) -> int:
    """GPUs one case uses: tensor x pipeline parallel size."""
    return (run.get("tensor_parallel_size") or 1) * (run.get("pipeline_parallel_size") or 1)


def run_case(spec: EngineSpec) -> dict:
    run = spec.run
    requests, warmup = case_requests(spec)
    t0 = time.perf_counter()
    engine = load_engine(run["engine"])(spec)
    engine.check()
    engine_check_s = time.perf_counter() - t0  # importing the engine's packages (vllm, torch) and its checks
    device = getattr(engine, "device", None) or "cpu"
    sampler = PeakMemorySampler(device).start()
    try:
        t0 = time.perf_counter()
        engine.start()
        engine_start_s = time.perf_counter() - t0
        warmup_s = 0.0
        if run["warmup"]:
            t0 = time.perf_counter()
            engine.generate(warmup)
            warmup_s = time.perf_counter() - t0
        gpu_telemetry, telemetry_note = start_gpu_telemetry(device, gpu_count(run))
        try:
            t0 = time.perf_counter()
            results, elapsed_s = engine.generate(requests)
            generate_wall_s = time.perf_counter() - t0  # = elapsed_s for a real engine; the sim's own compute
        finally:
            telemetry = gpu_telemetry.stop().to_dict() if gpu_telemetry else None
        kv = engine.kv_cache_info()
        info = engine.info()
    finally:
        peak = sampler.stop()
    engine.stop()
    peak_source = sampler.source
    if info.get("predicted_peak_memory_bytes") is not None:  # the sim engine: what the GPUs would hold
        peak, peak_source = info.pop("predicted_peak_memory_bytes"), "predicted"
    metrics = compute_metrics(results, elapsed_s)
    return {
        "status": "ok",
        "error": "",
        "metrics": metrics.to_dict(),
        "kv": kv.to_dict(),
        "engine_info": info,
        "peak_memory_bytes": peak,
        "peak_memory_source": peak_source,
        "engine_start_s": engine_start_s,
        "warmup_s": warmup_s,
        "telemetry": telemetry,
        "telemetry_note": telemetry_note or (telemetry or {}).get("error", ""),
        "generate_wall_s": generate_wall_s,
        "engine_check_s": engine_check_s,
        "requests": [r.to_dict() for r in results],
    }


def stop_group_on_sigterm() -> None:
    """SIGTERM (a timeout, Ctrl-C in the sweep, or the sweep's death) takes the engine's own child
    processes down too: they share this process group, of which the worker is the leader."""
    if os.getpgrp() != os.getpid():  # run by hand inside someone else's group: leave that group alone
        return

    def on_term(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.killpg(os.getpgrp(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)


def main(argv: list[str]) -> int:
    started_at = time.time()
    stop_group_on_sigterm()
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    spec = EngineSpec(**json.loads(spec_path.read_text()))
    try:
        out = run_case(spec)
    except BaseException as exc:  # reported as data; the parent decides what it means
        out = {"status": classify(exc), "error": f"{type(exc).__name__}: {exc}" if not isinstance(exc, BenchError)
               else str(exc), "traceback": traceback.format_exc()}
    # the engine's version even when it failed before reporting its info (the row records it always)
    out.setdefault("engine_version", (out.get("engine_info") or {}).get("engine_version")
                   or engine_version(spec.run["engine"]))
    out["gpu_env"] = {}
    if "torch" in sys.modules:  # a GPU engine has loaded torch; other engines never pay for importing it
        try:
            from bench.measure.environment import gpu_env

            out["gpu_env"] = gpu_env()
        except Exception:
            pass
    out["worker_started_at"], out["worker_finished_at"] = started_at, time.time()
    tmp = out_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, default=str))
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
