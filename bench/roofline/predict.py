"""Roofline predictions for a run: shared by the sim engine and the efficiency columns of real rows.

Turns what a run was (a RunConfig as a dict, the model's config.json, a hardware name) into a
bench.roofline.bound.Deployment and predicts the same requests on it, with vLLM's scheduler limits.
"""

from __future__ import annotations

from bench.config import hardware

from bench.roofline import bound as roofline
from bench.roofline.batchsim import SimError
from bench.config.catalog import _dtype_of
from bench.errors import BenchError
from bench.roofline.bound import Deployment, GpuSpec, WorkloadPrediction


def gpu_for(name: str) -> GpuSpec | None:
    """The roofline's view of a hardware.yaml entry (BenchError if unknown; None without the figures)."""
    canonical = hardware.canonical_name(name)
    return roofline.gpu_spec(canonical, hardware.get_hardware(canonical))


def require_gpu(name: str) -> GpuSpec:
    """gpu_for, or one line saying why this entry has no roofline."""
    gpu = gpu_for(name)
    if gpu is None:
        raise BenchError(f"no roofline for hardware '{name}': it is not a GPU entry with memory, bandwidth and "
                         "bf16 figures in hardware.yaml (no CPU roofline is defined)")
    return gpu


def model_dtype(run: dict, model_config: dict) -> str:
    dtype = run.get("dtype") or "auto"
    return _dtype_of(model_config) if dtype == "auto" else dtype


def deployment(run: dict, model_config: dict, gpu: GpuSpec) -> Deployment:
    dtype = model_dtype(run, model_config)
    given = {k: run[k] for k in ("kv_cache_dtype", "gpu_memory_utilization") if run.get(k)}  # else RunConfig's
    return Deployment(cfg=model_config, gpu=gpu, tensor_parallel_size=run.get("tensor_parallel_size") or 1,
                      weight_dtype=dtype, model_dtype=dtype, **given)


def vllm_default_limits(gpu: GpuSpec) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) that vLLM's offline LLM picks for this card (vLLM 0.32
    EngineArgs: 1024 / 16384 on cards of 70 GiB or more except A100s, else 256 / 8192)."""
    big = gpu.memory_bytes >= 160 * 2**30 or (gpu.memory_bytes >= 70 * 2**30 and "a100" not in gpu.name.lower())
    return (1024, 16384) if big else (256, 8192)


def predict_lengths(dep: Deployment, lengths: list[tuple[int, int]], max_num_seqs: int | None = None,
                    max_num_batched_tokens: int | None = None) -> WorkloadPrediction:
    seqs, tokens = vllm_default_limits(dep.gpu)
    return roofline.predict_workload(dep, lengths, max_num_seqs or seqs, max_num_batched_tokens or tokens)


def roofline_columns(run: dict, model_config: dict, device: str, device_name: str | None, out: dict) -> dict:
    """`roofline_output_tok_s` and `efficiency` (measured / roofline) for a finished case.

    Filled when the GPU is known: `--hardware`, or the card NVML named; the sim engine's own rows
    (efficiency 1 by construction). Empty on CPU rows: no CPU roofline is defined here.
    """
    empty = {"roofline_output_tok_s": None, "efficiency": None}
    measured = (out.get("metrics") or {}).get("output_tok_s")
    requests = out.get("requests") or []
    if out.get("status") != "ok" or not measured or not requests or device not in ("cuda", "sim"):
        return empty
    name = run.get("hardware") or hardware.from_device_name(device_name)
    if not name:
        return empty
    gpu = gpu_for(name)
    if gpu is None:
        return empty
    info = out.get("engine_info") or {}
    try:
        pred = predict_lengths(deployment(run, model_config, gpu),
                               [(r["prompt_len"], r["output_len"]) for r in requests],
                               info.get("max_num_seqs") or run.get("max_num_seqs"), info.get("max_num_batched_tokens"))
    except SimError:  # the analytic KV cache cannot hold a request the engine ran: no honest bound
        return empty
    return {"roofline_output_tok_s": pred.output_tok_s, "efficiency": measured / pred.output_tok_s}
