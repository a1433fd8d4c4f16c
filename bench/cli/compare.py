"""`bench compare BASE.csv NEW.csv`: registered by bench.cli; prints, writes --out, sets the exit code.

Exit 0: no regression beyond the threshold; 1: at least one metric is worse beyond it (for CI);
2: bad input (a file that is not a bench CSV, another schema version, no common case, an unknown
column or metric), one line, nothing written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.analysis import compare as cmp
from bench.cli.argtypes import names
from bench.core.errors import BenchError
from bench.display.compare import OUT_COLUMNS_AFTER_KEY

EXIT_REGRESSION = 1


def _threshold(text: str) -> float:
    try:
        return cmp.parse_threshold(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_compare_command(sub) -> None:
    p = sub.add_parser("compare", help="compare two results CSVs case by case; exit 1 on a regression (for CI)")
    p.add_argument("base", type=Path, metavar="BASE.csv", help="the reference results (a results CSV, or another "
                   "tool's results file: docs/interop.md)")
    p.add_argument("new", type=Path, metavar="NEW.csv", help="the results to judge")
    p.add_argument("--key", type=names, default=None, metavar="A,B",
                   help=f"columns that define a case (default: {','.join(cmp.DEFAULT_KEY)}, plus serving load "
                        "columns where present)")
    p.add_argument("--threshold", type=_threshold, default=0.05, metavar="PCT",
                   help="smallest change that counts, in percent (default 5%%)")
    p.add_argument("--metrics", type=names, default=None, metavar="A,B",
                   help="metrics to compare (default: those of output_tok_s, ttft_p99_ms, tpot_p99_ms, "
                        "cny_per_m_blended, ... that both files hold)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.csv|FILE.md",
                   help="also write the comparison: .csv one line per case x metric, .md the printed report")
    p.set_defaults(func=cmd_compare)


def _written_by_compare(first_line: bytes) -> bool:
    """The first line of a file bench compare wrote: the Markdown title, or a CSV header ending in its columns."""
    return first_line == b"# bench compare" or first_line.endswith(",".join(OUT_COLUMNS_AFTER_KEY).encode())


def cmd_compare(args) -> int:
    from bench.display.compare import print_comparison, to_csv, to_markdown
    from bench.interop import read
    from bench.results import store as results
    from bench.results.outputs import check_table_out

    out: Path | None = args.out
    if out is not None:
        check_table_out(out, [args.base, args.new], (".csv", ".md"), _written_by_compare,
                        "a comparison written by bench compare")
    wanted = {*cmp.DEFAULT_KEY, *cmp.LOAD_COLUMNS, *cmp.DEFAULT_METRICS, *cmp.ENV_COLUMNS, "status",
              *(args.key or ()), *(args.metrics or ())}
    base_header, base_rows = read.read_frame(args.base, columns=wanted)  # another tool's file: its rows (interop)
    new_header, new_rows = read.read_frame(args.new, columns=wanted)
    for side, path, rows in (("BASE", args.base, base_rows), ("NEW", args.new, new_rows)):
        if len(cmp.ok_rows(rows)) == 0:  # else "the two files share none of the default metrics" misled
            raise BenchError(f"{side} {path} has no row with status ok ({len(rows)} row(s) in all); nothing to "
                             "compare: give a file with finished runs")
    key = cmp.resolve_key(args.key, base_header, new_header)
    metrics = cmp.resolve_metrics(args.metrics, base_header, new_header, cmp.ok_rows(base_rows),
                                  cmp.ok_rows(new_rows))
    c = cmp.compare(base_rows, new_rows, key, metrics, args.threshold)
    print_comparison(c, args.base, args.new)
    if out is not None:
        data = to_markdown(c, args.base, args.new).encode() if out.suffix.lower() == ".md" else to_csv(c)
        results.write_atomic(out, data)
        print(f"wrote {out}")
    return EXIT_REGRESSION if c.regressions else 0
