"""One measured case in its own process: `python -m bench.execution.worker SPEC.json OUT.json`.

The parent never imports vllm or torch. It writes the case's EngineSpec as JSON (the resolved RunConfig and the
requests it built); this process validates the config back into a RunConfig, builds the engine, warms it up, times
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

from bench.config.engines import engine_version, is_predicted
from bench.config.run import RunConfig
from bench.engines import load_engine
from bench.engines.base import EngineSpec
from bench.core.errors import BenchError
from bench.execution.forensics import looks_like_oom
from bench.measure.hostload import HostLoad
from bench.measure.metrics import compute_metrics
from bench.measure.telemetry import PeakMemorySampler, join_notes, start_gpu_telemetry
from bench.workload import source


def classify(exc: BaseException) -> str:
    if isinstance(exc, BenchError):
        return "bad_input"
    return "oom" if looks_like_oom(f"{type(exc).__name__}: {exc}") else "failed"


WARMUP_OUTPUT_LEN = 8  # output tokens per warm-up request (at most: output_len when shorter)


def case_requests(spec: EngineSpec) -> tuple[list, list]:
    """The timed requests and the warm-up batch of a case (the bare-generate baseline uses the same).

    The timed requests are the spec's workload, built once by the parent (the row describes exactly them).
    Warm-up: one batch of the real shape (other seed), short outputs: compiles kernels, fills allocators.
    """
    work, run = spec.workload, spec.run
    if work is None:
        raise ValueError("the case's spec carries no workload (bench.execution.case.engine_spec builds it)")
    n = min(len(work.requests), run.max_num_seqs or len(work.requests))
    warmup = source.warmup(run.seed, spec.model_config, work, n, min(run.output_len, WARMUP_OUTPUT_LEN))
    return work.requests, warmup


def gpu_count(run: RunConfig) -> int:
    """GPUs one case uses: tensor x pipeline parallel size."""
    return (run.tensor_parallel_size or 1) * run.pipeline_parallel_size


# Why a GPU case on vLLM's Ray backend has no GPU memory or energy figures.
RAY_BACKEND_NOTE = ("vLLM's Ray backend runs the model in Ray actors on the cluster's GPUs, which this process "
                    "does not see: GPU memory and energy not measured")


def sampled_device(device: str, run: RunConfig) -> tuple[str, str]:
    """The device whose memory and energy this process samples, and why it samples none. A case on vLLM's Ray
    backend samples nothing: its workers are Ray actors, on this node's GPUs or another's."""
    if device == "cuda" and run.distributed_executor_backend == "ray":
        return "none", RAY_BACKEND_NOTE
    return device, ""


def note_phase(phase: str, **info) -> None:
    """Append {"phase", "t" (time.time()), **info} to the file the parent watches (BENCH_PROGRESS_FILE; none: no-op).
    Written between the timed parts, never during them."""
    path = os.environ.get("BENCH_PROGRESS_FILE")
    if not path:
        return
    try:
        with open(path, "a") as f:
            f.write(json.dumps({"phase": phase, "t": time.time(), **info}) + "\n")
    except OSError:
        pass


def expected_generate_s(warmup_s: float, warmup_out_tokens: int, output_len: int, num_prompts: int,
                        batch: int | None, warmup_prefill_s: float | None = None,
                        warmup_decode_s: float | None = None) -> float | None:
    """The timed generate's duration foreseen from the warm-up (one wave of the real shape: min(num_prompts,
    batch) prompts, `warmup_out_tokens` outputs each), over waves = ceil(num_prompts / batch) waves.

    Where the engine split the warm-up into its prefill and decode steps (vLLM: per-step token counts), a wave is
    its prefill plus output_len - 1 decode steps at the warm-up's seconds per decode step:
        waves x (prefill_s + decode_s x (output_len - 1) / (warmup_out_tokens - 1))
    else the whole warm-up scaled by the outputs, an upper bound (the prefill counted again for every
    warm-up-length block of outputs): waves x warmup_s x output_len / warmup_out_tokens.
    None without a warm-up."""
    if warmup_s <= 0 or warmup_out_tokens <= 0:
        return None
    per_wave = min(num_prompts, batch or num_prompts)
    waves = -(-num_prompts // per_wave)
    if warmup_prefill_s is not None and warmup_decode_s is not None and warmup_out_tokens > 1:
        return waves * (warmup_prefill_s + warmup_decode_s * (output_len - 1) / (warmup_out_tokens - 1))
    return waves * warmup_s * output_len / warmup_out_tokens


def run_case(spec: EngineSpec) -> dict:
    run = spec.run
    requests, warmup = case_requests(spec)
    note_phase("engine import")
    t0 = time.perf_counter()
    engine = load_engine(run.engine)(spec)
    engine.check()
    engine_check_s = time.perf_counter() - t0  # importing the engine's packages (vllm, torch) and its checks
    device = getattr(engine, "device", None) or "cpu"
    sampled, skip_note = sampled_device(device, run)
    telemetry_on = os.environ.get("BENCH_TELEMETRY", "on") != "off"  # off: scripts/bench_overhead.py's control
    sampler = PeakMemorySampler(sampled, gpu_count=gpu_count(run),
                                cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
    if telemetry_on:
        sampler.start()  # else peak memory is the one sample taken at stop()
    try:
        note_phase("engine start")
        t0 = time.perf_counter()
        engine.start()
        engine_start_s = time.perf_counter() - t0
        warmup_s = 0.0
        if run.warmup:
            note_phase("warm-up")
            t0 = time.perf_counter()
            engine.generate(warmup)
            warmup_s = time.perf_counter() - t0
        split = getattr(engine, "split", None) or {}  # the warm-up's prefill/decode seconds, where measured
        note_phase("timed run", expected_s=expected_generate_s(
            warmup_s, min(run.output_len, WARMUP_OUTPUT_LEN), run.output_len, run.num_prompts, run.max_num_seqs,
            split.get("prefill_s"), split.get("decode_s")))
        gpu_telemetry, telemetry_note = (start_gpu_telemetry(sampled, gpu_count(run)) if telemetry_on
                                         else (None, "telemetry off (BENCH_TELEMETRY=off)"))
        host = HostLoad().start() if not is_predicted(run.engine) else None
        try:
            t0 = time.perf_counter()
            results, elapsed_s = engine.generate(requests)
            generate_wall_s = time.perf_counter() - t0  # = elapsed_s for a real engine; the sim's own compute
            host_load = host.stop() if host is not None else {}
        finally:
            telemetry = gpu_telemetry.stop().to_dict() if gpu_telemetry else None
            telemetry_cpu_s = gpu_telemetry.cpu_s if gpu_telemetry else 0.0
        kv = engine.kv_cache_info()
        info = engine.info()
    finally:
        peak = sampler.stop()
    engine.stop()
    peak_source = sampler.source if peak is not None else ""
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
        "peak_memory_per_gpu_bytes": sampler.per_gpu_peak_bytes if sampled == "cuda" else [],
        "engine_start_s": engine_start_s,
        "warmup_s": warmup_s,
        "telemetry": telemetry,
        "telemetry_note": join_notes(*dict.fromkeys([skip_note, sampler.note, telemetry_note,
                                                      (telemetry or {}).get("note", ""),
                                                      (telemetry or {}).get("error", "")])),
        "generate_wall_s": generate_wall_s,
        "host_load": host_load,
        # the samplers' threads' CPU seconds, start to stop (scripts/bench_overhead.py: telemetry's share)
        "telemetry_cpu_s": sampler.cpu_s + telemetry_cpu_s,
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


def failure(exc: BaseException) -> dict:
    """An exception of the case as data: the parent decides what it means."""
    return {"status": classify(exc), "error": f"{type(exc).__name__}: {exc}" if not isinstance(exc, BenchError)
            else str(exc), "traceback": traceback.format_exc()}


def main(argv: list[str]) -> int:
    started_at = time.time()
    stop_group_on_sigterm()
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    spec = None
    try:
        spec = EngineSpec.from_json(spec_path.read_text())  # the RunConfig validated again here
        out = run_case(spec)
    except BaseException as exc:  # reported as data; the parent decides what it means
        out = failure(exc)
    out = finish(out, spec, started_at)
    tmp = out_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, default=str))
    os.replace(tmp, out_path)
    return 0


def finish(out: dict, spec: EngineSpec | None, started_at: float) -> dict:
    """What every case's result carries besides its engine's: the engine's version, the GPUs' environment, the
    worker's start and end (bench.execution.case.timings)."""
    # the engine's version even when it failed before reporting its info (the row records it always)
    out.setdefault("engine_version", (out.get("engine_info") or {}).get("engine_version")
                   or (engine_version(spec.run.engine) if spec else "unknown"))
    out["gpu_env"] = {}
    device = (out.get("engine_info") or {}).get("device") or (spec.run.device if spec else None)
    if device == "cuda" or (device == "auto" and "torch" in sys.modules):  # a GPU case, or one that failed early
        from bench.measure.environment import gpu_env

        out["gpu_env"] = gpu_env()  # NVML, each fact on its own; never raises, never opens a CUDA context
    out["worker_started_at"], out["worker_finished_at"] = started_at, time.time()
    return out


class CaseTimeout(BaseException):
    """The case's --timeout passed while it ran in this process (a BaseException: no engine code swallows it)."""


def runs_here(spec: EngineSpec) -> bool:
    """Whether the case runs in the calling process rather than a worker of its own: a predicted engine's case
    (the sim: arithmetic, no engine to isolate, no GPU to free) where a timer can bound it (the main thread of a
    process that is not a Ray worker). A process per case cost a predicted case 1.5-2.7 s of start-up and imports,
    about 20x its own arithmetic (the demo's 27 predicted cases: 51 s on 2 cores, 2026-12-06)."""
    import threading

    from bench.config.engines import is_predicted

    return (is_predicted(spec.run.engine) and hasattr(signal, "setitimer") and "ray" not in sys.modules
            and threading.current_thread() is threading.main_thread())


def run_here(spec: EngineSpec, timeout_s: float | None) -> dict:
    """The worker's result for `spec`, computed in this process (runs_here): the same validation of the spec (it
    goes through JSON as it would to a worker), the same result dict, failures as data; SIGINT/SIGTERM propagate
    as they do from a worker's wait. The timeout is a timer (SIGALRM) that stops the case where it is."""
    started_at = time.time()
    spec = EngineSpec.from_json(spec.to_json())

    def on_alarm(signum, frame):
        raise CaseTimeout

    timed = timeout_s is not None and 0 < timeout_s < float("inf")
    previous = signal.signal(signal.SIGALRM, on_alarm) if timed else None
    try:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
        out = run_case(spec)
    except CaseTimeout:
        return {"status": "timeout", "error": f"case exceeded its timeout of {timeout_s:g} s"}
    except Exception as exc:
        out = failure(exc)
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return finish(out, spec, started_at)


def exit_now(code: int) -> None:
    """End the worker once its result file is in place, skipping the interpreter's teardown.

    After the engine has stopped, the worker has nothing left to do but unload what it imported: vLLM, torch,
    transformers and their atexit hooks took 2.5-3 s a case on 2 cores (timings.process_exit_s), time in which the
    next case cannot start. Whatever the engine left running shares this process group, which the parent takes
    down after the worker exits (bench.execution.process.kill_group), as it does after a timeout."""
    import logging

    logging.shutdown()  # the engine's log lines reach the case's log file
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
