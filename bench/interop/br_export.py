"""bench's rows as llm-d Benchmark Report v0.2 documents (`bench export --format br0.2`), which llm-d-benchmark's
tooling and inference-perf's schema (BenchmarkReportV02, extra="forbid") read: version, run, scenario (the engine
as an inference_engine component, the load) and results.request_performance.aggregate.

Each figure goes where br.py reads it back: latencies in ms (ms/token per output token), rates in tokens/s and
queries/s, token counts as the mean length per completed request. `bench import` of an exported document gives the
row's figures back (tests/test_interop_export.py).
"""

from __future__ import annotations

import datetime as dt
import math

from bench import __version__
from bench.interop.source import number, whole

VERSION = "0.2"
LATENCIES = (("ttft", "time_to_first_token", "ms"), ("tpot", "time_per_output_token", "ms/token"),
             ("itl", "inter_token_latency", "ms/token"), ("e2e", "request_latency", "ms"))
DISTRIBUTIONS = {"fixed": "fixed", "uniform": "uniform", "normal": "gaussian"}
SAMPLED = ("sharegpt", "jsonl", "trace")  # datasets of real prompts; random and shared-prefix are generated


def report(row: dict) -> dict:
    """One ok results row (values as read: numbers or CSV text) -> one Benchmark Report v0.2 document."""
    doc = _drop_empty({"version": VERSION, "run": _run(row), "scenario": _scenario(row),
                       "results": {"request_performance": {"aggregate": _aggregate(row)}}})
    for part in (*doc["scenario"]["stack"], doc["scenario"]["load"]):  # required, even when it says nothing
        part.setdefault("native", {})
    return doc


def _run(row: dict) -> dict:
    start = _time(row.get("timestamp"))
    elapsed = number(row.get("elapsed_s"))
    time = {"start": start.isoformat() if start else None,
            "end": (start + dt.timedelta(seconds=elapsed)).isoformat() if start and elapsed else None,
            "duration": f"PT{elapsed:.3f}S" if elapsed else None}
    return {"uid": str(row.get("run_id")), "eid": row.get("sweep_id") or None, "time": time,
            "description": f"bench {row.get('engine')} row of {row.get('model')}"}


def _gpus(row: dict) -> int:
    """The accelerators the row ran on: another tool's GPU count as imported, else tensor x pipeline parallel."""
    if row.get("source_format") and whole(row.get("gpu_count")):
        return whole(row.get("gpu_count"))
    return max((whole(row.get("tensor_parallel_size")) or 1) * (whole(row.get("pipeline_parallel_size")) or 1), 1)


def _scenario(row: dict) -> dict:
    engine = {
        "metadata": {"label": "engine", "cfg_id": str(row.get("config_hash") or row.get("run_id"))},
        "standardized": {
            "kind": "inference_engine", "tool": str(row.get("engine") or "unknown"),
            "tool_version": str(row.get("engine_version") or "unknown"), "role": "replica", "replicas": 1,
            "model": {"name": str(row.get("hub_id") or row.get("model"))},
            "accelerator": {"model": str(row.get("hardware") or row.get("device_name") or "unknown"),
                            "count": _gpus(row),
                            "parallelism": {"tp": whole(row.get("tensor_parallel_size")) or 1,
                                            "pp": whole(row.get("pipeline_parallel_size")) or 1}}},
        "native": {"args": {"max_num_seqs": whole(row.get("max_num_seqs")), "dtype": row.get("dtype") or None,
                            "kv_cache_dtype": row.get("kv_cache_dtype") or None,
                            "max_model_len": whole(row.get("max_model_len"))}},
    }
    dataset = str(row.get("dataset") or "random")
    load = {"metadata": {"cfg_id": str(row.get("config_hash") or row.get("run_id")),
                         "description": f"bench {row.get('load_mode') or 'offline batch'}"},
            "standardized": {"tool": "bench", "tool_version": __version__,
                             "source": "sampled" if dataset in SAMPLED else "random",
                             "input_seq_len": _length(row.get("input_len"), row.get("length_dist")),
                             "output_seq_len": _length(row.get("output_len"), row.get("length_dist")),
                             **_load_point(row)},
            "native": {"args": {k: row.get(k) for k in ("num_prompts", "seed", "dataset", "burstiness")
                                if row.get(k) not in (None, "")}}}
    return {"stack": [engine], "load": load}


def _length(value, dist) -> dict | None:
    x = number(value)
    if x is None:
        return None
    return {"distribution": DISTRIBUTIONS.get(str(dist or "fixed"), "other"), "value": whole(x) if whole(x) is not None
            else x}


def _load_point(row: dict) -> dict:
    rate, conc = number(row.get("request_rate")), whole(row.get("concurrency"))
    out = {}
    if rate is not None and rate > 0:
        out["rate_qps"] = rate
    if conc:
        out["concurrency"] = conc
    elif str(row.get("request_rate")) == "inf":
        out["concurrency"] = math.inf  # all requests at once: unbounded concurrency
    return out


def _stats(row: dict, prefix: str, units: str) -> dict | None:
    mean = number(row.get(f"{prefix}_mean_ms"))
    if mean is None:
        return None
    return {"units": units, "mean": mean, **{p: number(row.get(f"{prefix}_{p}_ms")) for p in ("p50", "p90", "p99")}}


def _rate(value, units: str) -> dict | None:
    x = number(value)
    return None if x is None else {"units": units, "mean": x}


def _aggregate(row: dict) -> dict:
    ok = whole(row.get("completed"))
    failed = whole(row.get("failed")) or 0
    total = ok + failed if ok is not None else whole(row.get("num_prompts"))
    inputs, outputs = number(row.get("input_tokens")), number(row.get("output_tokens"))
    requests = {"total": total, "failures": failed,
                "input_length": {"units": "count", "mean": inputs / ok} if inputs is not None and ok else None,
                "output_length": {"units": "count", "mean": outputs / ok} if outputs is not None and ok else None}
    latency = {theirs: _stats(row, ours, units) for ours, theirs, units in LATENCIES}
    throughput = {"input_token_rate": _rate(row.get("input_tok_s"), "tokens/s"),
                  "output_token_rate": _rate(row.get("output_tok_s"), "tokens/s"),
                  "total_token_rate": _rate(row.get("total_tok_s"), "tokens/s"),
                  "request_rate": _rate(row.get("requests_per_s"), "queries/s")}
    return {"requests": requests, "latency": latency, "throughput": throughput}


def _time(text) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _drop_empty(x):
    """Leave out what the row does not say (the schema's fields are optional; null is not a value)."""
    if isinstance(x, dict):
        kept = {k: _drop_empty(v) for k, v in x.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(x, list):
        return [_drop_empty(v) for v in x]
    return x
