"""The llm-d Benchmark Report v0.2 (and its additive v0.2.1), YAML or JSON: what inference-perf writes per stage
(`inference-perf.partial.stage_N.yaml`: version, run, results) and llm-d-benchmark composes with the stack and
the load (scenario). Read from the schema's pydantic models as inference-perf 0.7 vendors them
(inference_perf/reportgen/br/v0_2/schema_v0_2.py, schema_v0_2_1.py, base.py) and its adapter (adapter.py).

Statistics carry their own units (ms or s; ms/token or s/token; tokens/s, queries/s), converted here. The
aggregate has no per-request records, so the row holds the report's own figures. inference-perf's ITL is per
token, but a chunk's tokens share its arrival time (gaps of 0 within a chunk), where bench spreads a chunk's gap
over its tokens: the means agree, the percentiles need not.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bench.interop.source import Benchmark, SourceFile, number, stat_cells, whole
from bench.results.schema import BY_NAME

VERSIONS = ("0.2", "0.2.1")
TO_MS = {"ms": 1.0, "s": 1000.0, "ms/token": 1.0, "s/token": 1000.0}
LATENCIES = {"time_to_first_token": "ttft", "time_per_output_token": "tpot", "inter_token_latency": "itl",
             "request_latency": "e2e"}


def is_report(doc) -> bool:
    return isinstance(doc, dict) and "version" in doc and "results" in doc and "run" in doc


def version_problem(doc: dict) -> str:
    v = str(doc.get("version"))
    if v not in VERSIONS:
        return (f"a Benchmark Report of version {v}; bench reads versions {', '.join(VERSIONS)}: convert it with "
                "llm-d-benchmark's tools, or tell bench's maintainers")
    return ""


def read(path: Path, doc: dict, sha: str) -> SourceFile:
    """One report = one benchmark (a file of several YAML documents, one each)."""
    return read_all(path, [doc], sha)


def read_all(path: Path, docs: list[dict], sha: str) -> SourceFile:
    benches = [_benchmark(i, doc, len(docs)) for i, doc in enumerate(docs, start=1)]
    tools = {_tool(d)[0] for d in docs} - {""}
    versions = {_tool(d)[1] for d in docs} - {""}
    return SourceFile(path, "br0.2", tools.pop() if len(tools) == 1 else "", versions.pop() if len(versions) == 1
                      else "", sha, benches)


def _tool(doc: dict) -> tuple[str, str]:
    """The workload generator the report names (scenario.load.standardized.tool and tool_version)."""
    std = ((doc.get("scenario") or {}).get("load") or {}).get("standardized") or {}
    return str(std.get("tool") or ""), str(std.get("tool_version") or "")


def _benchmark(index: int, doc: dict, count: int) -> Benchmark:
    run = doc.get("run") or {}
    b = Benchmark(index, f"report {index} ({run.get('uid', '?')})" if count > 1 else f"the report ({run.get('uid')})",
                  native=doc)
    problem = version_problem(doc)
    if problem:
        b.problem = problem
        return b
    agg = (((doc.get("results") or {}).get("request_performance") or {}).get("aggregate")) or {}
    requests, latency, throughput = agg.get("requests") or {}, agg.get("latency") or {}, agg.get("throughput") or {}
    cells: dict = {}
    for theirs, ours in LATENCIES.items():
        stats = latency.get(theirs) or {}
        factor = TO_MS.get(str(stats.get("units")))
        if factor is not None:
            cells.update(stat_cells(ours, stats, factor, BY_NAME))
    total, failures = whole(requests.get("total")), whole(requests.get("failures"))
    incomplete = whole(requests.get("incomplete")) or 0
    ok = total - (failures or 0) - incomplete if total is not None else None
    rate = _rate(throughput.get("request_rate"), "queries/s")
    inl, outl = requests.get("input_length") or {}, requests.get("output_length") or {}
    mean_in, mean_out = number(inl.get("mean")), number(outl.get("mean"))
    elapsed = ok / rate if ok and rate else _duration(run.get("time") or {})
    cells.update({
        "num_prompts": total, "completed": ok, "failed": failures,
        "elapsed_s": elapsed, "requests_per_s": rate,
        "input_tok_s": _rate(throughput.get("input_token_rate"), "tokens/s"),
        "output_tok_s": _rate(throughput.get("output_token_rate"), "tokens/s"),
        "total_tok_s": _rate(throughput.get("total_token_rate"), "tokens/s"),
        # a mean over the completed requests times their count is their sum (rounded: the mean is a float)
        "input_tokens": round(mean_in * ok) if mean_in is not None and ok else None,
        "output_tokens": round(mean_out * ok) if mean_out is not None and ok else None,
        "input_len": mean_in, "output_len": mean_out, "input_len_p50": number(inl.get("p50")),
        "input_len_p99": number(inl.get("p99")), "input_len_max": number(inl.get("max")),
    })
    cells.update(_scenario(doc.get("scenario") or {}, b))
    b.cells = {k: v for k, v in cells.items() if v is not None}
    b.duration_s = elapsed
    b.when = _time((run.get("time") or {}).get("start"))
    if not ok:
        b.problem = f"no request succeeded (total {total}, failures {failures}): nothing was measured"
    elif not b.cells.get("total_tok_s"):
        b.problem = ("it holds no throughput (results.request_performance.aggregate.throughput.total_token_rate), "
                     "which pricing needs")
    return b


def _scenario(scenario: dict, b: Benchmark) -> dict:
    """The stack's inference engine (model, accelerator, parallelism, engine version) and the load point."""
    cells: dict = {}
    engines = [c.get("standardized") for c in scenario.get("stack") or []
               if isinstance(c, dict) and (c.get("standardized") or {}).get("kind") == "inference_engine"]
    if len(engines) == 1:
        e = engines[0]
        b.model = (e.get("model") or {}).get("name")
        acc = e.get("accelerator") or {}
        par = acc.get("parallelism") or {}
        b.hardware = acc.get("model")
        replicas = whole(e.get("replicas")) or 1
        count = whole(acc.get("count"))
        b.gpus = count * replicas if count is not None else None
        cells.update({"tensor_parallel_size": whole(par.get("tp")), "pipeline_parallel_size": whole(par.get("pp")),
                      "engine_version": e.get("tool_version"), "engine": e.get("tool")})
    std = (scenario.get("load") or {}).get("standardized") or {}
    rate, conc = number(std.get("rate_qps")), std.get("concurrency")
    if rate is not None:
        cells.update({"load_mode": "rate", "request_rate": rate})
    if conc is not None:
        cells["concurrency"] = "inf" if number(conc) is None and str(conc) in (".inf", "inf") else whole(conc)
        cells.setdefault("load_mode", "concurrency")
    return cells


def _rate(stats, units: str) -> float | None:
    """The mean of a throughput statistic in the units the schema allows (tokens/s or queries/s)."""
    if not isinstance(stats, dict) or str(stats.get("units")) != units:
        return None
    return number(stats.get("mean"))


def _duration(time: dict) -> float | None:
    """An ISO-8601 duration 'PT4.031S' (inference-perf writes seconds only), else end - start."""
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", str(time.get("duration") or ""))
    if m and any(m.groups()):
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        return h * 3600 + mi * 60 + s
    start, end = _time(time.get("start")), _time(time.get("end"))
    return (end - start).total_seconds() if start and end else None


def _time(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
