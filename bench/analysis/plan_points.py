"""Where the operating points of a plan come from: measured results rows first, a prediction where nothing
was measured. Every point says which (`Point.source`: "measured" or "predicted: ...").

`predicted_points` is the one place that predicts: the expected value of the efficiency model
(bench.roofline.efficiency) with the published fit or a profile (bench.roofline.profile), the same steps
`roofline_point` prices at the bound (the fastest the hardware allows, communication not charged). Each
predicted point names its calibration and carries the bound in its ref.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.frontier import MEASURED, Point
from bench.cost.pricing import number

ROOFLINE = "predicted: roofline bound"
PREDICTED_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
PERCENTILES = (50, 99)  # the latency percentiles results rows carry (ttft_p50_ms, ttft_p99_ms, ...)
MAX_TP = 8  # one server's GPUs: the largest tensor-parallel group a prediction tries


@dataclass(frozen=True)
class Shape:
    """One request of the traffic: input and output tokens."""

    input_len: int
    output_len: int


def batch_of(row: dict) -> float | None:
    """Sequences decoding together in a row: a serve level's measured mean concurrency, else its concurrency,
    else bench run's batch cap (max_num_seqs, no more than the requests)."""
    for key in ("mean_concurrency", "concurrency"):
        v = number(row, key)
        if v and v > 0:
            return v
    seqs, prompts = number(row, "max_num_seqs"), number(row, "num_prompts")
    if seqs and seqs > 0:
        return min(seqs, prompts) if prompts else seqs
    return None


def measured_point(row: dict, percentile: int, gpus: int) -> Point | None:
    """A results row as a point at `percentile` (50 or 99); None without a batch or throughput."""
    batch, tok_s = batch_of(row), number(row, "total_tok_s")
    if not batch or not tok_s or tok_s <= 0:
        return None
    return Point(batch=batch, total_tok_s=tok_s, gpus=gpus, ttft_ms=number(row, f"ttft_p{percentile}_ms"),
                 tpot_ms=number(row, f"tpot_p{percentile}_ms"), source=MEASURED, ref=str(row.get("run_id") or "?"))


def roofline_point(dep, batch: int, shape: Shape) -> Point:
    """The roofline's steady state at `batch` for requests of `shape`, on Deployment `dep`.

    Each step carries the batch's decodes (mean context input + output / 2) and, on average, batch x input /
    output prompt tokens: the prompts of the requests that replace those finishing (one in output_len steps
    per slot). TPOT = that step's bound; tokens/s = batch / TPOT output tokens, x (input + output) / output
    in all. TTFT = one step holding a whole prompt beside the other batch - 1 decodes (no queueing): a bound
    like the rest, the same at every percentile."""
    i, o = shape.input_len, shape.output_len
    ctx = i + o / 2
    new = round(batch * i / o)
    step = dep.step(batch, round(batch * ctx), [(new, 0)] if new else [])
    first = dep.step(batch - 1, round((batch - 1) * ctx), [(i, 0)])
    output_tok_s = batch / step.time_s
    return Point(batch=batch, total_tok_s=output_tok_s * (i + o) / o, gpus=dep.tp, ttft_ms=first.time_s * 1e3,
                 tpot_ms=step.time_s * 1e3, source=ROOFLINE, ref=f"roofline {dep.gpu.name} x{dep.tp}")


def expected_point(dep, batch: int, shape: Shape, eff, calibration: str) -> Point:
    """roofline_point's steps, each timed as the engine is expected to run it (efficiency `eff`), the bound's
    output tok/s in the ref."""
    from bench.roofline import efficiency

    i, o = shape.input_len, shape.output_len
    ctx = i + o / 2
    new = round(batch * i / o)
    chunks = [(new, 0)] if new else []
    step_s = float(efficiency.step_time_s(dep.step_cost(batch, round(batch * ctx), chunks), dep.machine, eff))
    first_s = float(efficiency.step_time_s(dep.step_cost(batch - 1, round((batch - 1) * ctx), [(i, 0)]), dep.machine,
                                           eff))
    bound_tok_s = batch / dep.step(batch, round(batch * ctx), chunks).time_s
    return Point(batch=batch, total_tok_s=batch / step_s * (i + o) / o, gpus=dep.tp, ttft_ms=first_s * 1e3,
                 tpot_ms=step_s * 1e3, source=f"predicted: {calibration}",
                 ref=f"{calibration} {dep.gpu.name} x{dep.tp}; roofline bound {bound_tok_s:,.0f} output tok/s")


def predicted_points(model, hardware: str, shape: Shape, tensor_parallel_size: int | None = None,
                     batches: tuple[int, ...] = PREDICTED_BATCHES, profile=None) -> tuple[list[Point], str]:
    """Predicted points of catalog model `model` (a ResolvedModel) on `hardware`, at each batch whose KV fits,
    and a note ("" or why none: a CPU entry, weights that do not fit even at TP 8, ...). The TP is the one
    given, else the model's default, raised by powers of two until the weights and one sequence's KV fit."""
    from bench.roofline import predict

    profile = profile or predict.load_profile(None)
    eff = profile.efficiency_for("vllm")
    gpu = predict.gpu_for(hardware)
    if gpu is None:
        return [], f"no roofline for {hardware} (not a GPU with memory, bandwidth and bf16 figures)"
    tps = [tensor_parallel_size] if tensor_parallel_size else \
        [t for t in (1, 2, 4, 8) if t >= model.tensor_parallel_size] or [model.tensor_parallel_size]
    context = shape.input_len + shape.output_len
    for tp in tps:
        dep = predict.deployment({"tensor_parallel_size": tp, "dtype": model.dtype}, model.config, gpu)
        fit = dep.max_batch(context) if dep.fits else 0
        if fit >= 1:
            return [expected_point(dep, b, shape, eff, profile.name) for b in batches if b <= fit], ""
    return [], (f"{model.name} does not fit on {hardware} up to TP {tps[-1]} with {context:,}-token sequences "
                f"(`bench explain {model.name} --hardware {hardware}` says what would)")
