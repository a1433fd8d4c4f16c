"""vLLM's benchmark files: `vllm bench serve --save-result` (one JSON object; `--append-result` puts one per line)
and `vllm bench throughput --output-json`. Read from vLLM's source (vllm/benchmarks/serve.py, the `result_json`
of main_async and `benchmark`'s `result`; throughput.py, `results` in main); docs/interop.md maps every field.

serve: durations in seconds (`duration`, the per-request arrays), summaries in ms (`mean_ttft_ms`, ...).
vLLM's ITL is per chunk (one gap per streamed chunk, however many tokens it carried), bench's per token: the
summary's ITL is kept in the JSON only, and the ITL columns come from the per-request arrays (`--save-detailed`),
recomputed by bench. The files carry no vLLM version, no GPU and no GPU count.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.interop.requests import streamed_request
from bench.interop.source import Benchmark, SourceFile, number, stat_cells, whole
from bench.results.schema import BY_NAME

SERVE_KEYS = {"duration", "completed", "total_input_tokens", "request_throughput"}
THROUGHPUT_KEYS = {"elapsed_time", "num_requests", "total_num_tokens", "tokens_per_second"}
# per-request arrays `--save-detailed` adds (vLLM drops them otherwise; `latencies` and `queue_times` stay)
DETAILED = ("input_lens", "output_lens", "ttfts", "itls", "latencies", "start_times", "errors")
# vLLM's summary metrics -> bench's column prefixes (e2el: vLLM's end-to-end latency)
METRICS = {"ttft": "ttft", "tpot": "tpot", "e2el": "e2e"}


def is_serve(doc) -> bool:
    return isinstance(doc, dict) and SERVE_KEYS <= doc.keys() and ("backend" in doc or "endpoint_type" in doc)


def is_throughput(doc) -> bool:
    return isinstance(doc, dict) and THROUGHPUT_KEYS <= doc.keys()


def read_serve(path: Path, docs: list[dict], sha: str) -> SourceFile:
    benches = [_serve_benchmark(i, doc, len(docs)) for i, doc in enumerate(docs, start=1)]
    return SourceFile(path, "vllm-bench-serve", "vllm bench serve", "", sha, benches)


def _serve_benchmark(index: int, doc: dict, count: int) -> Benchmark:
    rate = doc.get("request_rate")
    rate = float("inf") if rate == "inf" else number(rate)
    conc = whole(doc.get("max_concurrency"))
    load = f"rate {rate:g}" if rate not in (None, float("inf")) else (f"concurrency {conc}" if conc else "rate inf")
    b = Benchmark(index, f"result {index} ({load})" if count > 1 else f"the result ({load})", model=doc.get("model_id"),
                  native={k: v for k, v in doc.items() if k not in DETAILED and k != "generated_texts"})
    duration = number(doc.get("duration"))
    completed = whole(doc.get("completed"))
    b.duration_s = duration
    b.when = _date(doc.get("date"))
    inp, out = whole(doc.get("total_input_tokens")), whole(doc.get("total_output_tokens"))
    cells = {
        "num_prompts": whole(doc.get("num_prompts")), "completed": completed, "failed": whole(doc.get("failed")),
        "input_tokens": inp, "output_tokens": out, "elapsed_s": duration,
        "requests_per_s": number(doc.get("request_throughput")), "output_tok_s": number(doc.get("output_throughput")),
        "total_tok_s": number(doc.get("total_token_throughput")),
        "input_tok_s": inp / duration if inp is not None and duration else None,
        "goodput_req_s": number(doc.get("request_goodput")),
        "api_model": doc.get("model_id"), "concurrency": conc,
        # bench's load point: a finite rate (capped or not), or a concurrency (an unbounded rate capped by it, as
        # bench serve --concurrencies sends), or all requests at once (rate inf)
        "load_mode": "concurrency" if rate == float("inf") and conc else "rate",
        "request_rate": None if rate == float("inf") and conc else ("inf" if rate == float("inf") else rate),
        "burstiness": None if rate == float("inf") and conc else number(doc.get("burstiness")),
        "input_len": inp / completed if inp is not None and completed else None,
        "output_len": out / completed if out is not None and completed else None,
    }
    for theirs, ours in METRICS.items():
        stats = {"mean": doc.get(f"mean_{theirs}_ms"), "p90": doc.get(f"p90_{theirs}_ms"),
                 "p50": doc.get(f"p50_{theirs}_ms", doc.get(f"median_{theirs}_ms")), "p99": doc.get(f"p99_{theirs}_ms")}
        cells.update(stat_cells(ours, stats, 1.0, BY_NAME))
    b.cells = {k: v for k, v in cells.items() if v is not None}
    if all(k in doc for k in DETAILED):
        b.requests = _requests(doc)
    if not completed:
        b.problem = f"no request succeeded (completed 0 of {doc.get('num_prompts', '?')}): nothing was measured"
    elif not cells["total_tok_s"] or not duration:
        b.problem = "it holds no throughput (total_token_throughput, duration), which pricing needs"
    return b


def _requests(doc: dict) -> list:
    starts = [number(t) for t in doc["start_times"]]
    t0 = min((t for t in starts if t is not None), default=0.0)
    out = []
    for i, (prompt, n, ttft, itl, latency, start, error) in enumerate(zip(
            doc["input_lens"], doc["output_lens"], doc["ttfts"], doc["itls"], doc["latencies"], starts,
            doc["errors"])):
        ok = not error
        out.append(streamed_request(i, prompt_len=whole(prompt) or 0, output_len=whole(n) or 0,
                                    ttft_s=number(ttft) if ok else None, e2e_s=number(latency) if ok else None,
                                    chunk_gaps_s=[float(g) for g in itl] if ok else None,
                                    start_s=(start or t0) - t0, success=ok, error=str(error or "")))
    return out


def _date(text) -> dt.datetime | None:
    """vLLM writes `date` as local time without a zone ('%Y%m%d-%H%M%S'): kept as it is, naive."""
    try:
        return dt.datetime.strptime(str(text), "%Y%m%d-%H%M%S")
    except ValueError:
        return None


def read_throughput(path: Path, doc: dict, sha: str) -> SourceFile:
    """`vllm bench throughput --output-json`: offline LLM.generate over all requests at once. The file has the
    total tokens only (prompt + output together): input_tokens, output_tokens and the per-kind rates stay empty,
    so a row prices any token (cny_per_m_total), not input and output apart."""
    elapsed = number(doc.get("elapsed_time"))
    b = Benchmark(1, "the result", model=doc.get("model_id"), duration_s=elapsed, native=dict(doc))
    b.cells = {k: v for k, v in {
        "num_prompts": whole(doc.get("num_requests")), "elapsed_s": elapsed,
        "requests_per_s": number(doc.get("requests_per_second")), "total_tok_s": number(doc.get("tokens_per_second")),
    }.items() if v is not None}
    if not b.cells.get("total_tok_s") or not elapsed:
        b.problem = "it holds no throughput (tokens_per_second, elapsed_time), which pricing needs"
    return SourceFile(path, "vllm-bench-throughput", "vllm bench throughput", "", sha, [b])
