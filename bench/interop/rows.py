"""One benchmark of another tool's file -> one bench results row (and the JSON kept beside it).

The row holds what the file says, in bench's columns and units. Where the file keeps per-request records, the
latency percentiles, ITL, throughput and goodput are recomputed from them by bench's own code
(bench.measure.streaming.compute_serve_metrics), the tool's own summary is kept in the JSON, and every figure where
the two differ by more than DISAGREEMENT is named in `tool_disagreement`. What the file does not say stays empty;
the model, the card and the GPU count may come from the command line (Given), and the row lists those in
`given_columns`: they were given, not measured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from bench.config import catalog as catalog_mod
from bench.config.hardware import HardwareBook, canonical_name, from_device_name
from bench.core.errors import BenchError
from bench.interop.source import Benchmark, Given, SourceFile
from bench.measure.streaming import compute_serve_metrics
from bench.results.schema import BY_NAME, SCHEMA_VERSION

DISAGREEMENT = 0.01  # a recomputed figure more than 1% away from the tool's own is shown

# What bench recomputes from per-request records (compute_serve_metrics), where the file keeps them.
RECOMPUTED = ("completed", "failed", "input_tokens", "output_tokens", "elapsed_s", "requests_per_s", "input_tok_s",
              "output_tok_s", "total_tok_s", "ttft_mean_ms", "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms",
              "tpot_mean_ms", "tpot_p50_ms", "tpot_p99_ms", "itl_mean_ms", "itl_p50_ms", "itl_p99_ms", "e2e_mean_ms",
              "e2e_p50_ms", "e2e_p99_ms", "mean_concurrency", "tokens_per_chunk_max", "tokens_per_chunk_mean",
              "tpot_unmeasured")
RECOMPUTED_WITH_SLO = ("goodput_req_s", "slo_attainment", "meets_slo")
PER_CHUNK = ("itl_mean_ms", "itl_p50_ms", "itl_p99_ms", "tokens_per_chunk_max", "tokens_per_chunk_mean")

# The engine a format measured: vLLM's offline engine, or a served endpoint seen from its client.
ENGINE = {"vllm-bench-throughput": "vllm"}
ENDPOINT = "openai-endpoint"


def build(src: SourceFile, b: Benchmark, given: Given, book: HardwareBook) -> tuple[dict, dict]:
    """(row, record) of one usable benchmark. BenchError when the command line contradicts the file."""
    cells = dict(b.cells)
    tool_summary: dict = {}
    recomputed_from = None
    slo = b.slo or given.slo
    if b.requests:
        figures = compute_serve_metrics(b.requests, b.duration_s or cells.get("elapsed_s") or 0.0, slo)
        names = RECOMPUTED + (RECOMPUTED_WITH_SLO if slo is not None and slo.given else ())
        if not any(r.chunks for r in b.requests):  # records without chunk times: ITL stays the tool's
            names = tuple(n for n in names if n not in PER_CHUNK)
        tool_summary = {k: cells[k] for k in names if k in cells}
        for k in names:
            cells[k] = figures.get(k)
        recomputed_from = len(b.requests)
        if slo is not None and slo.given:
            cells["slo_ttft_ms"], cells["slo_tpot_ms"] = slo.ttft_ms, slo.tpot_ms
    model, hub_id, model_given = resolve_model(src, b, given.model)
    hardware, hardware_given = resolve_hardware(src, b, given.hardware, book)
    gpus, gpus_given = resolve_gpus(src, b, given.gpus)
    labels = [name for name, on in (("model", model_given), ("hardware", hardware_given), ("gpu_count", gpus_given))
              if on]
    key = hashlib.sha256(f"{src.sha256}:{b.index}".encode()).hexdigest()
    row = {
        **{k: _tidy(v) for k, v in cells.items() if k in BY_NAME},
        "schema_version": SCHEMA_VERSION, "run_id": f"{_stamp(b.when)}-{key[:6]}",
        "timestamp": b.when.isoformat(timespec="seconds") if b.when else None, "config_hash": key[:16],
        "model": model, "hub_id": hub_id, "hardware": hardware, "gpu_count": gpus,
        "device_name": b.hardware,
        "engine": cells.get("engine") or ENGINE.get(src.format, ENDPOINT),
        "engine_version": cells.get("engine_version") or "unknown",
        "status": "ok", "error": "",
        "source_format": src.format, "source_tool": src.tool or None, "source_tool_version": src.tool_version or None,
        "source_file": src.path.name, "source_sha256": src.sha256, "source_benchmark": b.index,
        "given_columns": ",".join(labels) or None, "recomputed_from": recomputed_from,
        "tool_disagreement": disagreements(tool_summary, cells, src.tool or src.format) or None,
    }
    row = {k: v for k, v in row.items() if v is not None and v != ""}
    record = {
        "schema_version": SCHEMA_VERSION, "row": row,
        "source": {"file": str(src.path), "format": src.format, "tool": src.tool, "tool_version": src.tool_version,
                   "sha256": src.sha256, "benchmark": b.index, "label": b.label},
        "given": {"model": given.model, "hardware": given.hardware, "gpus": given.gpus, "columns": labels},
        "tool_summary": tool_summary, "native": b.native,
        "requests": [r.to_dict() for r in b.requests] if b.requests else [],
    }
    return row, record


def disagreements(tool: dict, ours: dict, who: str) -> str:
    """'ttft_p99_ms: aiperf 754.4, bench 760.2 (+0.77%); ...' for every figure more than DISAGREEMENT apart."""
    out = []
    for name, theirs in tool.items():
        mine = ours.get(name)
        if not _is_number(theirs) or not _is_number(mine):
            if (theirs is None) != (mine is None):
                out.append(f"{name}: {who} {_fmt(theirs)}, bench {_fmt(mine)}")
            continue
        if theirs == mine:
            continue
        rel = (mine - theirs) / abs(theirs) if theirs else math.inf
        if abs(rel) > DISAGREEMENT:
            pct = f"{rel * 100:+.1f}%" if math.isfinite(rel) else "from 0"
            out.append(f"{name}: {who} {_fmt(theirs)}, bench {_fmt(mine)} ({pct})")
    return "; ".join(out)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def _tidy(v):
    """A whole float (a mean of 32.0 tokens) as an int, so a count column reads as one."""
    if isinstance(v, float) and math.isfinite(v) and v == int(v) and abs(v) < 2**53:
        return int(v)
    return v


def _stamp(when: dt.datetime | None) -> str:
    """The run id's time part: UTC when the file gives a zone, the file's own clock (no Z) when it gives none."""
    if when is None:
        return "undated"
    if when.tzinfo is not None:
        return when.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return when.strftime("%Y%m%dT%H%M%S")


def catalog_entry(name: str | None):
    """(catalog name, hub id) of a model named by its catalog name or its Hugging Face id (case-insensitive)."""
    if not name:
        return None, None
    cat = catalog_mod.load()
    low = name.strip().lower()
    for key, entry in cat.models.items():
        if key.lower() == low or (entry.hub_id or "").lower() == low:
            return key, entry.hub_id
    return None, None


def resolve_model(src: SourceFile, b: Benchmark, given: str | None) -> tuple[str | None, str | None, bool]:
    """(model, hub id, given?): the file's model when the catalog knows it; else --model (a catalog name), labelled
    given; else the file's own name. --model naming another catalog model than the file's is refused."""
    found, hub = catalog_entry(b.model)
    if given:
        want = catalog_mod.resolve_model(given)  # unknown names: BenchError with did-you-mean
        if found and found != want.name:
            raise BenchError(f"{src.path}: {b.label} ran {b.model} ({found}); --model {given} names another model: "
                             "leave --model out for this file")
        return want.name, want.hub_id, found is None
    if found:
        return found, hub, False
    return b.model or None, None, False


def resolve_hardware(src: SourceFile, b: Benchmark, given: str | None,
                     book: HardwareBook) -> tuple[str | None, bool]:
    """(hardware.yaml card, given?): the accelerator the file names, else --hardware, labelled given."""
    own = None
    if b.hardware:
        try:
            own = canonical_name(b.hardware, book)
        except BenchError:
            own = from_device_name(b.hardware, book)
    if own:
        return own, False
    if given:
        return canonical_name(given, book), True
    return None, False


def resolve_gpus(src: SourceFile, b: Benchmark, given: int | None) -> tuple[int | None, bool]:
    if b.gpus is not None:
        if given is not None and given != b.gpus:
            raise BenchError(f"{src.path}: {b.label} ran on {b.gpus} GPU(s); --gpus {given} says otherwise: leave "
                             "--gpus out for this file")
        return b.gpus, False
    return (given, True) if given is not None else (None, False)
