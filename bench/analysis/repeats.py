"""A case's repeats as one row: what the report and the plan stand on when a case ran several times.

A case is one row's workload and engine options (bench.analysis.compare.DEFAULT_KEY and the serving load columns)
on one machine and engine (ENV_CASE_COLUMNS). Its row holds the medians of its rows' figures, the first row's
text cells, `_rows` the rows it stands for, and `_tok_s_rel_hw` (bench.analysis.plan_points.REL_HW): the 95%
t-interval's half-width of its output tok/s over their mean (bench.measure.uncertainty; None for one row), which
every cost figure's interval is built from (bench.analysis.intervals). The other figures a report's chart draws
with error bars (CHARTED: latency percentiles, energy per token) get the same, in `rel_hw_column(column)`.
"""

from __future__ import annotations

from bench.analysis.compare import DEFAULT_KEY, LOAD_COLUMNS, as_frame, case_key
from bench.analysis.plan_points import REL_HW, RUNS
from bench.execution.rounds import HEADLINE  # the figure --until-ci judges a case by: its interval here
from bench.measure import uncertainty

# With the workload key: what ran the case (rows that differ in these are different lines on a chart).
ENV_CASE_COLUMNS = ("engine", "device", "device_name", "hardware", "weights", "architecture", "range_ratio")
# Figures besides output tok/s that a report's chart draws with their repeats' interval (bench.analysis.report).
CHARTED = ("ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms", "joules_per_output_token")


def rel_hw_column(column: str) -> str:
    """The cell of a case's row holding `column`'s 95% t half-width over its mean (module doc)."""
    return REL_HW if column == HEADLINE else f"_rel_hw_{column}"


def case_columns(columns) -> list[str]:
    """The columns of a file that define a case, in a fixed order."""
    have = set(columns)
    return [c for c in (*DEFAULT_KEY, *LOAD_COLUMNS, *ENV_CASE_COLUMNS) if c in have]


def one_per_case(frame):
    """One row per case (module doc); cases in the order of their first row. Empty cells become None (as a dict
    row has them)."""
    import pandas as pd

    keys = case_columns(frame.columns)
    grouped = frame.groupby(keys, dropna=False, sort=False)
    numeric = [c for c in frame.columns if c not in keys and frame[c].dtype.kind in "fiu"]
    text = [c for c in frame.columns if c not in keys and c not in numeric]
    parts = [grouped[text].first()] if text else []
    if numeric:
        parts.append(grouped[numeric].median())
    # .copy() joins the parts' blocks into one, so reset_index's inserts do not trip pandas' fragmentation warning
    out = pd.concat(parts, axis=1).copy().reset_index() if parts else grouped.size().reset_index()[keys]
    extra = {"_rows": grouped.size().to_numpy()}
    spread = [c for c in (HEADLINE, *CHARTED) if c in numeric]
    if spread:
        stats = grouped[spread].agg(["count", "mean", "std"])  # one pass over the groups for every column
        for column in spread:
            s = stats[column]
            extra[rel_hw_column(column)] = uncertainty.rel_half_widths(s["count"], s["mean"], s["std"])
    out = pd.concat([out, pd.DataFrame(extra, index=out.index)], axis=1)
    columns = [*frame.columns, *extra]
    out = out[columns].astype(object)
    return out.where(out.notna(), None)


def rows_per_case(rows: list[dict]) -> list[dict]:
    """Dict rows (bench.interop.read.read_rows) one per case, by one_per_case; `_runs` the rows each stands for.
    Rows that are all different cases come back as they are."""
    keys = [case_key(r, case_columns({c for r in rows for c in r})) for r in rows]
    if len(set(keys)) == len(keys):  # no repeats: the rows as they are
        return rows
    out = one_per_case(as_frame(rows)).to_dict("records")
    for r in out:
        r[RUNS] = int(r.pop("_rows"))
    return out
