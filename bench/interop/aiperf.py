"""AIPerf's profile export: `profile_export_aiperf.json` (JsonExportData, schema_version 1.x: one entry per metric,
{unit, avg, p1 ... p99, min, max, std, count, sum}), else `profile_export_aiperf.csv` (the same metrics rounded to
two decimals, with neither the model nor the load), and per request `profile_export.jsonl` (MetricRecordInfo: each
record's metrics with their units), found beside the summary by its content. Read from AIPerf's source
(aiperf/common/models/export_models.py, record_models.py, the metric classes in aiperf/metrics/types/).

AIPerf's `inter_token_latency` is per request, (request latency - TTFT) / (output tokens - first chunk's tokens):
bench's TPOT. Its per-chunk gaps are `inter_chunk_latency`; bench's per-token ITL is recomputed from the records.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from bench.interop.requests import streamed_request
from bench.interop.source import Benchmark, SourceFile, json_lines, number, stat_cells, whole
from bench.measure.streaming import Slo
from bench.results.schema import BY_NAME

SCHEMA_MAJOR = "1"  # JsonExportData.SCHEMA_VERSION "1.4" in AIPerf 0.13; minor versions only add fields
# AIPerf's metric -> bench's column prefix, for the statistics of a distribution
DISTRIBUTIONS = {"time_to_first_token": "ttft", "inter_token_latency": "tpot", "request_latency": "e2e"}
# A metric's unit -> the factor to milliseconds, or to seconds for durations
TO_MS = {"ms": 1.0, "sec": 1000.0, "s": 1000.0, "us": 1e-3, "ns": 1e-6}
# the CSV's metric titles that are not the tag with spaces
CSV_TAGS = {"completed requests (success + error)": "completed_request_count",
            "goodrequestfraction": "good_request_fraction", "total input sequence length": "total_isl",
            "total output sequence length": "total_osl", "time to first token": "time_to_first_token"}


def is_json(doc) -> bool:
    """The profile export: AIPerf's version or schema version, and its metrics at the top level (the server
    metrics export beside it holds them under `metrics`)."""
    return isinstance(doc, dict) and ("aiperf_version" in doc or "schema_version" in doc) and any(
        isinstance(doc.get(k), dict) and "unit" in doc[k] for k in ("request_count", "request_latency",
                                                                     "benchmark_duration"))


def is_csv(rows: list[list[str]]) -> bool:
    """AIPerf's CSV: a table headed Metric,avg,min,max,... whose metric titles are AIPerf's."""
    return bool(rows) and rows[0][:4] == ["Metric", "avg", "min", "max"] and any(
        r and r[0].startswith("Request Latency") for r in rows)


def version_problem(doc: dict) -> str:
    v = str(doc.get("schema_version") or "")
    if v and v.split(".")[0] != SCHEMA_MAJOR:
        return (f"an AIPerf export of schema version {v}; bench reads versions {SCHEMA_MAJOR}.x (AIPerf 0.x): "
                "re-export it with an AIPerf that writes 1.x, or tell bench's maintainers")
    return ""


def _stats(metric) -> dict:
    return metric if isinstance(metric, dict) else {}


def _scalar(metrics: dict, tag: str) -> float | None:
    return number(_stats(metrics.get(tag)).get("avg"))


def _ms_factor(metric: dict) -> float | None:
    return TO_MS.get(str(metric.get("unit") or "").lower())


def summary_cells(metrics: dict) -> dict:
    """bench's columns from AIPerf's metrics ({tag: {unit, avg, p50, ...}}), units converted."""
    cells: dict = {}
    for tag, prefix in DISTRIBUTIONS.items():
        m = _stats(metrics.get(tag))
        factor = _ms_factor(m)
        if factor is not None:
            cells.update(stat_cells(prefix, m, factor, BY_NAME))
    duration = _stats(metrics.get("benchmark_duration"))
    seconds = number(duration.get("avg"))
    if seconds is not None and _ms_factor(duration) is not None:
        seconds = seconds * _ms_factor(duration) / 1000.0
    ok, total = whole(_scalar(metrics, "request_count")), whole(_scalar(metrics, "completed_request_count"))
    errors = whole(_scalar(metrics, "error_request_count"))
    if errors is None and ok is not None and total is not None:
        errors = total - ok  # AIPerf leaves error_request_count out when no request failed
    isl, osl = _stats(metrics.get("input_sequence_length")), _stats(metrics.get("output_sequence_length"))
    cached = whole(_scalar(metrics, "total_usage_prompt_cache_read_tokens"))
    inputs = whole(_scalar(metrics, "total_isl"))
    cells.update({
        "elapsed_s": seconds, "completed": ok, "failed": errors, "num_prompts": total,
        "input_tokens": inputs, "output_tokens": whole(_scalar(metrics, "total_osl")),
        "requests_per_s": _scalar(metrics, "request_throughput"),
        "input_tok_s": _scalar(metrics, "input_token_throughput"),
        "output_tok_s": _scalar(metrics, "output_token_throughput"),
        "total_tok_s": _scalar(metrics, "total_token_throughput"),
        "goodput_req_s": _scalar(metrics, "goodput"), "slo_attainment": _scalar(metrics, "good_request_fraction"),
        "mean_concurrency": _scalar(metrics, "effective_concurrency"),
        "input_len": number(isl.get("avg")), "input_len_p50": number(isl.get("p50")),
        "input_len_p99": number(isl.get("p99")), "input_len_max": number(isl.get("max")),
        "output_len": number(osl.get("avg")),
        "cached_prompt_tokens": cached,
        "prefix_cache_hit_rate": cached / inputs if cached is not None and inputs else None,
    })
    return {k: v for k, v in cells.items() if v is not None}


def read_json(path: Path, doc: dict, sha: str, records: list[dict] | None) -> SourceFile:
    metrics = {k: v for k, v in doc.items() if isinstance(v, dict) and "unit" in v}
    config = doc.get("input_config") or {}
    b = Benchmark(1, "the profile", native={k: v for k, v in doc.items() if k != "input_config"})
    b.cells = summary_cells(metrics)
    b.duration_s = b.cells.get("elapsed_s")
    b.model = _model(config)
    b.when = _time(doc.get("start_time"))
    urls = (config.get("endpoint") or {}).get("urls") or []
    b.cells.update({k: v for k, v in _load(config).items() if v is not None})
    if urls:
        b.cells["endpoint"] = urls[0]
    seed = (doc.get("run_info") or {}).get("random_seed")
    if whole(seed) is not None:
        b.cells["seed"] = whole(seed)
    if b.model:
        b.cells["api_model"] = b.model
    b.slo = _slo(config.get("slos") or {})
    if b.slo is not None:
        b.cells["slo_ttft_ms"], b.cells["slo_tpot_ms"] = b.slo.ttft_ms, b.slo.tpot_ms
    b.hardware, b.gpus = _gpus(doc.get("telemetry_data") or {})
    b.cells.update(telemetry_cells(doc.get("telemetry_data") or {}))
    if records is not None:
        b.requests = record_requests(records)
    b.problem = version_problem(doc) or _problem(b.cells, doc)
    return SourceFile(path, "aiperf-json", "aiperf", str(doc.get("aiperf_version") or ""), sha, [b])


def _problem(cells: dict, doc: dict) -> str:
    if doc.get("was_cancelled") or doc.get("is_complete") is False:
        return f"AIPerf marked the run incomplete ({doc.get('incomplete_reason') or 'cancelled'})"
    if not cells.get("completed"):
        return f"no request succeeded (request_count 0 of {cells.get('num_prompts', '?')}): nothing was measured"
    if not cells.get("total_tok_s") and not cells.get("output_tok_s"):
        return "it holds no token throughput (total_token_throughput), which pricing needs"
    return ""


def _model(config: dict) -> str | None:
    items = (config.get("models") or {}).get("items") or []
    names = [i.get("name") for i in items if isinstance(i, dict) and i.get("name")]
    return names[0] if len(names) == 1 else (", ".join(names) or None)


def _load(config: dict) -> dict:
    """The profiling phase's load point: a concurrency, or a rate with its arrival pattern."""
    phases = [p for p in config.get("phases") or [] if isinstance(p, dict) and p.get("kind", p.get("name")) ==
              "profiling"]
    if len(phases) != 1:
        return {}
    p = phases[0]
    kind, rate, conc = p.get("type"), number(p.get("rate")), whole(p.get("concurrency"))
    burst = {"poisson": 1.0, "gamma": number(p.get("smoothness"))}.get(kind)
    if rate is not None:
        return {"load_mode": "rate", "request_rate": rate, "burstiness": burst, "concurrency": conc}
    if kind == "concurrency":
        return {"load_mode": "concurrency", "concurrency": conc or 1}
    return {}


def _slo(slos: dict) -> Slo | None:
    """AIPerf's --goodput targets (ms): time_to_first_token, and inter_token_latency, which is bench's TPOT."""
    ttft, tpot = number(slos.get("time_to_first_token")), number(slos.get("inter_token_latency"))
    return Slo(ttft, tpot) if ttft is not None or tpot is not None else None


def _gpus(telemetry: dict) -> tuple[str | None, int | None]:
    """The GPUs AIPerf's telemetry saw (DCGM or NVML on the endpoints it scraped): their name when all share one,
    and their count."""
    gpus = _telemetry_gpus(telemetry)
    names = {str(g.get("gpu_name") or "") for g in gpus} - {""}
    return (names.pop() if len(names) == 1 else None), (len(gpus) or None)


def _telemetry_gpus(telemetry: dict) -> list[dict]:
    return [g for e in (telemetry.get("endpoints") or {}).values() if isinstance(e, dict)
            for g in (e.get("gpus") or {}).values() if isinstance(g, dict)]


POWER = ("nvidia_power_usage", "amd_power")  # W, per GPU
UTILIZATION = ("nvidia_gpu_utilization",)  # %, per GPU


def telemetry_cells(telemetry: dict) -> dict:
    """avg_power_w: the GPUs' mean power summed (W), where every GPU reports it; gpu_util_pct: their mean
    utilisation, averaged over the GPUs (%)."""
    gpus = _telemetry_gpus(telemetry)

    def per_gpu(names: tuple[str, ...], unit: str) -> list[float] | None:
        found = []
        for g in gpus:
            m = next((g["metrics"][n] for n in names if isinstance((g.get("metrics") or {}).get(n), dict)), None)
            x = number(m.get("avg")) if m and str(m.get("unit")) == unit else None
            if x is None:
                return None
            found.append(x)
        return found or None

    power, util = per_gpu(POWER, "W"), per_gpu(UTILIZATION, "%")
    return {k: v for k, v in {"avg_power_w": sum(power) if power else None,
                              "gpu_util_pct": sum(util) / len(util) if util else None}.items() if v is not None}


def _time(text) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def is_records(first: dict) -> bool:
    return isinstance(first, dict) and "metadata" in first and isinstance(first.get("metrics"), dict) and \
        "request_start_ns" in (first.get("metadata") or {})


def records_beside(path: Path) -> list[dict] | None:
    """AIPerf's per-request records in the summary's folder: the one .jsonl file there whose records are
    AIPerf's (told by their content); None when there is none, or more than one."""
    found = []
    for p in sorted(path.parent.glob("*.jsonl")):
        try:
            with p.open("rb") as f:
                first = f.readline().decode("utf-8")
            if is_records(json.loads(first)):
                found.append(p)
        except (OSError, ValueError):
            continue
    if len(found) != 1:
        return None
    return json_lines(found[0], found[0].read_text(encoding="utf-8"))


def _value(metric, factor_to: dict = TO_MS) -> float | None:
    """A record's metric {value, unit} in ms (times) or as it is (counts)."""
    if not isinstance(metric, dict):
        return None
    factor = factor_to.get(str(metric.get("unit") or "").lower(), 1.0)
    x = number(metric.get("value"))
    return None if x is None else x * factor


def record_requests(records: list[dict]) -> list:
    """The profiling phase's records as bench's request records (warm-up records left out)."""
    rows = [r for r in records if (r.get("metadata") or {}).get("benchmark_phase", "profiling") == "profiling"]
    starts = [number((r.get("metadata") or {}).get("request_start_ns")) for r in rows]
    t0 = min((s for s in starts if s is not None), default=0.0)
    out = []
    for i, (r, start) in enumerate(zip(rows, starts)):
        m = r.get("metrics") or {}
        meta = r.get("metadata") or {}
        ok = r.get("error") is None and not meta.get("was_cancelled")
        ttft, e2e = _value(m.get("time_to_first_token")), _value(m.get("request_latency"))
        gaps = m.get("inter_chunk_latency") or {}
        unit = TO_MS.get(str(gaps.get("unit") or "").lower(), 1.0)
        values = gaps.get("value") if isinstance(gaps.get("value"), list) else []
        out.append(streamed_request(
            i, prompt_len=whole(_value(m.get("input_sequence_length"), {})) or 0,
            output_len=whole(_value(m.get("output_sequence_length"), {})) or 0,
            ttft_s=ttft / 1000.0 if ok and ttft is not None else None,
            e2e_s=e2e / 1000.0 if ok and e2e is not None else None,
            chunk_gaps_s=[float(g) * unit / 1000.0 for g in values] if ok and ttft is not None else None,
            start_s=((start or t0) - t0) / 1e9, success=ok,
            error=str((r.get("error") or {}).get("message") or "") if r.get("error") else ""))
    return out


def read_csv(path: Path, rows: list[list[str]], sha: str, records: list[dict] | None) -> SourceFile:
    """The CSV export: its two metric tables (distributions, then scalars) as the JSON's {tag: {unit, ...}}."""
    metrics: dict = {}
    header: list[str] = []
    for row in rows:
        if not row or not row[0]:
            header = []
            continue
        if row[0] == "Metric" or row[0] == "Endpoint":
            header = row if row[0] == "Metric" else []
            continue
        if not header:
            continue
        title, unit = _title(row[0])
        tag = CSV_TAGS.get(title.lower(), title.lower().replace(" ", "_"))
        if header[1:2] == ["Value"]:
            metrics[tag] = {"unit": unit, "avg": row[1] if len(row) > 1 else None}
        else:
            metrics[tag] = {"unit": unit, **{k: v for k, v in zip(header[1:], row[1:]) if v != ""}}
    b = Benchmark(1, "the profile", native={"metrics": metrics})
    b.cells = summary_cells(metrics)
    b.duration_s = b.cells.get("elapsed_s")
    if records is not None:
        b.requests = record_requests(records)
    b.problem = _problem(b.cells, {})
    return SourceFile(path, "aiperf-csv", "aiperf", "", sha, [b])


def _title(text: str) -> tuple[str, str]:
    """'Time to First Token (ms)' -> ('Time to First Token', 'ms'); a title without a unit -> (title, '')."""
    m = re.fullmatch(r"(.*?) \(([^()]*)\)", text.strip())
    return (m.group(1), m.group(2)) if m and not text.startswith("Completed Requests") else (text.strip(), "")


