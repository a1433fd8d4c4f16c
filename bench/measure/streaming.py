"""Streamed request records -> serving metrics. Pure functions; vLLM's definitions
(vllm/benchmarks/serve.py `calculate_metrics`, lib/endpoint_request_func.py), see docs/serve.md.

Per request, on the client's clock (`time.perf_counter`), from the moment the request is sent:
  TTFT  arrival of the first chunk that carries output (completions: any chunk with `choices`;
        chat: a chunk whose delta has content);
  ITL   every gap between two successive such chunks (a chunk may carry more than one token);
  E2E   arrival of the last such chunk (vLLM's "latency");
  TPOT  (E2E - TTFT) / (output tokens - 1), for requests with more than one output token;
  output tokens: the stream's `usage.completion_tokens`, else the number of chunks that carried output.
Over a level of duration D (first request sent -> last request ended), successful requests only:
  requests_per_s = completed / D, output_tok_s = output tokens / D, total_tok_s = (input + output) / D;
  goodput_req_s = completed requests with TTFT <= SLO and TPOT <= SLO (TPOT 0 for one-token outputs) / D;
  percentiles: linear interpolation (numpy's default); ITL percentiles pool the gaps of all requests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bench.measure.metrics import RequestResult, compute_metrics, ms_summary, percentile


@dataclass
class StreamedRequest(RequestResult):
    """One request as the client saw it. Times in seconds; `start_s`/`end_s` from the level's start."""

    success: bool = False  # until its stream has ended properly
    index: int = 0
    output_len_asked: int = 0
    start_s: float = 0.0  # sent
    end_s: float | None = None  # last byte, error or cancellation: how long it was in the system
    itl_s: list[float] = field(default_factory=list)
    chunks: int = 0  # chunks that carried output
    output_tokens_source: str = ""  # usage | chunks
    http_status: int | None = None
    client_overhead_s: float = 0.0  # the client's own work on this request: building, reading, parsing

    def finish(self) -> None:
        """Derive TPOT once TTFT, E2E and the token count are known (vLLM: latency - ttft over tokens - 1)."""
        if self.success and self.ttft_s is not None and self.e2e_s is not None and self.output_len > 1:
            self.tpot_s = (self.e2e_s - self.ttft_s) / (self.output_len - 1)
        else:
            self.tpot_s = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Slo:
    """Service-level objective: a request is good when it completed within both limits."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    attainment: float = 0.9  # share of a level's requests that must be good for the level to meet the SLO

    @property
    def given(self) -> bool:
        return self.ttft_ms is not None or self.tpot_ms is not None

    def is_good(self, r: StreamedRequest) -> bool:
        if not r.success:
            return False
        if self.ttft_ms is not None and (r.ttft_s is None or r.ttft_s * 1000.0 > self.ttft_ms):
            return False
        tpot_ms = (r.tpot_s or 0.0) * 1000.0  # vLLM: a one-token output has TPOT 0 for goodput
        return self.tpot_ms is None or tpot_ms <= self.tpot_ms


def compute_serve_metrics(records: list[StreamedRequest], duration_s: float, slo: Slo | None = None,
                          unsent: int = 0, loop_lag_s: list[float] | None = None) -> dict:
    """All figures of one level, named as the results columns (units in the names).

    `unsent`: requests never sent because the level's time limit came first; they count against
    SLO attainment. `loop_lag_s`: the client's event-loop lag samples (see load.py).
    """
    base = compute_metrics(records, duration_s).to_dict()
    ok = [r for r in records if r.success]
    tpot = ms_summary([r.tpot_s for r in ok], (50, 90, 99))
    itl = ms_summary([gap for r in ok for gap in r.itl_s], (50, 90, 99))
    e2e = ms_summary([r.e2e_s for r in ok], (50, 90, 99))
    out = {
        **base,
        "tpot_p90_ms": tpot["p90"],
        "itl_mean_ms": itl["mean"], "itl_p50_ms": itl["p50"], "itl_p90_ms": itl["p90"], "itl_p99_ms": itl["p99"],
        "e2e_p90_ms": e2e["p90"],
        "unsent": unsent,
        "mean_concurrency": mean_concurrency(records, duration_s),
    }
    out.update(slo_figures(records, duration_s, slo, planned=len(records) + unsent))
    # Tokens that arrive in bursts (several chunks in one read) make the median ITL 0: then the mean stands in.
    itl_ref = itl["p50"] or itl["mean"]
    out.update(client_overhead(records, itl_ref, loop_lag_s or []))
    return out


def mean_concurrency(records: list[StreamedRequest], duration_s: float) -> float | None:
    """Requests in the system on average (Little's law): the sum of their times in it / D."""
    spans = [r.end_s - r.start_s for r in records if r.end_s is not None]
    return sum(spans) / duration_s if spans and duration_s > 0 else None


def slo_figures(records: list[StreamedRequest], duration_s: float, slo: Slo | None, planned: int) -> dict:
    if slo is None or not slo.given:
        return {"goodput_req_s": None, "slo_attainment": None, "meets_slo": None}
    good = sum(1 for r in records if slo.is_good(r))
    attainment = good / planned if planned else None
    return {
        "goodput_req_s": good / duration_s,
        "slo_attainment": attainment,
        "meets_slo": attainment is not None and attainment >= slo.attainment,
    }


# The client is "not the bottleneck" while its own time per output chunk stays under this share of the ITL.
OVERHEAD_WARN_FRACTION = 0.05


def client_overhead(records: list[StreamedRequest], itl_p50_ms: float | None, loop_lag_s: list[float]) -> dict:
    """How much the client itself could have delayed a token timestamp, against the median ITL
    (the mean ITL when the median is 0).

    per token: median over requests of (client work on the request / chunks it read);
    loop lag: median delay of the client's event loop in waking a timer (its other streams' work).
    The larger of the two, over the median ITL, is `client_overhead_pct_itl`.
    """
    per_token = [r.client_overhead_s / r.chunks for r in records if r.success and r.chunks]
    per_token_ms = percentile(per_token, 50) * 1000.0 if per_token else None
    lag_ms = percentile(loop_lag_s, 50) * 1000.0 if loop_lag_s else None
    lag_p99_ms = percentile(loop_lag_s, 99) * 1000.0 if loop_lag_s else None
    worst = max((x for x in (per_token_ms, lag_ms) if x is not None), default=None)
    pct = 100.0 * worst / itl_p50_ms if worst is not None and itl_p50_ms else None
    return {
        "client_overhead_per_token_ms": per_token_ms,
        "client_overhead_p50_ms": percentile([r.client_overhead_s for r in records], 50) * 1000.0 if records else None,
        "client_loop_lag_p50_ms": lag_ms,
        "client_loop_lag_p99_ms": lag_p99_ms,
        "client_overhead_pct_itl": pct,
    }


def overhead_warning(m: dict) -> str | None:
    pct = m.get("client_overhead_pct_itl")
    if pct is None or pct <= OVERHEAD_WARN_FRACTION * 100:
        return None
    return (f"the client's own overhead is {pct:.1f}% of the median ITL ({m['itl_p50_ms'] or m['itl_mean_ms']:.2f} ms): "
            f"per token {_ms(m['client_overhead_per_token_ms'])}, event-loop lag {_ms(m['client_loop_lag_p50_ms'])}; "
            "the client may be the bottleneck (fewer concurrent streams per client, or a faster CPU for it)")


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f} ms"
