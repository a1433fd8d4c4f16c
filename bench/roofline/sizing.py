"""A model on a card at a tensor-parallel size: whether it fits, the largest batch of one context, and the decode
rate expected there with its band. Pure (the published fit or a given profile; no GPU).

The batch is the most sequences of `context_len` tokens the KV cache holds (bytes per sequence: sliding windows,
linear states and index keys counted), capped at the sequences vLLM schedules by default on the card
(predict.vllm_default_limits). The rate is the efficiency model's steady decode with every sequence at that context
(predict.expected_decode_tok_s), per GPU; the band is the profile's (held-out 10th-90th percentile of measured /
predicted), its high end capped at the roofline bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bench.model.config_checks import tensor_parallel_problem, tensor_parallel_sizes
from bench.roofline import memory_fit, predict
from bench.roofline.profile import Profile


@dataclass(frozen=True)
class Sized:
    hardware: str
    tp: int
    weight_dtype: str
    kv_cache_dtype: str
    fits: bool
    why_not: str = ""  # one sequence of the context does not fit, or vLLM refuses the split
    would_fit: list[str] = field(default_factory=list)  # changes that would make it fit (memory_fit.suggestions)
    max_batch: int = 0
    batch: int = 0  # max_batch capped at vLLM's default max_num_seqs on the card
    tok_s_per_gpu: float = 0.0  # expected (predicted) output tok/s per GPU at `batch`
    band_low_per_gpu: float = 0.0
    band_high_per_gpu: float = 0.0
    bound_tok_s_per_gpu: float = 0.0  # the roofline's


def size(model_config: dict, hardware: str, tp: int, context_len: int, profile: Profile,
         kv_cache_dtype: str = "auto", dtype: str = "bfloat16") -> Sized:
    """The point of the module doc for `model_config` on `tp` x `hardware` in the checkpoint's weight format."""
    gpu = predict.require_gpu(hardware)
    run = {"tensor_parallel_size": tp, "dtype": dtype, "kv_cache_dtype": kv_cache_dtype}
    dep = predict.deployment(run, model_config, gpu)
    base = dict(hardware=gpu.name, tp=tp, weight_dtype=dep.weight_dtype, kv_cache_dtype=kv_cache_dtype)
    split = tensor_parallel_problem(model_config, tp)
    if split:  # what would: the largest split below it that vLLM accepts and that holds a sequence
        smaller = [replace(dep, tensor_parallel_size=t) for t in tensor_parallel_sizes(model_config, tp)]
        fitting = [d for d in smaller if memory_fit.fits_context(d, context_len)]
        return Sized(**base, fits=False, why_not=f"vLLM refuses TP {tp}: {split}",
                     would_fit=[f"-tp {d.tp} ({d.max_batch(context_len):,} sequences)" for d in fitting[-1:]])
    if not memory_fit.fits_context(dep, context_len):
        return Sized(**base, fits=False, why_not=memory_fit.why_not(dep, context_len),
                     would_fit=memory_fit.suggestions(dep, context_len))
    max_batch = dep.max_batch(context_len)
    batch = min(max_batch, predict.vllm_default_limits(gpu)[0])
    eff = profile.efficiency_for("vllm")
    expected = predict.expected_decode_tok_s(dep, batch, context_len, eff) / tp
    bound = dep.decode_tok_s(batch, context_len) / tp
    return Sized(**base, fits=True, max_batch=max_batch, batch=batch, tok_s_per_gpu=expected,
                 band_low_per_gpu=expected * profile.band_low,
                 band_high_per_gpu=min(bound, expected * profile.band_high), bound_tok_s_per_gpu=bound)
