"""Two results files, case by case: what changed, in which direction, and whether it is noise.

Rows of both files are matched by a case key (the workload and engine options that define a
case, not the machine or software that ran it). Each side of a case may hold several rows (the
same case run again, --repeats): their median is the figure, their min..max the spread, and with two or
more rows their mean's 95% t-interval (bench.measure.uncertainty). Per metric:

    change   = new median - base median          pct = change / |base median|
    verdict  = "within noise"  when |pct| <= threshold, or the two sides' min..max ranges
                               overlap while at least one side was repeated, or both sides were
                               repeated and their 95% t-intervals overlap;
               "better"/"worse" otherwise, by the metric's direction (throughput up is better,
                               latency, memory, energy and cost up are worse);
               "missing"       when one side has no value.

A regression is a "worse" verdict. With both sides repeated, p_change is 1 - p of Welch's t-test (unequal
variances) on the means: how confident a real change is, whatever the verdict. Differences in environment (GPU, engine, vLLM version,
weights...) between the matched rows are listed, never hidden: they are usually the point.
Rows hold values (bench.results.typed reads the files: a number is a number, an empty cell None or NaN);
rows of texts (csv.DictReader's) are read as values by the same rule first. Pure functions;
bench/cli/compare.py reads the files and prints.
"""

from __future__ import annotations

import math
import numbers
import statistics
from dataclasses import dataclass, field

from bench.core.errors import close_names
from bench.core.errors import BenchError
from bench.measure import uncertainty
from bench.results import cells, schema

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
               "dataset", "dataset_sha256", "prefix_caching")  # the workload's data and the cache
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
    mean: float | None = None
    sd: float | None = None  # sample standard deviation (n - 1); None for one row

    @property
    def interval(self) -> tuple[float, float] | None:
        """The mean's 95% t-interval; None for one row."""
        if self.mean is None or self.sd is None:
            return None
        return uncertainty.interval_from_stats(self.n, self.mean, self.sd)

    @property
    def relative_range(self) -> float:
        """(max - min) / |median|: 0 for one row."""
        if self.n < 2 or self.max == self.min:
            return 0.0
        return math.inf if self.median == 0 else (self.max - self.min) / abs(self.median)


def spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    sd = statistics.stdev(values) if len(values) > 1 else None
    return Spread(n=len(values), median=statistics.median(values), min=min(values), max=max(values),
                  mean=statistics.fmean(values), sd=sd)


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
    a, b = base.interval, new.interval
    if a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]:  # the 95% t-intervals overlap
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
    p_change: float | None = None  # 1 - Welch's p with both sides repeated (see the module doc)

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
    """One cell of a case key as text, so that 16 and 16.0 match; empty for absent."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return f"{float(v):g}" if math.isfinite(v) else str(float(v))
    return str(v).strip()


def as_frame(rows):
    """Rows as a pandas DataFrame of values: a frame (bench.results.typed.read_frame) as it is; dicts (typed rows,
    or csv.DictReader's texts) read by the schema's kinds (bench.results.cells)."""
    import pandas as pd

    return rows if isinstance(rows, pd.DataFrame) else cells.frame(pd.DataFrame(list(rows)))


def values(frame, column: str):
    """A column's figures as float64, NaN where empty, infinite, not a number (a column the schema does not declare
    holds texts: bench.results.cells reads them as numbers), or where the frame lacks the column."""
    import numpy as np
    import pandas as pd

    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    x = frame[column] if frame[column].dtype.kind in "fiu" else cells.numbers(frame[column])
    x = x.astype(float)
    return x.where(np.isfinite(x))


def key_texts(frame, column: str):
    """key_value of every cell of a column ("" where the frame lacks it), computed once per distinct value."""
    import numpy as np
    import pandas as pd

    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    codes, uniques = pd.factorize(frame[column])  # NaN -> code -1
    texts = np.array([key_value(u) for u in uniques] + [""], dtype=object)
    return pd.Series(texts[codes], index=frame.index, dtype=object)


KEY_SEP = "\x1f"  # joins a case key's cells into one text (a unit separator: never in a cell)


def case_keys(frame, key_columns: list[str]):
    """Each row's case key as one text: its key_value cells joined by KEY_SEP (split back with split_key)."""
    import pandas as pd

    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    parts = [key_texts(frame, c) for c in key_columns]
    return parts[0].str.cat(parts[1:], sep=KEY_SEP) if len(parts) > 1 else parts[0]


def split_key(text: str) -> tuple[str, ...]:
    return tuple(text.split(KEY_SEP))


def case_key(row: dict, key_columns: list[str]) -> tuple[str, ...]:
    return tuple(key_value(row.get(c)) for c in key_columns)


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


def has_values(rows, column: str) -> bool:
    return bool(values(as_frame(rows), column).notna().any())


def resolve_metrics(requested: list[str] | None, base_header: list[str], new_header: list[str],
                    base_rows, new_rows) -> list[str]:
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
    base_rows, new_rows = as_frame(base_rows), as_frame(new_rows)
    chosen = [m for m in DEFAULT_METRICS if has_values(base_rows, m) and has_values(new_rows, m)]
    if not chosen:
        raise BenchError("the two files share none of the default metrics "
                         f"({', '.join(DEFAULT_METRICS)}); name some with --metrics")
    return chosen


def env_differences(base_rows, new_rows) -> list[EnvDifference]:
    base_rows, new_rows = as_frame(base_rows), as_frame(new_rows)
    out = []
    for col in ENV_COLUMNS:
        b, n = (sorted({v.strip() for v in _texts(f, col).unique()}) for f in (base_rows, new_rows))
        if b != n:
            out.append(EnvDifference(col, b, n))
    return out


def _texts(frame, column: str):
    """A column's cells as text as the CSV holds them ("" where empty or absent; an int column holding an empty
    cell is float64 in a frame: its 1.0 is 1 again)."""
    import pandas as pd

    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    col = frame[column]
    if col.dtype.kind == "f" and column in schema.BY_NAME and schema.BY_NAME[column].kind == "int":
        col = col.map(lambda x: str(int(x)) if x.is_integer() else repr(x), na_action="ignore")
    return col.astype(object).where(col.notna(), "").astype(str)


def ok_rows(rows):
    """The rows whose status is ok (or empty), as a frame."""
    frame = as_frame(rows)
    if "status" not in frame.columns:
        return frame
    return frame[_texts(frame, "status").isin(["ok", ""])]


AGGREGATES = ("count", "median", "min", "max", "mean", "std")


def _per_case(frame, keys, metrics: list[str]):
    """(case keys in first-seen order, rows per case, {metric: {aggregate: array}}) of a frame's ok rows, whose
    case keys (case_keys) are `keys`."""
    import pandas as pd

    data = pd.DataFrame({m: values(frame, m) for m in metrics}, index=frame.index)
    data["_key"] = keys
    grouped = data.groupby("_key", sort=False)
    agg = grouped[list(metrics)].agg(list(AGGREGATES)) if metrics else None
    sizes = grouped.size()
    stats = {m: {a: agg[(m, a)].to_numpy() for a in AGGREGATES} for m in metrics}
    return list(sizes.index), sizes.to_numpy(), stats


def _spread_at(stats: dict, i: int) -> Spread | None:
    n = int(stats["count"][i])
    if n == 0:
        return None
    sd = float(stats["std"][i]) if n > 1 else None  # pandas' std is the sample one (n - 1)
    return Spread(n=n, median=float(stats["median"][i]), min=float(stats["min"][i]), max=float(stats["max"][i]),
                  mean=float(stats["mean"][i]), sd=sd)


def p_change(base: Spread | None, new: Spread | None) -> float | None:
    if base is None or new is None or base.sd is None or new.sd is None:
        return None
    return uncertainty.change_confidence(base.n, base.mean, base.sd, new.n, new.mean, new.sd)


def compare(base_rows, new_rows, key_columns: list[str], metrics: list[str], threshold: float) -> Comparison:
    """Match ok rows by case key and compare each metric. BenchError when no case is in both.

    Rows may be frames (bench.results.typed.read_frame) or dicts; each side is grouped by case key in one
    pandas groupby (count, median, min, max per metric), so the cost grows with the rows, not their square."""
    base_all, new_all = as_frame(base_rows), as_frame(new_rows)
    base_ok, new_ok = ok_rows(base_all), ok_rows(new_all)
    base_row_keys, new_row_keys = case_keys(base_ok, key_columns), case_keys(new_ok, key_columns)
    base_keys, base_n, base_stats = _per_case(base_ok, base_row_keys, metrics)
    new_keys, new_n, new_stats = _per_case(new_ok, new_row_keys, metrics)
    new_at = {k: i for i, k in enumerate(new_keys)}
    base_at = {k: i for i, k in enumerate(base_keys)}
    common = sorted((k for k in base_keys if k in new_at), key=split_key)
    if not common:
        sample = split_key(base_keys[0]) if base_keys else None
        shown = ", ".join(f"{c}={v}" for c, v in zip(key_columns, sample)) if sample else "no ok rows"
        raise BenchError(f"no case is in both files (key: {', '.join(key_columns)}; a BASE case: {shown}); "
                         "choose a shorter --key")
    directions = {m: direction(m) for m in metrics}
    cases = []
    for k in common:
        i, j = base_at[k], new_at[k]
        changes = []
        for m in metrics:
            base, new = _spread_at(base_stats[m], i), _spread_at(new_stats[m], j)
            change = pct_change = None
            if base is not None and new is not None:
                change = new.median - base.median
                pct_change = relative_change(base.median, new.median)
            changes.append(MetricChange(metric=m, direction=directions[m], base=base, new=new, change=change,
                                        pct_change=pct_change, verdict=verdict(base, new, directions[m], threshold),
                                        p_change=p_change(base, new)))
        cases.append(CaseComparison(key=split_key(k), base_rows=int(base_n[i]), new_rows=int(new_n[j]),
                                    changes=changes))
    common_set = set(common)
    base_matched = base_ok[base_row_keys.isin(common_set).to_numpy()]
    new_matched = new_ok[new_row_keys.isin(common_set).to_numpy()]
    return Comparison(
        key_columns=list(key_columns), metrics=list(metrics), threshold=threshold, cases=cases,
        only_base=sorted(split_key(k) for k in base_keys if k not in new_at),
        only_new=sorted(split_key(k) for k in new_keys if k not in base_at),
        env_differences=env_differences(base_matched, new_matched),
        skipped_base=len(base_all) - len(base_ok), skipped_new=len(new_all) - len(new_ok),
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
