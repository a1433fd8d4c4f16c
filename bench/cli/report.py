"""`bench report RESULTS.csv... --out DIR`: registered by bench.cli. Bad input (a file that is not a
bench CSV or has another schema version, no ok row, unknown hardware or vendor) prints one line,
exits 2 and writes nothing."""

from __future__ import annotations

import datetime as dt

from pathlib import Path

from bench.cli.argtypes import fraction, names, positive
from bench.cli.hwprice import add_hardware_price_options, hardware_price_kwargs
from bench.cli.prices import add_price_options, warn_if_stale


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
    v = p.add_argument_group("the verdict block (first on the page)")
    v.add_argument("--utilization", type=fraction, default=1.0, metavar="U",
                   help="share of paid hours doing useful work, (0, 1], for the self-hosted cost (default 1)")
    v.add_argument("--slo-ttft-ms", type=positive, default=None, metavar="T", help="time-to-first-token target, ms")
    v.add_argument("--slo-tpot-ms", type=positive, default=None, metavar="P", help="time-per-output-token target, ms")
    v.add_argument("--slo-percentile", type=int, choices=[50, 99], default=99,
                   help="percentile the targets apply to (default 99)")
    v.add_argument("--traffic", default=None, metavar="N/day",
                   help="tokens a day to size GPUs for: 500M/day, 120B/day (see bench plan)")
    v.add_argument("--peak-to-mean", type=positive, default=2.0, metavar="K",
                   help="busiest hour / the day's mean, for the GPU count (default 2)")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from bench.analysis.frontier import Slo
    from bench.analysis.plan import parse_traffic
    from bench.analysis.report.build import ReportOptions, build_report, write_report
    from bench.analysis.report.verdict import VerdictInputs
    from bench.config.prices import in_force, load_prices
    from bench.config.hardware import load_hardware
    from bench.core.errors import BenchError
    from bench.results.outputs import check_report_dir, same_file
    from bench.studies.seed_claims import claims_section

    check_report_dir(args.out, list(args.results))
    for i, path in enumerate(args.results):  # its rows would count as repeats of themselves
        earlier = next((p for p in args.results[:i] if same_file(p, path) or p == path), None)
        if earlier is not None:
            raise BenchError(f"{path} is given twice ({earlier} and {path}); its rows would be counted twice: "
                             "list each file once")

    traffic = None
    if args.traffic is not None:
        try:  # requests a day are counted at 1,024 tokens each (768 in / 256 out)
            traffic = parse_traffic(args.traffic, 1024)
        except ValueError as e:
            raise BenchError(f"--traffic: {e}") from None
    verdict = VerdictInputs(utilization=args.utilization, slo=Slo(args.slo_ttft_ms, args.slo_tpot_ms,
                                                                  args.slo_percentile),
                            traffic_tokens_per_day=traffic, peak_to_mean=args.peak_to_mean)
    opts = ReportOptions(hardware=args.hardware, basis=args.basis, as_of=args.as_of, mix=args.mix,
                         fx_cny_per_usd=args.fx_cny_per_usd, vendors=args.vendors,
                         hardware_price=tuple(hardware_price_kwargs(args, load_hardware()).items()), verdict=verdict,
                         extra_sections=(claims_section,))
    report = build_report(list(args.results), opts)
    index = write_report(report, args.out)
    as_of = args.as_of or dt.date.today()
    warn_if_stale(in_force(load_prices(), as_of, args.vendors).prices, as_of)
    charts = sum(1 for s in report.sections if s.png is not None)
    skipped = [s.title for s in report.sections if s.png is None and s.note.startswith("Skipped")]
    print(f"{charts} chart(s)" + (f"; skipped for lack of data: {', '.join(skipped)}" if skipped else ""))
    print(f"report: {index} (+ {args.out / 'report.md'})")
    return 0
