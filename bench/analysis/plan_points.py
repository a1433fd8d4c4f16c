"""Where the operating points of a plan come from: measured results rows first, a prediction where nothing
was measured. Every point says which (`Point.source`: "measured" or "predicted: ...").

`predicted_points` is the one place that predicts: the expected value (bench.roofline.efficiency, with a
calibration profile's parameters: the published fit shipped with bench, or a user's `bench calibrate`
profile), each point carrying the profile's band and the roofline bound (the fastest the hardware allows,
communication not charged) at the same batch. `roofline_points` are the bound alone, for the figures shown
beside the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.analysis.frontier import MEASURED, Point
from bench.core.formats import num, ratio

ROOFLINE = "predicted: roofline bound"
# A row that stands for a case's repeats (bench.analysis.repeats.one_per_case) says how many and how sure its
# throughput is in these cells.
RUNS, REL_HW = "_runs", "_tok_s_rel_hw"


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
        v = row.get(key)
        if v and v > 0:
            return v
    seqs, prompts = row.get("max_num_seqs"), row.get("num_prompts")
    if seqs and seqs > 0:
        return min(seqs, prompts) if prompts else seqs
    return None


def cache_speedup(row: dict, cache_hit_rate: float) -> float:
    """How much faster a row would serve its tokens if `cache_hit_rate` of its prompt tokens came from the prefix
    cache: elapsed / (elapsed - H x prefill seconds), the prefill work saved (a cached token runs in no step; its
    KV is read as context as before). 1 when H is 0, the row measured its own hits (prefix_cache_hit_rate), or its
    time does not split (bench.cost.pricing.split_seconds)."""
    from bench.cost.pricing import split_seconds

    if not cache_hit_rate or row.get("prefix_cache_hit_rate") is not None:
        return 1.0
    prefill_s, _ = split_seconds(row)
    elapsed = row.get("elapsed_s")
    if prefill_s is None or not elapsed or elapsed - cache_hit_rate * prefill_s <= 0:
        return 1.0
    return elapsed / (elapsed - cache_hit_rate * prefill_s)


def measured_point(row: dict, percentile: int, gpus: int, cache_hit_rate: float = 0.0, profile=None,
                   served_latency: bool = True) -> Point | None:
    """A results row as a point at `percentile` (50 or 99); None without a batch or throughput. A sim row's point
    says it is predicted, and by what (bench.cost.predicted: 'predicted (calibration NAME)'); an offline sim row
    (bench run --engine sim: every request at t=0) takes its TTFT and TPOT from the simulated server instead, at a
    closed loop of its batch (served_row_latencies_ms; `profile`: a calibration the row may name; served_latency
    False: the row's own, where no latency target needs them). A prefix-cache
    hit rate the row did not measure scales its throughput by cache_speedup (its latencies are kept: a floor on
    the gain)."""
    from bench.cost.predicted import prediction_of

    batch, tok_s = batch_of(row), row.get("total_tok_s")
    if not batch or not tok_s or tok_s <= 0:
        return None
    pred = prediction_of(row)
    ttft, tpot = latency_at(row, "ttft", percentile), latency_at(row, "tpot", percentile)
    served, stat = bool(row.get("load_mode")), ""
    if pred is not None and not served and served_latency:
        latencies = served_row_latencies_ms(row, int(round(batch)), percentile, pred.calibration, profile)
        if latencies is not None:
            (ttft, tpot), served, stat = latencies, True, SERVED
    return Point(batch=batch, total_tok_s=tok_s * cache_speedup(row, cache_hit_rate), gpus=gpus,
                 ttft_ms=ttft, tpot_ms=tpot, source=pred.label if pred else MEASURED, ref=str(row.get("run_id") or "?"),
                 served=served, latency_stat=stat, runs=int(row.get(RUNS) or 1), tok_s_rel_hw=row.get(REL_HW))


SERVED = "served"  # Point.latency_stat of a served prediction (the simulated server, bench.roofline.servesim)


def served_latencies_ms(dep, shape: Shape, batch: int, eff, percentile: int, max_num_seqs: int | None = None,
                        kv_capacity_tokens: int | None = None, serving=None) -> tuple[float, float | None]:
    """(TTFT, TPOT) in ms at `percentile` of the simulated server (bench.roofline.servesim) on Deployment `dep` at a
    closed loop of `batch` streams of requests of `shape`, steps timed with `eff` (None: the bound), as `bench
    serve --engine sim --concurrency B` would report them: queueing and the first wave's burst included; `serving`:
    the calibration's serving path (bench.roofline.servingpath; None: none)."""
    from bench.measure.metrics import ms_summary
    from bench.roofline import servesim

    seqs, tokens = servesim.server_limits(dep.gpu)
    ttft, tpot = servesim.closed_loop_latencies_s(dep, shape.input_len, shape.output_len, batch, eff,
                                                  max_num_seqs or seqs, tokens, kv_capacity_tokens, serving=serving)
    key = f"p{percentile}"
    return ms_summary(ttft, (percentile,))[key], ms_summary(tpot, (percentile,))[key]


def served_row_latencies_ms(row: dict, batch: int, percentile: int, calibration: str,
                            profile=None) -> tuple[float, float | None] | None:
    """An offline sim row's served latencies (served_latencies_ms) on the row's own deployment (model, hardware,
    TP, dtypes, batch cap, KV capacity) and lengths, timed by the calibration it names: the bound, `profile` when it
    is that one, else the published fit. None where the row cannot be rebuilt (a model or card this catalog lacks)."""
    from bench.config import catalog
    from bench.core.errors import BenchError
    from bench.cost.predicted import BOUND
    from bench.roofline import predict
    from bench.roofline.batchsim import SimError

    hardware = row.get("hardware") or row.get("device_name")
    if not (hardware and row.get("model") and row.get("input_len") and row.get("output_len")):
        return None
    try:
        model = catalog.resolve_model(str(row["model"]))
        gpu = predict.gpu_for(str(hardware))
        if gpu is None:
            return None
        run = {k: row.get(k) for k in ("dtype", "kv_cache_dtype", "quantization", "gpu_memory_utilization")}
        run["tensor_parallel_size"] = int(row.get("tensor_parallel_size") or 1)
        dep = predict.deployment(run, model.config, gpu)
        eff = serving = None
        if calibration != BOUND:
            prof = profile if profile is not None and profile.name == calibration else predict.load_profile(None)
            eff, serving = prof.efficiency_for("vllm"), prof.serving
        cap = row.get("kv_capacity_tokens")
        seqs = row.get("max_num_seqs")
        return served_latencies_ms(dep, Shape(int(row["input_len"]), int(row["output_len"])), batch, eff, percentile,
                                   int(seqs) if seqs else None, int(cap) if cap else None, serving)
    except (BenchError, SimError, KeyError, ValueError):
        return None



def latency_at(row: dict, metric: str, percentile: int) -> float | None:
    """A row's latency at `percentile` as a latency target reads it: at p99, the value the p99 lies under at 95%
    confidence where the row has enough requests for one (<metric>_p99_bound_ms, MLPerf's early stopping), else
    the p99 itself (a row with fewer requests says so in <metric>_p99_reliable)."""
    if percentile == 99:
        bound = row.get(f"{metric}_p99_bound_ms")
        if bound is not None:
            return bound
    return row.get(f"{metric}_p{percentile}_ms")

def prompt_chunks(batch: int, shape: Shape, cache_hit_rate: float = 0.0) -> tuple[list, list]:
    """The prompt work of one steady step and of a request's first step, as (new tokens, cached tokens) chunks:
    batch x input / output prompt tokens a step (roofline_point), of which the share `cache_hit_rate` comes from
    the prefix cache: it runs in no step, and the tokens computed attend to it as context."""
    i, o = shape.input_len, shape.output_len
    new = round(batch * i / o)
    hit = min(max(cache_hit_rate, 0.0), 1.0)
    computed, cached = round(new * (1 - hit)), round(i * hit)
    first = max(1, round(i * (1 - hit)))  # the last prompt token always runs: it yields the first output token
    return ([(computed, cached)] if computed else []), [(first, i - first)]


def roofline_point(dep, batch: int, shape: Shape, cache_hit_rate: float = 0.0) -> Point:
    """The roofline's steady state at `batch` for requests of `shape`, on Deployment `dep`.

    Each step carries the batch's decodes (mean context input + output / 2) and, on average, batch x input /
    output prompt tokens: the prompts of the requests that replace those finishing (one in output_len steps
    per slot), less the share served from the prefix cache (prompt_chunks). TPOT = that step's bound; tokens/s =
    batch / TPOT output tokens, x (input + output) / output in all (cached prompt tokens count as served, as a
    vendor bills them). TTFT = one step holding a whole prompt's uncached part beside the other batch - 1 decodes
    (no queueing): a bound like the rest, one mean step at every percentile."""
    i, o = shape.input_len, shape.output_len
    ctx = i + o / 2
    steady, first_chunk = prompt_chunks(batch, shape, cache_hit_rate)
    step = dep.step(batch, round(batch * ctx), steady)
    first = dep.step(batch - 1, round((batch - 1) * ctx), first_chunk)
    output_tok_s = batch / step.time_s
    return Point(batch=batch, total_tok_s=output_tok_s * (i + o) / o, gpus=dep.tp, ttft_ms=first.time_s * 1e3,
                 tpot_ms=step.time_s * 1e3, source=ROOFLINE, ref=f"roofline {dep.gpu.name} x{dep.tp}",
                 latency_stat="mean")


def expected_point(dep, batch: int, shape: Shape, eff, band: tuple[float, float], calibration: str,
                   cache_hit_rate: float = 0.0, percentile: int | None = None) -> Point:
    """The expected steady state at `batch`: roofline_point's steps (the same decodes, prompt tokens and first
    step), each timed by the efficiency model with parameters `eff` (bench.roofline.efficiency.step_time_s)
    instead of the bound. band = the profile's (low, high) measured / predicted speed: band tok/s = expected
    x low .. expected x high, the high end no faster than the bound (bound_tok_s, roofline_point's). With a
    `percentile`, TTFT and TPOT are the simulated server's at a closed loop of `batch` streams instead of one mean
    step (served_latencies_ms: queueing included)."""
    from bench.roofline import efficiency

    i, o = shape.input_len, shape.output_len
    ctx = i + o / 2
    steady, first_chunk = prompt_chunks(batch, shape, cache_hit_rate)
    step_s = float(efficiency.step_time_s(dep.step_cost(batch, round(batch * ctx), steady), dep.machine, eff))
    first_s = float(efficiency.step_time_s(dep.step_cost(batch - 1, round((batch - 1) * ctx), first_chunk),
                                           dep.machine, eff))
    bound = roofline_point(dep, batch, shape, cache_hit_rate).total_tok_s
    tok_s = batch / step_s * (i + o) / o
    ttft, tpot, stat = first_s * 1e3, step_s * 1e3, "mean"
    if percentile is not None:
        (ttft, tpot), stat = served_latencies_ms(dep, shape, batch, eff, percentile), SERVED
    return Point(batch=batch, total_tok_s=tok_s, gpus=dep.tp, ttft_ms=ttft, tpot_ms=tpot,
                 source=expected_label(calibration, *band), ref=f"expected {dep.gpu.name} x{dep.tp}",
                 band_low_tok_s=tok_s * band[0], band_high_tok_s=min(bound, tok_s * band[1]), bound_tok_s=bound,
                 latency_stat=stat, served=stat == SERVED)


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
                     batches: tuple[int, ...] = PREDICTED_BATCHES, profile=None,
                     cache_hit_rate: float = 0.0, percentile: int | None = None,
                     slo=None) -> tuple[list[Point], str]:
    """Expected points (expected_point) of catalog model `model` (a ResolvedModel) on `hardware`, at each batch
    whose KV fits, with the parameters of `profile` (a bench.roofline.profile.Profile; None: the published
    fit) for the current vLLM, and a note ("" or why none; fitting_deployment). percentile: served latencies
    (expected_point). slo (a frontier.Slo): the batches above the first whose served latencies miss it are not
    simulated (a larger closed loop queues more; their latencies are left unknown, which misses any target): the
    operating point is at or below that batch, and those simulations would cost the most."""
    from bench.roofline import predict

    dep, fit, why = fitting_deployment(model, hardware, shape, tensor_parallel_size)
    if dep is None:
        return [], why
    prof = profile or predict.load_profile(None)
    eff = prof.efficiency_for("vllm")
    from bench.analysis.frontier import misses

    points, missed = [], False
    for b in (b for b in batches if b <= fit):
        p = expected_point(dep, b, shape, eff, (prof.band_low, prof.band_high), prof.name, cache_hit_rate,
                           None if missed else percentile)
        if missed:
            p = replace(p, ttft_ms=None, tpot_ms=None, latency_stat=SERVED, served=True)
        missed = missed or (percentile is not None and slo is not None and bool(misses(p, slo)))
        points.append(p)
    return points, ""


def roofline_points(model, hardware: str, shape: Shape, tensor_parallel_size: int | None = None,
                    batches: tuple[int, ...] = PREDICTED_BATCHES, cache_hit_rate: float = 0.0) -> list[Point]:
    """The bound's points (roofline_point) at the batches predicted_points gives, on the same deployment."""
    dep, fit, _ = fitting_deployment(model, hardware, shape, tensor_parallel_size)
    return [] if dep is None else [roofline_point(dep, b, shape, cache_hit_rate) for b in batches if b <= fit]
