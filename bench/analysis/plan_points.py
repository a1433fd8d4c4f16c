"""Where the operating points of a plan come from: measured results rows first, a prediction where nothing
was measured. Every point says which (`Point.source`: "measured" or "predicted: ...").

`predicted_points` is the one place that predicts: the expected value (bench.roofline.efficiency, with a
calibration profile's parameters: the published fit shipped with bench, or a user's `bench calibrate`
profile), each point carrying the profile's band and the roofline bound (the fastest the hardware allows,
communication not charged) at the same batch. `roofline_points` are the bound alone, for the figures shown
beside the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.frontier import MEASURED, Point
from bench.core.formats import num, ratio
from bench.cost.pricing import number

ROOFLINE = "predicted: roofline bound"


def expected_label(calibration: str, band_low: float, band_high: float) -> str:
    """How an expected point names itself: 'predicted (calibration published-fit-3, band 0.754-1.26x)'."""
    return f"predicted (calibration {calibration}, band {num(band_low)}-{ratio(band_high)})"
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
    """A results row as a point at `percentile` (50 or 99); None without a batch or throughput. A sim row's point
    says it is predicted, and by what (bench.cost.predicted: 'predicted (calibration NAME)')."""
    from bench.cost.predicted import prediction_of

    batch, tok_s = batch_of(row), number(row, "total_tok_s")
    if not batch or not tok_s or tok_s <= 0:
        return None
    pred = prediction_of(row)
    return Point(batch=batch, total_tok_s=tok_s, gpus=gpus, ttft_ms=latency_at(row, "ttft", percentile),
                 tpot_ms=latency_at(row, "tpot", percentile), source=pred.label if pred else MEASURED,
                 ref=str(row.get("run_id") or "?"))


def latency_at(row: dict, metric: str, percentile: int) -> float | None:
    """A row's latency at `percentile` as a latency target reads it: at p99, the value the p99 lies under at 95%
    confidence where the row has enough requests for one (<metric>_p99_bound_ms, MLPerf's early stopping), else
    the p99 itself (a row with fewer requests says so in <metric>_p99_reliable)."""
    if percentile == 99:
        bound = number(row, f"{metric}_p99_bound_ms")
        if bound is not None:
            return bound
    return number(row, f"{metric}_p{percentile}_ms")


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


def expected_point(dep, batch: int, shape: Shape, eff, band: tuple[float, float], calibration: str) -> Point:
    """The expected steady state at `batch`: roofline_point's steps (the same decodes, prompt tokens and first
    step), each timed by the efficiency model with parameters `eff` (bench.roofline.efficiency.step_time_s)
    instead of the bound. band = the profile's (low, high) measured / predicted speed: band tok/s = expected
    x low .. expected x high, the high end no faster than the bound (bound_tok_s, roofline_point's)."""
    from bench.roofline import efficiency

    i, o = shape.input_len, shape.output_len
    ctx = i + o / 2
    new = round(batch * i / o)
    step_s = float(efficiency.step_time_s(dep.step_cost(batch, round(batch * ctx), [(new, 0)] if new else []),
                                          dep.machine, eff))
    first_s = float(efficiency.step_time_s(dep.step_cost(batch - 1, round((batch - 1) * ctx), [(i, 0)]),
                                           dep.machine, eff))
    bound = roofline_point(dep, batch, shape).total_tok_s
    tok_s = batch / step_s * (i + o) / o
    return Point(batch=batch, total_tok_s=tok_s, gpus=dep.tp, ttft_ms=first_s * 1e3, tpot_ms=step_s * 1e3,
                 source=expected_label(calibration, *band), ref=f"expected {dep.gpu.name} x{dep.tp}",
                 band_low_tok_s=tok_s * band[0], band_high_tok_s=min(bound, tok_s * band[1]), bound_tok_s=bound)


def fitting_deployment(model, hardware: str, shape: Shape, tensor_parallel_size: int | None = None):
    """(Deployment, batches whose KV fits, "") of catalog model `model` on `hardware`, or (None, 0, why not: a
    CPU entry, weights that do not fit even at TP 8, ...). The TP is the one given, else the model's default,
    raised by powers of two until the weights and one sequence's KV fit."""
    from bench.roofline import engine_profiles, predict

    gpu = predict.gpu_for(hardware)
    if gpu is None:
        return None, 0, f"no roofline for {hardware} (not a GPU with memory, bandwidth and bf16 figures)"
    tps = [tensor_parallel_size] if tensor_parallel_size else \
        [t for t in (1, 2, 4, 8) if t >= model.tensor_parallel_size] or [model.tensor_parallel_size]
    context = shape.input_len + shape.output_len
    for tp in tps:
        dep = predict.deployment({"tensor_parallel_size": tp, "dtype": model.dtype}, model.config, gpu,
                                 mla_expanded=engine_profiles.mla_expanded("vllm", None))
        fit = dep.max_batch(context) if dep.fits else 0
        if fit >= 1:
            return dep, fit, ""
    return None, 0, (f"{model.name} does not fit on {hardware} up to TP {tps[-1]} with {context:,}-token sequences "
                     f"(`bench explain {model.name} --hardware {hardware}` says what would)")


def predicted_points(model, hardware: str, shape: Shape, tensor_parallel_size: int | None = None,
                     batches: tuple[int, ...] = PREDICTED_BATCHES, profile=None) -> tuple[list[Point], str]:
    """Expected points (expected_point) of catalog model `model` (a ResolvedModel) on `hardware`, at each batch
    whose KV fits, with the parameters of `profile` (a bench.roofline.profile.Profile; None: the published
    fit) for the current vLLM, and a note ("" or why none; fitting_deployment)."""
    from bench.roofline import predict

    dep, fit, why = fitting_deployment(model, hardware, shape, tensor_parallel_size)
    if dep is None:
        return [], why
    prof = profile or predict.load_profile(None)
    eff = prof.efficiency_for("vllm")
    return [expected_point(dep, b, shape, eff, (prof.band_low, prof.band_high), prof.name)
            for b in batches if b <= fit], ""


def roofline_points(model, hardware: str, shape: Shape, tensor_parallel_size: int | None = None,
                    batches: tuple[int, ...] = PREDICTED_BATCHES) -> list[Point]:
    """The bound's points (roofline_point) at the batches predicted_points gives, on the same deployment."""
    dep, fit, _ = fitting_deployment(model, hardware, shape, tensor_parallel_size)
    return [] if dep is None else [roofline_point(dep, b, shape) for b in batches if b <= fit]
