"""Whether a deployment holds a model and one sequence of a context, and if not, what would. Pure.

A setup fits when the weights leave room for a KV cache (Deployment.fits) and that cache holds one sequence of
the context (max_batch >= 1). What would fit is tried in the order a user would reach for it, each a single
change from the setup: more tensor parallelism (2, 4, 8 GPUs), fp8 or int4 weights, an fp8 KV cache.
"""

from __future__ import annotations

from dataclasses import replace

from bench.roofline.bound import Deployment

MAX_TP = 8  # one server


def fits_context(dep: Deployment, context_len: int) -> bool:
    return dep.fits and dep.max_batch(context_len) >= 1


def why_not(dep: Deployment, context_len: int) -> str:
    """'' when it fits; else which of the two does not: the weights, or one sequence's KV."""
    gib = 2**30
    room = dep.gpu_memory_utilization * dep.gpu.memory_bytes / gib
    if not dep.fits:
        return (f"the weights ({dep.weight_bytes_per_gpu / gib:,.1f} GiB per GPU) leave no KV cache in "
                f"{room:,.1f} GiB ({dep.gpu.name} x{dep.tp} at gpu_memory_utilization {dep.gpu_memory_utilization})")
    if dep.max_batch(context_len) < 1:
        return (f"one sequence of {context_len:,} tokens needs {dep.kv_bytes_per_sequence(context_len) / gib:,.2f} GiB "
                f"of KV; the cache holds {dep.kv_capacity_tokens:,} tokens")
    return ""


def suggestions(dep: Deployment, context_len: int) -> list[str]:
    """Single changes that make the setup fit, each with the sequences of `context_len` it would hold."""
    out = []
    tp = dep.tp * 2
    while tp <= MAX_TP:
        d = replace(dep, tensor_parallel_size=tp)
        if fits_context(d, context_len):
            out.append(f"-tp {tp} ({d.max_batch(context_len):,} sequences)")
            break
        tp *= 2
    for w in ("fp8", "int4"):
        if dep.weight_dtype != w:
            d = replace(dep, weight_dtype=w)
            if fits_context(d, context_len):
                out.append(f"--weight-dtype {w} ({d.max_batch(context_len):,} sequences)")
    if not dep.kv_cache_dtype.startswith("fp8"):
        d = replace(dep, kv_cache_dtype="fp8")
        if fits_context(d, context_len):
            out.append(f"--kv-cache-dtype fp8 ({d.max_batch(context_len):,} sequences)")
    return out
