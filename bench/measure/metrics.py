"""Per-request results -> run metrics. Pure functions; definitions follow vLLM's benchmarks.

TTFT: submission of the batch to the first output token of a request (offline, all requests
      are submitted at once, so TTFT includes the time a request waits for a batch slot).
TPOT: (time of last token - time of first token) / (output tokens - 1), per request;
      requests with a single output token have none.
E2E:  submission to the last token, per request.
Each is summarised as mean, p50 and p99 (TTFT also p90); percentiles interpolate linearly (numpy's default).
Each comes with its sample count (<x>_samples), whether its p99 is reliable (at least 100 samples) and the value
its p99 lies under at 95% confidence (<x>_p99_bound_ms, empty under 299 samples): bench.measure.uncertainty.
Throughput: tokens / wall time of the timed generate call (warm-up excluded).
Prefix cache: cached_prompt_tokens = the prompt tokens the engine took from its prefix cache (vLLM's
RequestOutput.num_cached_tokens; a server's usage.prompt_tokens_details.cached_tokens), summed over
completed requests; prefix_cache_hit_rate = cached_prompt_tokens / input_tokens. None when no request says.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from bench.measure import uncertainty


@dataclass
class RequestResult:
    prompt_len: int
    output_len: int  # tokens actually generated
    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None
    success: bool = True
    error: str = ""
    cached_tokens: int | None = None  # prompt tokens served from the prefix cache, when the engine says

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunMetrics:
    num_requests: int
    completed: int
    failed: int
    input_tokens: int
    output_tokens: int
    elapsed_s: float
    requests_per_s: float
    input_tok_s: float
    output_tok_s: float
    total_tok_s: float
    ttft_mean_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p90_ms: float | None = None
    ttft_p99_ms: float | None = None
    tpot_mean_ms: float | None = None
    tpot_p50_ms: float | None = None
    tpot_p99_ms: float | None = None
    e2e_mean_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p99_ms: float | None = None
    cached_prompt_tokens: int | None = None
    prefix_cache_hit_rate: float | None = None
    ttft_samples: int = 0
    tpot_samples: int = 0
    e2e_samples: int = 0
    ttft_p99_reliable: bool | None = None
    tpot_p99_reliable: bool | None = None
    e2e_p99_reliable: bool | None = None
    ttft_p99_bound_ms: float | None = None
    tpot_p99_bound_ms: float | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def ms_summary(values_s: list[float | None], percentiles: tuple[float, ...] = (50, 99)) -> dict[str, float | None]:
    """Seconds -> milliseconds: {"mean": ..., "p50": ..., ...}; every value None when there are none."""
    xs = [v * 1000.0 for v in values_s if v is not None]
    out: dict[str, float | None] = {"mean": sum(xs) / len(xs) if xs else None}
    for q in percentiles:
        out[f"p{q:g}"] = percentile(xs, q) if xs else None
    return out


def named_ms(prefix: str, summary: dict[str, float | None]) -> dict[str, float | None]:
    """An ms_summary as results columns: ("ttft", {"p50": x}) -> {"ttft_p50_ms": x}."""
    return {f"{prefix}_{stat}_ms": v for stat, v in summary.items()}


def compute_metrics(results: list[RequestResult], elapsed_s: float) -> RunMetrics:
    if elapsed_s <= 0:
        raise ValueError(f"elapsed time must be positive, got {elapsed_s}")
    ok = [r for r in results if r.success]
    input_tokens = sum(r.prompt_len for r in ok)
    output_tokens = sum(r.output_len for r in ok)
    ttft = ms_summary([r.ttft_s for r in ok], (50, 90, 99))
    tpot = ms_summary([r.tpot_s for r in ok])
    e2e = ms_summary([r.e2e_s for r in ok])
    cached, hit_rate = prefix_cache_figures(ok, input_tokens)
    return RunMetrics(
        num_requests=len(results),
        completed=len(ok),
        failed=len(results) - len(ok),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        elapsed_s=elapsed_s,
        requests_per_s=len(ok) / elapsed_s,
        input_tok_s=input_tokens / elapsed_s,
        output_tok_s=output_tokens / elapsed_s,
        total_tok_s=(input_tokens + output_tokens) / elapsed_s,
        **named_ms("ttft", ttft), **named_ms("tpot", tpot), **named_ms("e2e", e2e),
        cached_prompt_tokens=cached, prefix_cache_hit_rate=hit_rate,
        **p99_honesty("ttft", [r.ttft_s for r in ok]), **p99_honesty("tpot", [r.tpot_s for r in ok]),
        **p99_honesty("e2e", [r.e2e_s for r in ok], bound=False),
    )


def p99_honesty(prefix: str, values_s: list[float | None], bound: bool = True) -> dict:
    """A latency's sample count, whether its p99 is reliable, and (bound=True) the 95% upper bound of its p99 in
    ms, as results columns: ("ttft", ...) -> ttft_samples, ttft_p99_reliable, ttft_p99_bound_ms."""
    xs = [v * 1000.0 for v in values_s if v is not None]
    out: dict = {f"{prefix}_samples": len(xs),
                 f"{prefix}_p99_reliable": uncertainty.percentile_reliable(len(xs), 99) if xs else None}
    if bound:
        out[f"{prefix}_p99_bound_ms"] = uncertainty.percentile_upper_bound(xs, 99) if xs else None
    return out


def prefix_cache_figures(ok: list[RequestResult], input_tokens: int) -> tuple[int | None, float | None]:
    """(cached prompt tokens, hit rate = cached / input tokens) over completed requests; (None, None) when
    none of them says how many of its prompt tokens were cached."""
    counts = [r.cached_tokens for r in ok if r.cached_tokens is not None]
    if not counts:
        return None, None
    cached = sum(counts)
    return cached, (cached / input_tokens if input_tokens else None)
