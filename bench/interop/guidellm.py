"""GuideLLM's benchmarks.json (GenerativeBenchmarksReport, metadata.version 2: GuideLLM 0.8), several benchmarks
(one per load point) in one file, one row each. Read from GuideLLM's source (guidellm/benchmark/schemas/report.py,
benchmark.py, metrics.py; guidellm/schemas/base/statistics.py, request_stats.py).

Each metric is a StatusDistributionSummary; bench reads its `successful` part {mean, median, count, total_sum,
percentiles: {p50, p90, p99, ...}}. Units: `*_ms` in ms, `request_latency` in seconds. GuideLLM's
`inter_token_latency_ms` is per request, (last token - first token) / (output tokens - 1), counted once per token:
its mean is bench's pooled ITL mean; its percentiles, over tokens, are neither bench's TPOT (over requests) nor its
ITL (over gaps), so TPOT is recomputed from the requests and those percentiles stay in the JSON. Its
`time_per_output_token_ms` is (last token - request start) / output tokens, which includes the TTFT: no bench
column means that (JSON only).
The benchmark keeps each request's timings (`requests.successful`): TTFT, TPOT and E2E are recomputed from them,
E2E as bench defines it, to the last token (GuideLLM's request_latency runs to the end of the response).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.interop.requests import streamed_request
from bench.interop.source import Benchmark, SourceFile, number, stat_cells, whole
from bench.results.schema import BY_NAME

VERSION = 2  # GenerativeBenchmarkMetadata.version of GuideLLM 0.8


def is_report(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list) and isinstance(doc.get("metadata"), dict) \
        and ("guidellm_version" in doc["metadata"] or "version" in doc["metadata"])


def read(path: Path, doc: dict, sha: str) -> SourceFile:
    meta = doc.get("metadata") or {}
    backend = ((doc.get("config") or {}).get("spec") or {}).get("backend") or {}
    benches = [_benchmark(i, b, backend, meta) for i, b in enumerate(doc["benchmarks"], start=1)]
    if not benches:
        benches = [Benchmark(1, "the file", problem="it holds no benchmark")]
    return SourceFile(path, "guidellm", "guidellm", str(meta.get("guidellm_version") or ""), sha, benches)


def _ok(metric) -> dict:
    """The `successful` part of a StatusDistributionSummary, as {mean, p50, p90, p99, count, total_sum, max}."""
    s = (metric or {}).get("successful") if isinstance(metric, dict) else None
    if not isinstance(s, dict):
        return {}
    return {**(s.get("percentiles") or {}), **{k: s.get(k) for k in ("mean", "count", "total_sum", "max", "median")}}


def _benchmark(index: int, b: dict, backend: dict, meta: dict) -> Benchmark:
    strategy = ((b.get("config") or {}).get("strategy")) or {}
    load = _load(strategy)
    point = load.get("concurrency") or load.get("request_rate")
    label = f"benchmark {index} ({strategy.get('type_', '?')}" + (f" {point}" if point is not None else "") + ")"
    out = Benchmark(index, label, model=backend.get("model"), native={k: v for k, v in b.items() if k != "requests"})
    if meta.get("version") != VERSION:
        out.problem = (f"a GuideLLM report of schema version {meta.get('version')}; bench reads version {VERSION} "
                       "(GuideLLM 0.8): re-export it with GuideLLM 0.8, or tell bench's maintainers")
        return out
    m = b.get("metrics") or {}
    totals = m.get("request_totals") or {}
    ok, errored, incomplete = whole(totals.get("successful")), whole(totals.get("errored")), \
        whole(totals.get("incomplete"))
    duration = number(b.get("duration"))
    cells: dict = {}
    cells.update(stat_cells("ttft", _ok(m.get("time_to_first_token_ms")), 1.0, BY_NAME))
    cells.update(stat_cells("e2e", _ok(m.get("request_latency")), 1000.0, BY_NAME))  # seconds
    inputs, outputs = _ok(m.get("prompt_token_count")), _ok(m.get("output_token_count"))
    itl = _ok(m.get("inter_token_latency_ms"))
    cells.update({
        "num_prompts": whole(totals.get("total")), "completed": ok, "failed": errored,
        "elapsed_s": duration, "requests_per_s": number(_ok(m.get("requests_per_second")).get("mean")),
        "input_tok_s": number(_ok(m.get("prompt_tokens_per_second")).get("mean")),
        "output_tok_s": number(_ok(m.get("output_tokens_per_second")).get("mean")),
        "total_tok_s": number(_ok(m.get("tokens_per_second")).get("mean")),
        "input_tokens": whole(inputs.get("total_sum")), "output_tokens": whole(outputs.get("total_sum")),
        "input_len": number(inputs.get("mean")), "input_len_p50": number(inputs.get("p50")),
        "input_len_p99": number(inputs.get("p99")), "input_len_max": number(inputs.get("max")),
        "output_len": number(outputs.get("mean")),
        "itl_mean_ms": number(itl.get("mean")),  # counted once per token: the pooled mean gap
        "mean_concurrency": number(_ok(m.get("request_concurrency")).get("mean")),
        "goodput_req_s": number(m.get("request_goodput")), "slo_attainment": number(m.get("slo_attainment")),
        "api_model": backend.get("model"), "endpoint": backend.get("target"), **load,
    })
    out.cells = {k: v for k, v in cells.items() if v is not None}
    out.duration_s = duration
    start = number(b.get("start_time"))
    out.when = dt.datetime.fromtimestamp(start, dt.timezone.utc) if start else None
    requests = (b.get("requests") or {}).get("successful") or []
    if ok and len(requests) == ok:  # every successful request kept (GuideLLM may sample them): recompute
        out.requests = _requests(requests, start or 0.0)
    if not ok:
        out.problem = (f"no request succeeded ({errored or 0} errored, {incomplete or 0} incomplete): nothing was "
                       "measured")
    elif not out.cells.get("total_tok_s") or not duration:
        out.problem = "it holds no throughput (metrics.tokens_per_second, duration), which pricing needs"
    return out


def _load(strategy: dict) -> dict:
    """GuideLLM's scheduling strategy as bench's load point."""
    kind = strategy.get("type_")
    if kind == "concurrent":
        return {"load_mode": "concurrency", "concurrency": whole(strategy.get("streams"))}
    if kind == "synchronous":
        return {"load_mode": "concurrency", "concurrency": 1}
    if kind in ("constant", "poisson", "async"):
        rate = number(strategy.get("rate"))
        return {"load_mode": "rate", "request_rate": rate, "burstiness": 1.0 if kind == "poisson" else None,
                "concurrency": whole(strategy.get("max_concurrency"))}
    if kind == "throughput":
        return {"load_mode": "rate", "request_rate": "inf", "concurrency": whole(strategy.get("max_concurrency"))}
    return {}


def _requests(requests: list[dict], start: float) -> list:
    out = []
    for i, r in enumerate(requests):
        t = ((r.get("info") or {}).get("timings")) or {}
        sent, first, last = number(t.get("request_start")), number(t.get("first_token_iteration")), \
            number(t.get("last_token_iteration"))
        n = whole((r.get("output_metrics") or {}).get("total_tokens")) or 0
        prompt = whole((r.get("input_metrics") or {}).get("total_tokens")) or 0
        out.append(streamed_request(
            i, prompt_len=prompt, output_len=n, ttft_s=first - sent if sent and first else None,
            e2e_s=last - sent if sent and last else None, chunk_gaps_s=None,
            start_s=(sent or start) - start))
    return out
