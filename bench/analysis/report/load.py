"""Results files -> the report's runs, at any size: each file read in one columnar pass
(bench.results.typed.read_frame), repeated rows of a case collapsed to one run of their medians in one
pandas groupby, and the workloads that get their own charts chosen, so that the page stays one readable
size whether the files hold ten rows or a hundred thousand.

A case, for the report, is one row's workload and engine options (bench.analysis.compare.DEFAULT_KEY and
the serving load columns) on one machine and engine (ENV_CASE_COLUMNS) in one file: its figures are the
medians of its rows, its text cells the first row's, and `Run.rows` counts the rows it stands for.
"""

from __future__ import annotations

from pathlib import Path

from bench.analysis.repeats import ENV_CASE_COLUMNS, case_columns, one_per_case  # noqa: F401 (the report's names)
from bench.analysis.plan_points import RUNS
from bench.analysis.report.cost import row_hardware
from bench.analysis.report.model import Run, by_key, rows_of
from bench.config.hardware import HardwareBook
from bench.core.errors import BenchError
from bench.interop.source import Given

# Workloads drawn as their own throughput and latency charts; the others are one table (workloads_section).
MAX_WORKLOAD_CHARTS = 4


def load_runs(paths: list[Path], default_hardware: str | None, book: HardwareBook,
              given: Given = Given()) -> tuple[list[Run], list[str]]:
    """Ok rows of every file as Runs (one per case, see the module doc), and a line per file (rows read, rows
    left out, cases). A file of another tool is read as bench rows (bench.interop), `given` filling what it does
    not say."""
    from bench.analysis.compare import ok_rows
    from bench.interop import read

    runs, lines = [], []
    for path in paths:
        _, frame = read.read_frame(path, given=given)
        ok = ok_rows(frame)
        cases = one_per_case(ok).to_dict("records") if len(ok) else []
        for r in cases:
            n = r.pop("_rows")
            r[RUNS] = int(n)
            runs.append(Run(r, path.name, row_hardware(r, default_hardware, book), rows=int(n)))
        left = len(frame) - len(ok)
        line = f"{path.name}: {len(frame)} row(s)" + (f", {left} not ok (left out)" if left else "")
        if len(cases) < len(ok):
            line += f"; {len(cases)} distinct case(s), each shown as the median of its rows"
        lines.append(line + source_note(frame))
    if not runs:
        raise BenchError(f"no row with status ok in {', '.join(str(p) for p in paths)}; nothing to report")
    return runs, lines


def source_note(frame) -> str:
    """' (measured by aiperf 0.13.0; given on the command line, not measured: model, hardware)' for rows read from
    another tool's file (bench.interop), '' for bench's own."""
    if "source_format" not in frame.columns:
        return ""
    tools = sorted({" ".join(x for x in (str(t or f), str(v or "")) if x) for t, v, f in
                    zip(frame.get("source_tool", ""), frame.get("source_tool_version", ""), frame["source_format"])
                    if f})
    if not tools:
        return ""
    given = sorted({c for cols in frame.get("given_columns", []) if cols for c in str(cols).split(",")})
    return f" (measured by {', '.join(tools)}" + (f"; given on the command line, not measured: {', '.join(given)}"
                                                    if given else "") + ")"


def charted_workloads(runs: list[Run], limit: int | None = None) -> list[str]:
    """The workloads that get their own charts: at most `limit` (default MAX_WORKLOAD_CHARTS), those compared
    across the most series (model x machine x engine), then with the most rows, then first seen."""
    limit = MAX_WORKLOAD_CHARTS if limit is None else limit
    groups = list(by_key(runs, lambda r: r.workload).items())
    order = sorted(range(len(groups)), key=lambda i: (-len({r.series for r in groups[i][1]}),
                                                      -rows_of(groups[i][1]), i))
    return [groups[i][0] for i in order[:limit]]
