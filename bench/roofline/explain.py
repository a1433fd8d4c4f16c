"""`bench explain`'s numbers for a deployment, as plain data (JSON-ready): sizes, memory, KV capacity, decode bounds.
Pure (bench.roofline.bound's Deployment)."""

from __future__ import annotations

from bench.model import attention, flops
from bench.roofline.bound import Deployment

EXPLAIN_BATCHES = (1, 8, 64, 256)

# How bench charges a weight format the roofline's cards run in an unusual way (shown by bench explain).
WEIGHT_FORMAT_NOTES = {
    "mxfp4": "MXFP4 on the MLP and expert matrices (4.25 bits a weight: 4-bit values and an 8-bit scale per 32; "
             "attention, router, embeddings and lm_head in bf16); no card of hardware.yaml has FP4 tensor units, so "
             "its GEMMs are charged at the bf16 peak (vLLM dequantizes MXFP4 in its MoE kernels on compute "
             "capability 8.0-9.0)",
}



def explain(dep: Deployment, context_len: int, batches: tuple[int, ...] = EXPLAIN_BATCHES) -> dict:
    """The numbers `bench explain` shows, as plain data (JSON-ready)."""
    p = dep.params
    rows = []
    for b in batches:
        s = dep.decode_step(b, context_len)
        rows.append({"batch": b, "step_ms": s.time_s * 1e3, "tok_s": b / s.time_s, "bound": s.bound,
                     "fits_kv": dep.fits and b <= dep.max_batch(context_len),
                     "weight_bytes_read": dep.weight_bytes_touched(b) + dep.replicated_weight_bytes,
                     "kv_bytes_read": b * dep.kv_read_bytes(context_len)})
    prefill = dep.prefill_step(context_len)
    return {
        "model_type": dep.cfg.get("model_type"),
        "hardware": dep.gpu.name,
        "tensor_parallel_size": dep.tp,
        "weight_dtype": dep.weight_dtype,
        "kv_cache_dtype": dep.kv_cache_dtype,
        "context": context_len,
        "gpu_memory_utilization": dep.gpu_memory_utilization,
        "params_total": p.total,
        "params_active": p.active,
        "weight_bytes": dep.weight_bytes,
        "weight_bytes_per_gpu": dep.weight_bytes_per_gpu,
        "attention_data_parallel": dep.attention_data_parallel,
        "kv_bytes_per_token": dep.kv_bytes_per_token,
        "kv_bytes_per_sequence": dep.kv_bytes_per_sequence(context_len),
        "attention_layers": attention.describe(dep.cfg),
        "weight_format_note": WEIGHT_FORMAT_NOTES.get(dep.weight_dtype, ""),
        "fits": dep.fits,
        "kv_cache_bytes": max(0.0, dep.kv_cache_bytes_per_gpu) * dep.tp,
        "kv_capacity_tokens": dep.kv_capacity_tokens,
        "max_batch": dep.max_batch(context_len),
        "decode_tok_s_bound": {str(r["batch"]): r["tok_s"] for r in rows},
        "decode": rows,
        "compute_bound_from_batch": dep.compute_bound_batch(context_len),
        "prefill_tok_s_bound": context_len / prefill.time_s,
        "prefill_bound": prefill.bound,
        "decode_flops_per_token": flops.decode_flops_per_token(dep.cfg, context_len),
        "prefill_flops_per_token": flops.prefill_flops_per_token(dep.cfg, context_len),
        "peak_flops": dep.peak_flops,
        "bandwidth_bytes_s": dep.bandwidth_bytes_s,
    }
