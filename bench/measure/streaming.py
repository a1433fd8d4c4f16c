"""Streamed request records -> serving metrics. Pure functions; vLLM's definitions
(vllm/benchmarks/serve.py `calculate_metrics`, lib/endpoint_request_func.py), see docs/serve.md.

Per request, on the client's clock (`time.perf_counter`), from the moment the request is sent.
Tokens are counted per token, not per chunk (vLLM PR #42661, inference-perf PR #410): a *delivery* is
what one read of the stream brought (every SSE event carrying output in one read shares its arrival
time), and it may carry several tokens: the server coalesced them (vLLM's stream interval,
speculative decoding: the per-chunk `usage` that vLLM sends with `continuous_usage_stats` counts them)
or the client read several events at once (a busy client).
  TTFT  arrival of the first delivery that carries output (completions: any chunk with `choices`;
        chat: a chunk whose delta has content);
  ITL   per token: a delivery of k tokens arriving g after the previous one contributes k gaps of g / k
        (the extra tokens of the first delivery have no gap of their own); sum(ITL) = E2E - TTFT;
  E2E   arrival of the last delivery (vLLM's "latency");
  TPOT  (E2E - TTFT) / (output tokens - 1), for requests with more than one output token, and only when
        they came in more than one delivery: a request whose tokens all arrived at once has no TPOT
        (not 0): it is counted in `tpot_unmeasured`, left out of the TPOT/ITL percentiles, and not good
        under a TPOT SLO;
  output tokens: the stream's `usage.completion_tokens` when it can be right (bench.measure.failures.usage_problem),
        else the tokens streamed: one per chunk that carried output, or the local tokenizer's count of its text;
  tokens per chunk: output tokens of each delivery (the per-chunk usage where the server sends it; else
        the usage total spread evenly over the chunks); the row keeps their maximum and mean.
Over a level of duration D (first request sent -> last request ended), successful requests only:
  requests_per_s = completed / D, output_tok_s = output tokens / D, total_tok_s = (input + output) / D;
  the same over the steady state, ramp-up and drain left out (steady_*: bench.measure.steady);
  goodput_req_s = completed requests with TTFT <= SLO and TPOT <= SLO (TPOT 0 for one-token outputs;
      a multi-token request without a TPOT is not good under a TPOT SLO) / D;
  percentiles: linear interpolation (numpy's default); ITL percentiles pool the gaps of all requests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bench.core import formats
from bench.measure.failures import failure_figures
from bench.measure.metrics import RequestResult, compute_metrics, ms_summary, percentile
from bench.measure.slo import Slo
from bench.measure.steady import steady_figures


@dataclass
class StreamedRequest(RequestResult):
    """One request as the client saw it. Times in seconds; `start_s`/`end_s` from the level's start."""

    success: bool = False  # until its stream has ended properly
    index: int = 0
    output_len_asked: int = 0
    start_s: float = 0.0  # sent
    end_s: float | None = None  # last byte, error or cancellation: how long it was in the system
    itl_s: list[float] = field(default_factory=list)  # per token (see the module's docstring)
    chunks: int = 0  # SSE events that carried output
    chunk_tokens: list[int] = field(default_factory=list)  # output tokens of each delivery (one read), in order
    output_tokens_source: str = ""  # usage | chunks (one token per delta) | tokenizer (the local one, per delta)
    http_status: int | None = None
    error_class: str = ""  # a failed request's class: http, connection, timeout, stream, cancelled (measure.failures)
    retry_after_s: float | None = None  # a 429's Retry-After, in seconds (recorded, never waited for)
    usage_mismatch: str = ""  # why the server's usage.completion_tokens was not believed (the streamed count used)
    usage_reported: int | None = None  # that count, as the server reported it
    client_overhead_s: float = 0.0  # the client's own work on this request: building, reading, parsing

    def finish(self) -> None:
        """Derive TPOT once TTFT, E2E and the token count are known (vLLM: latency - ttft over tokens - 1);
        none when every token arrived at the same instant (E2E = TTFT): that is not a TPOT of 0."""
        if (self.success and self.ttft_s is not None and self.e2e_s is not None and self.output_len > 1
                and self.e2e_s > self.ttft_s):
            self.tpot_s = (self.e2e_s - self.ttft_s) / (self.output_len - 1)
        else:
            self.tpot_s = None

    @property
    def tpot_unmeasured(self) -> bool:
        """A completed request with several output tokens that all arrived at once: its TPOT is unknown."""
        return self.success and self.output_len > 1 and self.tpot_s is None

    def to_dict(self) -> dict:
        return asdict(self)


def deliveries(events: list[tuple[float, int | None]], total_tokens: int | None) -> list[tuple[float, int]]:
    """A stream's output events (arrival time, tokens the server said the event carried, or None) ->
    deliveries (arrival time, tokens): events with the same arrival time (one read) are merged.

    Events without a count share what the usage total leaves after the counted ones, evenly (the
    earliest get the remainder), at least one token each; without a total each counts one token.
    """
    known = sum(k for _, k in events if k is not None)
    unknown = [i for i, (_, k) in enumerate(events) if k is None]
    counts = [k for _, k in events]
    if unknown:
        left = (total_tokens - known) if total_tokens is not None else len(unknown)
        base, extra = divmod(max(left, len(unknown)), len(unknown))
        for j, i in enumerate(unknown):
            counts[i] = base + (1 if j < extra else 0)
    out: list[tuple[float, int]] = []
    for (t, _), k in zip(events, counts):
        if out and out[-1][0] == t:
            out[-1] = (t, out[-1][1] + k)
        else:
            out.append((t, k))
    return out


def itl_per_token_s(delivered: list[tuple[float, int]]) -> list[float]:
    """Per-token inter-token latencies: a delivery of k tokens, g seconds after the previous one, gives k
    gaps of g / k. E.g. deliveries at 0.10 s (1 token), 0.14 s (2), 0.20 s (3) -> [0.02, 0.02, 0.02, 0.02, 0.02]."""
    gaps: list[float] = []
    for (t0, _), (t1, k) in zip(delivered, delivered[1:]):
        if k > 0:
            gaps.extend([(t1 - t0) / k] * k)
    return gaps


def compute_serve_metrics(records: list[StreamedRequest], duration_s: float, slo: Slo | None = None,
                          unsent: int = 0, loop_lag_s: list[float] | None = None) -> dict:
    """All figures of one level, named as the results columns (units in the names).

    `unsent`: requests never sent because the level's time limit came first (or its warm-up failed); they
    count against SLO attainment. `loop_lag_s`: the client's event-loop lag samples (see load.py). A level
    that sent nothing (its warm-up failed) has its counts only.
    """
    if not records or duration_s <= 0:
        return {"num_requests": len(records), "completed": 0, "failed": len(records), "unsent": unsent,
                **failure_figures(records)}
    base = compute_metrics(records, duration_s).to_dict()
    ok = [r for r in records if r.success]
    tpot = ms_summary([r.tpot_s for r in ok], (50, 90, 99))
    itl = ms_summary([gap for r in ok for gap in r.itl_s], (50, 90, 99))
    e2e = ms_summary([r.e2e_s for r in ok], (50, 90, 99))
    out = {
        **base,
        "tpot_p90_ms": tpot["p90"],
        "itl_samples": sum(len(r.itl_s) for r in ok),
        "itl_mean_ms": itl["mean"], "itl_p50_ms": itl["p50"], "itl_p90_ms": itl["p90"], "itl_p99_ms": itl["p99"],
        "e2e_p90_ms": e2e["p90"],
        "unsent": unsent,
        "mean_concurrency": mean_concurrency(records, duration_s),
        **chunk_figures(ok),
        **failure_figures(records),
        **steady_figures(records),
    }
    out.update(slo_figures(records, duration_s, slo, planned=len(records) + unsent))
    # Tokens that arrive in bursts (several chunks in one read) make the median ITL 0: then the mean stands in.
    itl_ref = itl["p50"] or itl["mean"]
    out.update(client_overhead(records, itl_ref, loop_lag_s or []))
    return out


def chunk_figures(ok: list[StreamedRequest]) -> dict:
    """How coalesced the streams were: the most tokens one delivery carried, output tokens per delivery
    (1.0: every token timed on its own), and the requests whose tokens all arrived at once."""
    sizes = [k for r in ok for k in r.chunk_tokens]
    return {
        "tokens_per_chunk_max": max(sizes) if sizes else None,
        "tokens_per_chunk_mean": sum(sizes) / len(sizes) if sizes else None,
        "tpot_unmeasured": sum(1 for r in ok if r.tpot_unmeasured),
    }


def coalescing_warning(m: dict) -> str | None:
    n = m.get("tpot_unmeasured")
    if not n:
        return None
    return (f"{n} of {m['completed']} requests got all their output tokens at once (up to "
            f"{m['tokens_per_chunk_max']} tokens in one read): they have no TPOT or ITL and fail a TPOT SLO, and their "
            "TTFT is when the whole stream came; the server or the client coalesced the stream (a busy client "
            "machine, the server's stream interval, or, on vLLM's CPU build sharing the client's few cores, its API "
            "server held off them: a server started in a session of its own (another terminal, setsid) gets a CPU share "
            "of its own under Linux's autogroup; start it from the client's session: docs/serve.md)")


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
    return (f"the client's own overhead is {formats.num(pct)}% of the median ITL "
            f"({_ms(m['itl_p50_ms'] or m['itl_mean_ms'])}): per token {_ms(m['client_overhead_per_token_ms'])}, "
            f"event-loop lag {_ms(m['client_loop_lag_p50_ms'])}; "
            "the client may be the bottleneck (fewer concurrent streams per client, or a faster CPU for it)")


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{formats.ms(x)} ms"
