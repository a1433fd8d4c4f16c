"""Two results files, case by case: what changed, in which direction, and whether it is noise.

Rows of both files are matched by a case key (the workload and engine options that define a
case, not the machine or software that ran it). Each side of a case may hold several rows (the
same case run again): their median is the figure, their min..max the spread. Per metric:

    change   = new median - base median          pct = change / |base median|
    verdict  = "within noise"  when |pct| <= threshold, or the two sides' min..max ranges
                               overlap while at least one side was repeated;
               "better"/"worse" otherwise, by the metric's direction (throughput up is better,
                               latency, memory, energy and cost up are worse);
               "missing"       when one side has no value.

A regression is a "worse" verdict. Differences in environment (GPU, engine, vLLM version,
weights...) between the matched rows are listed, never hidden: they are usually the point.
Pure functions; bench/cli/compare.py reads the files and prints.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from bench.config.catalog import close_names
from bench.cost.pricing import number
from bench.errors import BenchError
from bench.results import schema

HIGHER_IS_BETTER = schema.HIGHER
LOWER_IS_BETTER = schema.LOWER

# Directions of the declared columns (bench/results/schema.py).
DIRECTIONS = schema.directions()
# Columns not declared (a file of another tool, a later bench): by their unit suffix (latencies in ms, ...).
SUFFIX_DIRECTIONS = (("_tok_s", HIGHER_IS_BETTER), ("_req_s", HIGHER_IS_BETTER), ("_per_s", HIGHER_IS_BETTER),
                     ("_ms", LOWER_IS_BETTER), ("_s", LOWER_IS_BETTER), ("_gb", LOWER_IS_BETTER),
                     ("_j", LOWER_IS_BETTER), ("_w", LOWER_IS_BETTER))
PREFIX_DIRECTIONS = (("cny_per_m", LOWER_IS_BETTER), ("joules_per", LOWER_IS_BETTER))

# Compared by default, where both files have them.
DEFAULT_METRICS = (
    "output_tok_s", "total_tok_s", "requests_per_s", "goodput_req_s", "ttft_p50_ms", "ttft_p99_ms",
    "tpot_p50_ms", "tpot_p99_ms", "itl_p50_ms", "itl_p99_ms", "e2e_p99_ms", "kv_capacity_tokens",
    "cny_per_m_blended", "joules_per_output_token", "efficiency",
)
# What defines a case: the workload and the engine options. Load columns of serving rows join
# the key where a file has them.
DEFAULT_KEY = ("model", "input_len", "output_len", "num_prompts", "length_dist", "max_num_seqs",
               "tensor_parallel_size", "pipeline_parallel_size", "dtype", "kv_cache_dtype",
               "dataset", "dataset_sha256", "prefix_caching")  # issue 15: the workload's data and the cache
LOAD_COLUMNS = schema.LOAD_KEYS
# What ran the case: listed above the table when base and new differ.
ENV_COLUMNS = ("engine", "device", "device_name", "hardware", "gpu_count", "weights", "vllm_version",
               "torch_version", "driver_version", "cpu_model", "hostname", "git_sha", "max_model_len")

VERDICTS = ("better", "worse", "within noise", "missing")


def direction(metric: str) -> int | None:
    """+1 when a larger value is better, -1 when smaller is better, None when unknown."""
    if metric in DIRECTIONS:
        return DIRECTIONS[metric]
    for prefix, d in PREFIX_DIRECTIONS:
        if metric.startswith(prefix):
            return d
    for suffix, d in SUFFIX_DIRECTIONS:
        if metric.endswith(suffix):
            return d
    return None


@dataclass(frozen=True)
class Spread:
    """The values one side holds for one metric of one case."""

    n: int
    median: float
    min: float
    max: float

    @property
    def relative_range(self) -> float:
        """(max - min) / |median|: 0 for one row."""
        if self.n < 2 or self.max == self.min:
            return 0.0
        return math.inf if self.median == 0 else (self.max - self.min) / abs(self.median)


def spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    return Spread(n=len(values), median=statistics.median(values), min=min(values), max=max(values))


def relative_change(base: float, new: float) -> float:
    """(new - base) / |base|; 0 when both are 0, +-inf from a base of 0."""
    if base == 0:
        return 0.0 if new == 0 else math.copysign(math.inf, new)
    return (new - base) / abs(base)


def verdict(base: Spread | None, new: Spread | None, metric_direction: int, threshold: float) -> str:
    """See the module doc. `threshold` is a fraction: 0.05 for 5%."""
    if base is None or new is None:
        return "missing"
    change = relative_change(base.median, new.median)
    if abs(change) <= threshold:
        return "within noise"
    repeated = base.n > 1 or new.n > 1
    if repeated and base.min <= new.max and new.min <= base.max:
        return "within noise"
    return "better" if change * metric_direction > 0 else "worse"


@dataclass(frozen=True)
class MetricChange:
    metric: str
    direction: int
    base: Spread | None
    new: Spread | None
    change: float | None  # new median - base median, in the metric's unit
    pct_change: float | None  # a fraction: -0.2 for -20%
    verdict: str

    @property
    def noise(self) -> float:
        """The larger relative min..max range of the two sides (0 without repeats)."""
        return max((s.relative_range for s in (self.base, self.new) if s is not None), default=0.0)


@dataclass(frozen=True)
class CaseComparison:
    key: tuple[str, ...]
    base_rows: int
    new_rows: int
    changes: list[MetricChange]


@dataclass(frozen=True)
class EnvDifference:
    column: str
    base_values: list[str]
    new_values: list[str]


@dataclass
class Comparison:
    key_columns: list[str]
    metrics: list[str]
    threshold: float
    cases: list[CaseComparison]
    only_base: list[tuple[str, ...]] = field(default_factory=list)
    only_new: list[tuple[str, ...]] = field(default_factory=list)
    env_differences: list[EnvDifference] = field(default_factory=list)
    skipped_base: int = 0  # rows whose status is not ok
    skipped_new: int = 0

    def with_verdict(self, wanted: str) -> list[tuple[CaseComparison, MetricChange]]:
        return [(c, m) for c in self.cases for m in c.changes if m.verdict == wanted]

    @property
    def regressions(self) -> list[tuple[CaseComparison, MetricChange]]:
        return self.with_verdict("worse")


def key_value(v) -> str:
    """One cell of a case key, so that '16', '16.0' and 16 match; empty for absent."""
    if v is None:
        return ""
    text = str(v).strip()
    try:
        x = float(text)
    except ValueError:
        return text
    return f"{x:g}" if math.isfinite(x) else text


def case_key(row: dict, key_columns: list[str]) -> tuple[str, ...]:
    return tuple(key_value(row.get(c)) for c in key_columns)


def group(rows: list[dict], key_columns: list[str]) -> dict[tuple[str, ...], list[dict]]:
    out: dict[tuple[str, ...], list[dict]] = {}
    for r in rows:
        out.setdefault(case_key(r, key_columns), []).append(r)
    return out


def resolve_key(requested: list[str] | None, base_header: list[str], new_header: list[str]) -> list[str]:
    """--key as given (every column must exist in both files), else the DEFAULT_KEY columns both
    files have (an older file may lack some) and the load columns either has (an offline row and
    a serving row are different cases)."""
    if requested:
        check_columns(requested, base_header, new_header, "--key")
        return list(requested)
    both, either = set(base_header) & set(new_header), set(base_header) | set(new_header)
    return [c for c in DEFAULT_KEY if c in both] + [c for c in LOAD_COLUMNS if c in either]


def check_columns(names: list[str], base_header: list[str], new_header: list[str], option: str) -> None:
    for name in names:
        missing = [side for side, header in (("BASE", base_header), ("NEW", new_header)) if name not in header]
        if len(missing) == 2:
            hint = close_names(name, sorted(set(base_header) | set(new_header)))
            did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise BenchError(f"{option}: no column '{name}' in either file{did_you_mean}")
        if missing:
            raise BenchError(f"{option}: column '{name}' is only in {'NEW' if missing == ['BASE'] else 'BASE'} "
                             f"(the {missing[0]} file was written by an older or other bench); leave it out")


def has_values(rows: list[dict], column: str) -> bool:
    return any(number(r, column) is not None for r in rows)


def resolve_metrics(requested: list[str] | None, base_header: list[str], new_header: list[str],
                    base_rows: list[dict], new_rows: list[dict]) -> list[str]:
    """--metrics as given (each must exist in both files and have a known direction), else the
    DEFAULT_METRICS that both files hold values for."""
    if requested:
        check_columns(requested, base_header, new_header, "--metrics")
        unknown = [m for m in requested if direction(m) is None]
        if unknown:
            raise BenchError(f"--metrics: '{unknown[0]}' is not a metric with a known direction "
                             f"(known: {', '.join(sorted(DIRECTIONS))}, and names ending in _ms, _s, _tok_s, "
                             "_gb or starting with cny_per_m)")
        return list(requested)
    chosen = [m for m in DEFAULT_METRICS if has_values(base_rows, m) and has_values(new_rows, m)]
    if not chosen:
        raise BenchError("the two files share none of the default metrics "
                         f"({', '.join(DEFAULT_METRICS)}); name some with --metrics")
    return chosen


def compare_metric(metric: str, base_rows: list[dict], new_rows: list[dict], threshold: float) -> MetricChange:
    d = direction(metric)
    base = spread([x for x in (number(r, metric) for r in base_rows) if x is not None])
    new = spread([x for x in (number(r, metric) for r in new_rows) if x is not None])
    change = pct_change = None
    if base is not None and new is not None:
        change = new.median - base.median
        pct_change = relative_change(base.median, new.median)
    return MetricChange(metric=metric, direction=d, base=base, new=new, change=change, pct_change=pct_change,
                        verdict=verdict(base, new, d, threshold))


def env_differences(base_rows: list[dict], new_rows: list[dict]) -> list[EnvDifference]:
    out = []
    for col in ENV_COLUMNS:
        b = sorted({str(r.get(col) or "").strip() for r in base_rows})
        n = sorted({str(r.get(col) or "").strip() for r in new_rows})
        if b != n:
            out.append(EnvDifference(col, b, n))
    return out


def ok_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if (r.get("status") or "ok") == "ok"]


def compare(base_rows: list[dict], new_rows: list[dict], key_columns: list[str], metrics: list[str],
            threshold: float) -> Comparison:
    """Match ok rows by case key and compare each metric. BenchError when no case is in both."""
    base_ok, new_ok = ok_rows(base_rows), ok_rows(new_rows)
    base_cases, new_cases = group(base_ok, key_columns), group(new_ok, key_columns)
    common = [k for k in base_cases if k in new_cases]
    if not common:
        sample = next(iter(base_cases), None)
        shown = ", ".join(f"{c}={v}" for c, v in zip(key_columns, sample)) if sample else "no ok rows"
        raise BenchError(f"no case is in both files (key: {', '.join(key_columns)}; a BASE case: {shown}); "
                         "choose a shorter --key")
    cases = [CaseComparison(key=k, base_rows=len(base_cases[k]), new_rows=len(new_cases[k]),
                            changes=[compare_metric(m, base_cases[k], new_cases[k], threshold) for m in metrics])
             for k in sorted(common)]
    matched_base = [r for k in common for r in base_cases[k]]
    matched_new = [r for k in common for r in new_cases[k]]
    return Comparison(
        key_columns=list(key_columns), metrics=list(metrics), threshold=threshold, cases=cases,
        only_base=sorted(k for k in base_cases if k not in new_cases),
        only_new=sorted(k for k in new_cases if k not in base_cases),
        env_differences=env_differences(matched_base, matched_new),
        skipped_base=len(base_rows) - len(base_ok), skipped_new=len(new_rows) - len(new_ok),
    )


def parse_threshold(text: str) -> float:
    """'5%' or '5' -> 0.05 (a percentage, the sign ignored); ValueError on anything else."""
    t = text.strip().rstrip("%").strip()
    try:
        x = float(t)
    except ValueError:
        raise ValueError(f"expected a percentage such as 5%, got {text!r}") from None
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"expected a percentage >= 0 such as 5%, got {text!r}")
    return x / 100.0
