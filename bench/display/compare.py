"""`bench compare`'s output: the printed report (terminal), the Markdown report and the CSV records of
`--out`. Formatting only: every figure comes from bench.analysis.compare.Comparison."""

from __future__ import annotations

from pathlib import Path

from bench.analysis import compare as cmp
from bench.core.formats import num, pct
from bench.core.tables import csv_records, markdown_table

OUT_COLUMNS_AFTER_KEY = ("metric", "direction", "base_median", "base_min", "base_max", "base_n", "new_median",
                         "new_min", "new_max", "new_n", "change", "pct_change", "noise", "verdict",
                         # the 95% t-intervals of repeated sides and Welch's confidence of a change, at the end
                         "base_ci_low", "base_ci_high", "new_ci_low", "new_ci_high", "p_change")


def direction_label(d: int) -> str:
    return "higher is better" if d == cmp.HIGHER_IS_BETTER else "lower is better"


def varying_key_columns(c: cmp.Comparison) -> list[int]:
    """Indexes of the key columns whose value differs between cases (the model column always)."""
    idx = [i for i, col in enumerate(c.key_columns)
           if col == "model" or len({case.key[i] for case in c.cases}) > 1]
    return idx or [0]


def shared_key_text(c: cmp.Comparison) -> str:
    shown = set(varying_key_columns(c))
    return ", ".join(f"{col}={c.cases[0].key[i] or '-'}" for i, col in enumerate(c.key_columns) if i not in shown)


def case_label(c: cmp.Comparison, case: cmp.CaseComparison, shown: list[int] | None = None) -> str:
    """The key cells that tell this case from the others (`shown`: varying_key_columns(c), computed once)."""
    shown = varying_key_columns(c) if shown is None else shown
    return " ".join(f"{c.key_columns[i]}={case.key[i] or '-'}" if c.key_columns[i] != "model" else case.key[i]
                    for i in shown)


def spread_text(s: cmp.Spread | None) -> str:
    if s is None:
        return "-"
    if s.n == 1:
        return num(s.median)
    return f"{num(s.median)} ({num(s.min)}..{num(s.max)}, n={s.n})"


def verdict_text(m: cmp.MetricChange) -> str:
    """The verdict, with Welch's confidence of a real change where both sides were repeated."""
    if m.p_change is None:
        return m.verdict
    return f"{m.verdict} ({m.p_change:.0%} sure of a change, Welch)"


def summary_line(c: cmp.Comparison) -> str:
    worse = c.regressions
    if worse:
        shown = varying_key_columns(c)
        names = "; ".join(f"{case_label(c, case, shown)} {m.metric} {pct(m.pct_change, signed=True)}"
                          for case, m in worse[:5])
        more = f" and {len(worse) - 5} more" if len(worse) > 5 else ""
        return f"REGRESSION: {len(worse)} metric(s) worse beyond {pct(c.threshold)}: {names}{more}"
    better = len(c.with_verdict("better"))
    return (f"no regression beyond {pct(c.threshold)} ({len(c.cases)} case(s); {better} metric(s) "
            "better)")


def header_lines(c: cmp.Comparison, base: Path, new: Path) -> list[str]:
    lines = [f"BASE {base} vs NEW {new}; key: {', '.join(c.key_columns)}; "
             f"threshold {pct(c.threshold)}"]
    counts = f"{len(c.cases)} case(s) in both"
    if c.only_base:
        counts += f"; {len(c.only_base)} only in BASE"
    if c.only_new:
        counts += f"; {len(c.only_new)} only in NEW"
    if c.skipped_base or c.skipped_new:
        counts += f"; rows not ok, left out: {c.skipped_base} in BASE, {c.skipped_new} in NEW"
    lines.append(counts)
    shared = shared_key_text(c)
    if shared:
        lines.append(f"every case: {shared}")
    return lines


# The printed table (and the .md report) shows at most this many case x metric lines; --out FILE.csv has all.
MAX_TABLE_LINES = 60
# Which lines come first when some are left out: regressions, then improvements, then missing values.
VERDICT_ORDER = {"worse": 0, "better": 1, "missing": 2, "within noise": 3}


def shown_changes(c: cmp.Comparison, limit: int | None = None) -> list[tuple[cmp.CaseComparison, cmp.MetricChange]]:
    """Every case x metric line in case order when there are at most `limit` (default MAX_TABLE_LINES); else the
    `limit` that matter most: regressions, improvements, missing values, within noise, each largest |change| first."""
    limit = MAX_TABLE_LINES if limit is None else limit
    lines = [(case, m) for case in c.cases for m in case.changes]
    if len(lines) <= limit:
        return lines

    def rank(line):
        m = line[1]
        return VERDICT_ORDER[m.verdict], -abs(m.pct_change if m.pct_change is not None else 0.0)

    return sorted(lines, key=rank)[:limit]


def left_out_line(c: cmp.Comparison, shown: int) -> str:
    """What the bounded table left out, by verdict; "" when it shows everything."""
    counts = {v: len(c.with_verdict(v)) for v in cmp.VERDICTS}
    total = sum(counts.values())
    if shown >= total:
        return ""
    by_verdict = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return (f"showing {shown} of {total} case x metric lines ({by_verdict}): regressions first, then improvements, "
            "missing values, within noise, largest change first; --out FILE.csv writes every line")


def table_rows(c: cmp.Comparison, lines=None) -> list[list[str]]:
    shown = varying_key_columns(c)
    lines = shown_changes(c) if lines is None else lines
    return [[case_label(c, case, shown), m.metric, spread_text(m.base), spread_text(m.new), num(m.change),
             pct(m.pct_change, signed=True), verdict_text(m)] for case, m in lines]


TABLE_HEADERS = ["case", "metric", "BASE median (min..max, n)", "NEW median (min..max, n)", "change", "%", "verdict"]


def env_rows(c: cmp.Comparison) -> list[list[str]]:
    return [[d.column, ", ".join(v or "(empty)" for v in d.base_values),
             ", ".join(v or "(empty)" for v in d.new_values)] for d in c.env_differences]


def to_markdown(c: cmp.Comparison, base: Path, new: Path) -> str:
    parts = ["# bench compare\n", "\n".join(f"- {line}" for line in header_lines(c, base, new)) + "\n"]
    parts.append("\n## Environment differences\n\n")
    parts.append(markdown_table(["column", "BASE", "NEW"], env_rows(c)) if c.env_differences
                 else "None: the matched rows ran on the same machine and software.\n")
    parts.append("\n## Metrics\n\n")
    parts.append("Verdicts know each metric's direction (throughput up is better; latency, memory, energy and "
                 "cost up are worse). Within noise: the change is within the threshold, or the min..max "
                 "ranges of repeated rows overlap, or both sides were repeated and the 95% t-intervals of their "
                 "means overlap; then \"N% sure of a change\" is 1 - p of Welch's t-test.\n\n")
    rows = table_rows(c)
    parts.append(markdown_table(TABLE_HEADERS, rows))
    left_out = left_out_line(c, len(rows))
    if left_out:
        parts.append(f"\n{left_out[0].upper()}{left_out[1:]}.\n")
    parts.append(f"\n**{summary_line(c)}**\n")
    return "".join(parts)


def to_records(c: cmp.Comparison) -> list[dict]:
    out = []
    for case in c.cases:
        for m in case.changes:
            rec = dict(zip(c.key_columns, case.key))
            rec.update({"metric": m.metric, "direction": direction_label(m.direction), "change": m.change,
                        "pct_change": m.pct_change, "noise": m.noise, "verdict": m.verdict})
            for side, s in (("base", m.base), ("new", m.new)):
                rec.update({f"{side}_median": s and s.median, f"{side}_min": s and s.min,
                            f"{side}_max": s and s.max, f"{side}_n": s.n if s else 0})
            for side, s in (("base", m.base), ("new", m.new)):  # after the columns of earlier releases
                ci = s.interval if s else None
                rec.update({f"{side}_ci_low": ci and ci[0], f"{side}_ci_high": ci and ci[1]})
            rec["p_change"] = m.p_change
            out.append(rec)
    return out


def to_csv(c: cmp.Comparison) -> bytes:
    """`--out FILE.csv`: one line per case x metric, the raw numbers (bench.core.tables.csv_table's cells)."""
    return csv_records([*c.key_columns, *OUT_COLUMNS_AFTER_KEY], to_records(c))


def print_comparison(c: cmp.Comparison, base: Path, new: Path) -> None:
    from rich.table import Table

    from bench.display.run import console

    for line in header_lines(c, base, new):
        console.print(line, highlight=False)
    if c.env_differences:
        t = Table(title="environment differences", title_justify="left")
        for h in ("column", "BASE", "NEW"):
            t.add_column(h)
        for r in env_rows(c):
            t.add_row(*r)
        console.print(t)
    t = Table(title="metrics", title_justify="left")
    for i, h in enumerate(TABLE_HEADERS):
        t.add_column(h, justify="right" if 2 <= i <= 5 else "left")
    colour = {"better": "green", "worse": "bold red", "within noise": "", "missing": "dim"}
    rows = table_rows(c)
    for r in rows:
        style = colour[r[-1].split(" (")[0]]  # the verdict, before Welch's confidence
        t.add_row(*r[:-1], f"[{style}]{r[-1]}[/{style}]" if style else r[-1])
    console.print(t)
    left_out = left_out_line(c, len(rows))
    if left_out:
        console.print(left_out, highlight=False)
    console.print(summary_line(c), highlight=False, style="bold red" if c.regressions else "bold")
