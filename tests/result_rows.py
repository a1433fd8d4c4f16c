"""Realistic results rows for the compare and report tests, built without any engine.

Throughput follows a decode step bound by memory or compute, whichever is slower: (active weight
bytes + batch x context x KV bytes per token) / bandwidth, or 2 x active params x batch / bf16
FLOPS, both at the given efficiency, so the numbers move with model, batch and GPU the way
measured ones do. Rows whose columns are all in bench.results.store.COLUMNS are written with
append_row; rows with columns of later issues (efficiency, energy, serving load) are written with
those columns appended, as a later bench would.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from bench.results import store as results
# name: (active weight GB, KV bytes per token at bf16, architecture)
MODELS = {
    "qwen2.5-7b-instruct": (15.2, 57344, "Qwen2ForCausalLM"),
    "deepseek-v2-lite-chat": (4.8, 31104, "DeepseekV2ForCausalLM"),
    "glm-4-9b-chat": (18.8, 40960, "GlmForCausalLM"),
    "qwen2.5-0.5b-instruct": (0.99, 12288, "Qwen2ForCausalLM"),
}
# name: (memory bandwidth bytes/s, dense bf16 FLOPS, device name as NVML or /proc/cpuinfo gives it)
MACHINES = {
    "H100-SXM": (3.35e12, 989e12, "NVIDIA H100 80GB HBM3"),
    "H20": (4.0e12, 148e12, "NVIDIA H20"),
    "RTX-4090": (1.008e12, 165e12, "NVIDIA GeForce RTX 4090"),
    "cpu-server": (0.02e12, 1e12, "AMD EPYC"),
}


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def row(model: str = "qwen2.5-7b-instruct", machine: str = "H100-SXM", batch: int = 32, *,
        efficiency: float = 0.6, input_len: int = 512, output_len: int = 256, num_prompts: int = 128,
        scale: float = 1.0, run: int = 0, **over) -> dict:
    """One ok row of `model` on `machine` (a key of MACHINES); `scale` multiplies the throughput (a
    planted change); `over` sets any column (hardware=NAME as `bench run --hardware` would)."""
    weight_gb, kv_bytes, arch = MODELS[model]
    bandwidth, flops, device_name = MACHINES[machine]
    cpu = machine == "cpu-server"
    context = input_len + output_len / 2
    memory_s = (weight_gb * 1e9 + batch * context * kv_bytes) / bandwidth
    compute_s = 2 * (weight_gb * 1e9 / 2) * batch / flops  # bf16: 2 bytes per parameter
    step_s = max(memory_s, compute_s) / efficiency
    output_tok_s = batch / step_s * scale
    elapsed_s = num_prompts * output_len / output_tok_s
    tpot_ms = 1000 * step_s / scale
    ttft_ms = 1000 * elapsed_s * 0.5 * (1 - min(batch, num_prompts) / num_prompts) + 40 * input_len / 512
    r = {
        "schema_version": results.SCHEMA_VERSION, "run_id": f"20260101T000000Z-{_digest(model, machine, batch, run, scale)[:6]}",
        "timestamp": "2026-01-01T00:00:00+00:00", "model": model, "engine": "vllm",
        "device": "cpu" if cpu else "cuda", "device_name": device_name, "weights": "dummy", "dtype": "bfloat16",
        "kv_cache_dtype": "auto", "tensor_parallel_size": 1, "pipeline_parallel_size": 1, "input_len": input_len,
        "output_len": output_len, "num_prompts": num_prompts, "length_dist": "fixed", "seed": 0,
        "max_num_seqs": batch, "max_model_len": 4096, "input_tokens": num_prompts * input_len,
        "output_tokens": num_prompts * output_len, "elapsed_s": elapsed_s, "requests_per_s": num_prompts / elapsed_s,
        "input_tok_s": num_prompts * input_len / elapsed_s, "output_tok_s": output_tok_s,
        "total_tok_s": num_prompts * (input_len + output_len) / elapsed_s,
        "ttft_p50_ms": ttft_ms, "ttft_p99_ms": ttft_ms * 1.9, "ttft_mean_ms": ttft_ms * 1.05,
        "tpot_p50_ms": tpot_ms, "tpot_p99_ms": tpot_ms * 1.3, "tpot_mean_ms": tpot_ms * 1.05,
        "e2e_p50_ms": ttft_ms + tpot_ms * output_len, "e2e_p99_ms": (ttft_ms + tpot_ms * output_len) * 1.4,
        "kv_block_size": 16, "kv_num_blocks": 20000, "kv_capacity_tokens": 320000,
        "kv_bytes_per_token": float(kv_bytes), "kv_bytes_per_token_analytic": kv_bytes, "kv_cache_gb": 320000 * kv_bytes / 1e9,
        "peak_memory_gb": 3.0 if cpu else 72.0, "peak_memory_source": "rss" if cpu else "nvml",
        "vllm_version": "0.32.0", "torch_version": "2.13.0+cpu" if cpu else "2.9.0+cu128", "git_sha": "abc1234",
        "config_hash": _digest(model, batch)[:16], "status": "ok", "error": "",
        "architecture": arch, "completed": num_prompts, "failed": 0, "engine_start_s": 30.0, "warmup_s": 2.0,
        "gpu_count": "" if cpu else 1, "driver_version": "" if cpu else "570.86", "cpu_model": "AMD EPYC",
        "hostname": "bench-host",
    }
    r.update(over)
    return r


def sim_row(model: str, machine: str, batch: int, **over) -> dict:
    """A row of `bench run --engine sim`: the roofline's prediction (efficiency 1 by construction)."""
    r = row(model, machine, batch, efficiency=1.0, engine="sim", device="sim", device_name=machine,
            vllm_version="", torch_version="", gpu_count="", driver_version="", **over)
    r.update(roofline_output_tok_s=r["output_tok_s"], efficiency=1.0)
    return r


def write_rows(path: Path, rows: list[dict]) -> Path:
    """append_row for rows of the schema's columns; a header with the extra columns otherwise."""
    extra = sorted({k for r in rows for k in r} - set(results.COLUMNS))
    if not extra:
        for r in rows:
            results.append_row(path, r)
        return path
    header = results.COLUMNS + extra
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r.get(k) for k in header})
    return path
