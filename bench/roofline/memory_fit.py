"""Whether a deployment holds a model and one sequence of a context, and if not, what would. Pure.

A setup fits when the weights leave room for a KV cache (Deployment.fits) and that cache holds one sequence of
the context (max_batch >= 1). What would fit is tried in the order a user would reach for it, each a single
change from the setup: more tensor parallelism (2, 4, 8 GPUs), fp8 or int4 weights, an fp8 KV cache. Where no
single change does, the first pair of them that does (more TP with a smaller weight or KV format); where no pair
does either, how many of these GPUs the weights alone need: more than one server of 8, pipeline parallelism across
servers (which bench does not predict).
"""

from __future__ import annotations

import math
from dataclasses import replace

from bench.roofline.bound import Deployment

MAX_TP = 8  # one server
# How each weight format is asked for: `bench explain --weight-dtype` names the format; `bench run` (and so the sim's
# rows) asks vLLM for a quantization that loads it (bench.roofline.predict.QUANTIZATION_WEIGHTS).
EXPLAIN_WEIGHTS = {"fp8": "--weight-dtype fp8", "int4": "--weight-dtype int4"}
RUN_WEIGHTS = {"fp8": "--quantization fp8", "int4": "--quantization awq (or gptq: int4)"}


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


def suggestions(dep: Deployment, context_len: int, weights: dict[str, str] = EXPLAIN_WEIGHTS) -> list[str]:
    """Single changes that make the setup fit, each with the sequences of `context_len` it would hold; else the
    first pair that does; else the servers the weights alone need (one entry, see the module doc). `weights`: how
    the command asks for each weight format (EXPLAIN_WEIGHTS, RUN_WEIGHTS)."""
    out = _single_changes(dep, context_len, weights)
    return out or _paired_change(dep, context_len, weights) or [_servers_needed(dep)]


def _formats(dep: Deployment, weights: dict[str, str]) -> list[tuple[str, dict]]:
    """The smaller weight and KV formats to try, as (flag, Deployment fields)."""
    out = [(weights[w], {"weight_dtype": w}) for w in ("fp8", "int4") if dep.weight_dtype != w]
    if not dep.kv_cache_dtype.startswith("fp8"):
        out.append(("--kv-cache-dtype fp8", {"kv_cache_dtype": "fp8"}))
    return out


def _paired_change(dep: Deployment, context_len: int, weights: dict[str, str]) -> list[str]:
    tp = dep.tp * 2
    while tp <= MAX_TP:
        for flag, fields in _formats(dep, weights):
            d = replace(dep, tensor_parallel_size=tp, **fields)
            if fits_context(d, context_len):
                return [f"-tp {tp} {flag} ({d.max_batch(context_len):,} sequences)"]
        tp *= 2
    return []


def _servers_needed(dep: Deployment) -> str:
    """What is left when no pair fits on one server: the GPUs the weights alone fill in int4 (the smallest format
    tried), and the servers of MAX_TP that leave room for a KV cache beside them; or, when int4 weights do fit one
    server, that the context is too long for it."""
    small = replace(dep, weight_dtype="int4", tensor_parallel_size=1)
    weights = small.weight_bytes_per_gpu
    gpus = math.ceil(weights / (dep.gpu_memory_utilization * dep.gpu.memory_bytes))
    if gpus <= MAX_TP:
        return f"a shorter --context, or a larger card (nothing on one server of {MAX_TP} x {dep.gpu.name} holds it)"
    return (f"more than one server: even in int4 the weights ({weights / 2**30:,.1f} GiB) fill {gpus} x "
            f"{dep.gpu.name} before any KV cache; -tp {MAX_TP} --pipeline-parallel-size {gpus // MAX_TP + 1} "
            "across servers (bench does not predict pipeline parallelism), or a larger card")


def _single_changes(dep: Deployment, context_len: int, weights: dict[str, str]) -> list[str]:
    out = []
    tp = dep.tp * 2
    while tp <= MAX_TP:
        d = replace(dep, tensor_parallel_size=tp)
        if fits_context(d, context_len):
            out.append(f"-tp {tp} ({d.max_batch(context_len):,} sequences)")
            break
        tp *= 2
    for flag, fields in _formats(dep, weights):
        d = replace(dep, **fields)
        if fits_context(d, context_len):
            out.append(f"{flag} ({d.max_batch(context_len):,} sequences)")
    return out
