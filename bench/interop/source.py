"""Another tool's results file, as read: which tool and format wrote it (told by its content, never by its name),
its sha256, and its benchmarks, each as the cells the file gives for bench's columns (units converted) plus its
per-request records where the file keeps them.

The readers (one module per tool) fill these; bench.interop.rows turns one benchmark into a bench row.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError
from bench.measure.streaming import Slo, StreamedRequest


@dataclass(frozen=True)
class Given:
    """What the command line supplies where a file is silent: the model, the hardware.yaml card and the GPUs the
    benchmark ran on. A row labels each value taken from here (`given_columns`), never as measured."""

    model: str | None = None
    hardware: str | None = None
    gpus: int | None = None
    slo: Slo | None = None  # the latency targets goodput is recomputed under, where the file states none


@dataclass
class Benchmark:
    """One benchmark (one load point) of a file. `cells`: bench columns -> the file's values, in bench's units;
    `requests`: per-request records (None when the file keeps none); `problem`: why it cannot become a row."""

    index: int
    label: str  # how messages name it: "benchmark 2 (concurrency 4)"
    cells: dict = field(default_factory=dict)
    requests: list[StreamedRequest] | None = None
    duration_s: float | None = None  # the window the tool divides by (throughput = tokens / duration)
    slo: Slo | None = None  # the file's own latency targets
    model: str | None = None  # the model as the file names it
    hardware: str | None = None  # the accelerator as the file names it
    gpus: int | None = None
    when: dt.datetime | None = None  # the benchmark's start, as the file states it
    native: dict = field(default_factory=dict)  # the tool's own summary, as written (kept in the row's JSON)
    problem: str = ""


@dataclass
class SourceFile:
    path: Path
    format: str  # vllm-bench-serve, vllm-bench-throughput, aiperf-json, aiperf-csv, guidellm, br0.2
    tool: str  # the program that wrote it, as it names itself ("" when the file does not say)
    tool_version: str  # "" when the file does not say
    sha256: str
    benchmarks: list[Benchmark]

    @property
    def usable(self) -> list[Benchmark]:
        return [b for b in self.benchmarks if not b.problem]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_json(path: Path, text: str):
    """A JSON document, or BenchError naming the file and where it stops (a truncated copy, an unfinished run)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = "ends before the document does (truncated)" if e.pos >= len(text.rstrip()) else \
            f"is not valid JSON at line {e.lineno} column {e.colno} ({e.msg})"
        raise BenchError(f"{path}: {where}; give the whole file the tool wrote") from None


def json_lines(path: Path, text: str) -> list:
    """Concatenated JSON documents, one per line (`vllm bench serve --append-result`, AIPerf's per-record export)."""
    return [parse_json(path, line) for line in text.splitlines() if line.strip()]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def number(value) -> float | None:
    """A finite number from a file's field (int, float or numeric text); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def whole(value) -> int | None:
    x = number(value)
    return int(x) if x is not None and x == int(x) else None


# Statistics names -> bench's column suffixes: the percentiles bench's schema declares.
STATS = {"mean": "mean", "avg": "mean", "p50": "p50", "median": "p50", "p90": "p90", "p99": "p99"}


def stat_cells(prefix: str, stats: dict | None, to_ms: float, declared) -> dict:
    """{'ttft_p50_ms': ...} from a tool's statistics {'avg': .., 'p50': ..} in the tool's unit x `to_ms`; only the
    columns bench declares (`declared`: names), so a p95 the schema has no column for is left to the JSON."""
    out = {}
    for key, suffix in STATS.items():
        x = number((stats or {}).get(key))
        name = f"{prefix}_{suffix}_ms"
        if x is not None and name in declared and name not in out:
            out[name] = x * to_ms
    return out
