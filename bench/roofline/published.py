"""Published measurements the prediction is fitted to: reference/published_runs.csv, read here only.

Each row is one measured run rebuilt as well as its source describes it (model, GPU, TP, engine and
version, weight and KV formats, request lengths, scheduler limits) with the metric it published, the
source and its date, and what had to be assumed. `use` = fit (the fit and its leave-one-out table) or
check (shown beside the bound only: the source leaves too much unknown, or it is not an offline run).
The rows were copied from ../shared/reference/published_measurements.csv (2026-12-02) and from the
extra figures in its notes; docs/roofline.md says which rows of it are left out and why.

Metrics (what `value` is and how the prediction gives it):
  output_tok_s, input_tok_s, total_tok_s, requests_s   totals over the run's elapsed time
  mean_e2e_ms       mean request latency;  batch_latency_ms   time of one whole batch
  decode_tok_s      1 / TPOT of a single request

Lengths: `fixed` (every request at input_len / output_len, as the source ran them) or `sharegpt` (the
source sampled ShareGPT conversations: input_len / output_len are its means). ShareGPT's lengths are
long-tailed, and the longest requests set the last wave of a run; the dataset itself is not here, so they
are drawn (seeded) from a lognormal with the source's means and a coefficient of variation of 1, clipped as
vLLM's and SGLang's samplers filter it (prompt 4-1024 tokens, prompt + output <= 2048). An assumption, said.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from bench import REPO_ROOT
from bench.core.errors import BenchError
from bench.roofline import engine_profiles, trace
from bench.roofline.bound import Deployment

DEFAULT_FILE = REPO_ROOT / "reference" / "published_runs.csv"
FASTER_IS_HIGHER = {"output_tok_s": True, "input_tok_s": True, "total_tok_s": True, "requests_s": True,
                    "decode_tok_s": True, "mean_e2e_ms": False, "batch_latency_ms": False}
COLUMNS = ("id", "model", "hardware", "tp", "engine", "engine_version", "weight_dtype", "kv_cache_dtype",
           "attention_data_parallel", "input_len", "output_len", "num_prompts", "max_num_seqs",
           "max_num_batched_tokens", "metric", "value", "regime", "use", "source", "date", "assumed", "lengths")
SHAREGPT_CV = 1.0  # assumed spread of ShareGPT lengths (coefficient of variation)
# vLLM rows keep vLLM's profile-run reserve from their KV cache (bench.roofline.reserve) in the validation of the
# whole model; False: the cache of published-fit-3 and of predictions while reserve.CHARGED is off (util x memory -
# weights), for scripts/validate_prediction.py --without kv-reserve
KV_RESERVE = True


@dataclass(frozen=True)
class PublishedRun:
    id: str
    model: str  # catalog name
    hardware: str  # hardware.yaml name
    tp: int
    engine: str
    engine_version: str
    weight_dtype: str
    kv_cache_dtype: str
    attention_data_parallel: bool
    input_len: int
    output_len: int
    num_prompts: int
    max_num_seqs: int
    max_num_batched_tokens: int
    metric: str
    value: float
    regime: str
    use: str
    source: str
    date: str
    assumed: str
    lengths: str = "fixed"  # fixed | sharegpt

    def requests(self) -> list[tuple[int, int]]:
        """(prompt, output) of each request: the fixed lengths, or ShareGPT-like draws with the same means."""
        if self.lengths == "fixed":
            return [(self.input_len, self.output_len)] * self.num_prompts
        return sharegpt_like(self.num_prompts, self.input_len, self.output_len)

    @property
    def generation(self) -> str:
        return engine_profiles.generation(self.engine, self.engine_version)

    @property
    def moe_era(self) -> str:
        return engine_profiles.moe_kernel_era(self.engine, self.engine_version)

    @property
    def mla_expanded(self) -> bool:
        return engine_profiles.mla_expanded(self.engine, self.engine_version)

    @property
    def mla_padded_head_dim(self) -> int:
        return engine_profiles.mla_padded_head_dim(self.engine, self.engine_version)

    @property
    def faster_is_higher(self) -> bool:
        return FASTER_IS_HIGHER[self.metric]


def load(path: Path | None = None) -> list[PublishedRun]:
    path = path or DEFAULT_FILE
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise BenchError(f"{path}: columns must be {', '.join(COLUMNS)}")
            rows = list(reader)
    except FileNotFoundError:
        raise BenchError(f"{path}: not found") from None
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            if r["metric"] not in FASTER_IS_HIGHER:
                raise ValueError(f"metric {r['metric']!r} is not one of {', '.join(FASTER_IS_HIGHER)}")
            out.append(PublishedRun(
                id=r["id"], model=r["model"], hardware=r["hardware"], tp=int(r["tp"]), engine=r["engine"],
                engine_version=r["engine_version"], weight_dtype=r["weight_dtype"], kv_cache_dtype=r["kv_cache_dtype"],
                attention_data_parallel=r["attention_data_parallel"] == "1", input_len=int(r["input_len"]),
                output_len=int(r["output_len"]), num_prompts=int(r["num_prompts"]), max_num_seqs=int(r["max_num_seqs"]),
                max_num_batched_tokens=int(r["max_num_batched_tokens"]), metric=r["metric"], value=float(r["value"]),
                regime=r["regime"], use=r["use"], source=r["source"], date=r["date"], assumed=r["assumed"],
                lengths=r["lengths"]))
            if r["lengths"] not in ("fixed", "sharegpt"):
                raise ValueError(f"lengths {r['lengths']!r} is not fixed or sharegpt")
        except ValueError as e:
            raise BenchError(f"{path} line {i}: {e}") from None
    return out


def sharegpt_like(n: int, input_mean: float, output_mean: float, seed: int = 0) -> list[tuple[int, int]]:
    """n (prompt, output) pairs: lognormal with the given means and SHAREGPT_CV, clipped as the samplers filter."""
    rng = np.random.default_rng(seed)
    sigma = float(np.sqrt(np.log(1 + SHAREGPT_CV**2)))

    def draw(mean: float) -> np.ndarray:
        return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n)

    prompts = np.clip(np.rint(draw(input_mean)), 4, 1024).astype(int)
    outputs = np.clip(np.rint(draw(output_mean)), 4, 2048 - prompts).astype(int)
    return list(zip(prompts.tolist(), outputs.tolist()))


def deployment(run: PublishedRun) -> Deployment:
    from bench.config import catalog
    from bench.roofline import predict

    cfg = catalog.resolve_model(run.model).config
    gpu = predict.require_gpu(run.hardware)
    vllm = run.engine.lower().startswith("vllm")  # other engines size their caches their own way: not modelled
    reserve = (predict.memory_reserve(cfg, gpu, run.tp, run.max_num_seqs, run.max_num_batched_tokens,
                                      predict.model_dtype({}, cfg)) if KV_RESERVE and vllm else 0.0)
    return Deployment(cfg=cfg, gpu=gpu, tensor_parallel_size=run.tp,
                      weight_dtype=run.weight_dtype, kv_cache_dtype=run.kv_cache_dtype,
                      attention_data_parallel=run.attention_data_parallel, mla_expanded=run.mla_expanded,
                      mla_padded_head_dim=run.mla_padded_head_dim, memory_reserve_bytes=reserve)


def metric_value(run: PublishedRun, t: trace.Timings) -> float:
    """The published metric from predicted timings."""
    m = run.metric
    if m == "output_tok_s":
        return t.output_tok_s
    if m == "input_tok_s":
        return t.input_tok_s
    if m == "total_tok_s":
        return t.total_tok_s
    if m == "requests_s":
        return t.requests_s
    if m == "mean_e2e_ms":
        return float(np.mean(t.e2e_s)) * 1e3
    if m == "batch_latency_ms":
        return t.elapsed_s * 1e3
    if m == "decode_tok_s":
        return 1.0 / float(np.nanmean(t.tpot_s))
    raise ValueError(m)


def speed_ratio(run: PublishedRun, predicted: float) -> float:
    """predicted / measured as a speed: above 1 means predicted faster (latencies inverted)."""
    return predicted / run.value if run.faster_is_higher else run.value / predicted


@dataclass
class Case:
    """A published run with its schedule traced once (bench.roofline.trace)."""

    run: PublishedRun

    @cached_property
    def trace(self) -> trace.ScheduleTrace:
        r = self.run
        return trace.schedule(deployment(r), r.requests(), r.max_num_seqs, r.max_num_batched_tokens)

    @cached_property
    def bound(self) -> float:
        return metric_value(self.run, trace.timings(self.trace, None))

    def predict(self, eff) -> float:
        return metric_value(self.run, trace.timings(self.trace, eff))
