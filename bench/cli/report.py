"""`bench report RESULTS.csv... --out DIR`: registered by bench.cli. Bad input (a file that is not a
bench CSV or has another schema version, no ok row, unknown hardware or vendor) prints one line,
exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

from bench.cli.argtypes import names
from bench.cli.hwprice import add_hardware_price_options, hardware_price_kwargs
from bench.cli.prices import add_price_options


def add_report_command(sub) -> None:
    p = sub.add_parser("report", help="one page (HTML + Markdown + PNG charts) from results CSVs")
    p.add_argument("results", type=Path, nargs="+", metavar="RESULTS.csv", help="results CSVs (any number)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for index.html, report.md and the charts (created; files of the same names replaced)")
    p.add_argument("--hardware", default=None, metavar="NAME",
                   help="hardware.yaml name that prices rows naming none of their own (bench run --hardware, sim rows)")
    p.add_argument("--basis", choices=["rental", "owned", "tco"], default="rental",
                   help="price basis of self-hosted costs, as in bench cost (rows whose card lacks this price are "
                        "listed as not priced; give one with --gpu-cny-per-hour NAME=X)")
    p.add_argument("--vendors", type=names, default=None, metavar="A,B",
                   help="vendors or vendor models to show (default: every price in force)")
    add_price_options(p)
    add_hardware_price_options(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from bench.analysis.report.build import ReportOptions, build_report, write_report
    from bench.config.hardware import load_hardware
    from bench.errors import BenchError
    from bench.results.outputs import check_report_dir, same_file

    check_report_dir(args.out, list(args.results))
    for i, path in enumerate(args.results):  # its rows would count as repeats of themselves
        earlier = next((p for p in args.results[:i] if same_file(p, path) or p == path), None)
        if earlier is not None:
            raise BenchError(f"{path} is given twice ({earlier} and {path}); its rows would be counted twice: "
                             "list each file once")

    opts = ReportOptions(hardware=args.hardware, basis=args.basis, as_of=args.as_of, mix=args.mix,
                         fx_cny_per_usd=args.fx_cny_per_usd, vendors=args.vendors,
                         hardware_price=tuple(hardware_price_kwargs(args, load_hardware()).items()))
    report = build_report(list(args.results), opts)
    index = write_report(report, args.out)
    charts = sum(1 for s in report.sections if s.png is not None)
    skipped = [s.title for s in report.sections if s.png is None and s.note.startswith("Skipped")]
    print(f"{charts} chart(s)" + (f"; skipped for lack of data: {', '.join(skipped)}" if skipped else ""))
    print(f"report: {index} (+ {args.out / 'report.md'})")
    return 0
