"""`bench cost`: CNY per million tokens of measured runs, beside every vendor's API price.

Bad input (unknown hardware or vendor, a results CSV without the needed columns, an as-of date
before every price) prints one line and exits 2, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.cli.argtypes import fraction, names, non_negative, positive
from bench.cli.hwprice import add_hardware_price_options, hardware_price_kwargs
from bench.cli.prices import add_price_options, add_vendor_use_options, vendor_use_of
from bench.cost import formulas as cost
from bench.core.errors import BenchError


def add_cost_command(sub) -> None:
    p = sub.add_parser("cost", help="CNY per million tokens of measured runs, beside every vendor's API price")
    p.add_argument("results", type=Path, metavar="RESULTS.csv", help="a results CSV written by `bench run`")
    p.add_argument("--hardware", default=None, metavar="NAME",
                   help="hardware.yaml name (case-insensitive) for rows naming none of their own; a row that names "
                        "its hardware (bench run --hardware, sim rows) is priced on it (see --what-if-hardware)")
    p.add_argument("--basis", choices=["rental", "owned", "tco"], default="rental",
                   help="rental: price per card-hour; owned: purchase amortised + GPU energy + hosting; tco: all-in "
                        "owning (card + host share + networking, host power, colocation, cost of capital; docs/cost.md)")
    add_hardware_price_options(p)
    p.add_argument("--utilization", type=fraction, default=1.0, metavar="U",
                   help="share of paid hours doing useful work, (0, 1]; cost per token is divided by it (default 1)")
    p.add_argument("--vendors", type=names, default=None, metavar="A,B|all",
                   help="vendors or vendor models to compare, comma-separated; all: every price in force (default: "
                        "each row's model's like-for-like API models, models.yaml compare_with)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.csv", help="also write the comparison as CSV")
    add_price_options(p)
    add_vendor_use_options(p)
    slo = p.add_argument_group("latency target: the cost at the batch that meets it (docs/plan.md)")
    slo.add_argument("--slo-ttft-ms", type=positive, default=None, metavar="T", help="time-to-first-token target, ms")
    slo.add_argument("--slo-tpot-ms", type=positive, default=None, metavar="P", help="time-per-output-token target, ms")
    slo.add_argument("--slo-percentile", type=int, choices=[50, 99], default=99,
                     help="percentile the targets apply to (default 99)")
    owned = p.add_argument_group("owned basis")
    owned.add_argument("--years", type=positive, default=cost.DEFAULT_AMORTIZATION_YEARS, metavar="N",
                       help=f"amortisation period (default {cost.DEFAULT_AMORTIZATION_YEARS:g})")
    owned.add_argument("--electricity-cny-per-kwh", type=non_negative, default=cost.DEFAULT_ELECTRICITY_CNY_PER_KWH,
                       metavar="X",
                       help=f"electricity price (default {cost.DEFAULT_ELECTRICITY_CNY_PER_KWH})")
    owned.add_argument("--pue", type=positive, default=cost.DEFAULT_PUE, metavar="X",
                       help=f"data-centre power usage effectiveness (default {cost.DEFAULT_PUE})")
    owned.add_argument("--hosting-cny-per-month", type=non_negative,
                       default=cost.DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD, metavar="X",
                       help="rack, network and operations per card per month "
                            f"(default {cost.DEFAULT_HOSTING_CNY_PER_MONTH_PER_CARD:g})")
    owned.add_argument("--cost-of-capital", type=non_negative, default=0.0, metavar="R",
                       help="tco basis: cost of capital per year, e.g. 0.1 (default 0: straight line; no sourced figure)")
    owned.add_argument("--colocation-cny-per-kw-month", type=non_negative, default=None, metavar="X",
                       help="tco basis: data-centre space per kW of IT load per month (default USD 150 at the FX rate)")
    p.set_defaults(func=cmd_cost)


def run_traffic(row: dict, use):
    """`use` with the traffic of a measured row: its tokens a minute (total_tok_s x 60) and requests a
    minute (completed requests / elapsed_s x 60), so the API keys column says how many keys of each
    vendor match the throughput of the hardware the run used."""
    from dataclasses import replace

    from bench.cost.pricing import number

    tok_s, elapsed = number(row, "total_tok_s"), number(row, "elapsed_s")
    requests = number(row, "completed") or number(row, "num_prompts")
    rpm = requests / elapsed * 60 if requests and elapsed else None
    return replace(use, traffic_tokens_per_min=tok_s * 60 if tok_s else None, traffic_requests_per_min=rpm)


def args_slo(args):
    from bench.analysis.frontier import Slo

    return Slo(args.slo_ttft_ms, args.slo_tpot_ms, args.slo_percentile)


def slo_costs(args, priced: list) -> list:
    """With --slo-ttft-ms/--slo-tpot-ms: the cost at the point meeting them, per model x hardware (bench.analysis.slo);
    BenchError naming the best available point when no row meets them."""
    from bench.analysis.plan_build import describe_point
    from bench.analysis.slo import cost_at_slo

    slo = args_slo(args)
    if not slo.given:
        return []
    found = cost_at_slo(priced, slo)
    if found and not any(c.op for c in found):
        from bench.analysis.frontier import shortfall

        c = min((c for c in found if c.best), key=lambda c: shortfall(c.best, slo))
        raise BenchError(f"no row meets {slo.text()}; the best available: "
                         f"{describe_point(c.hardware, c.best, slo.percentile)}; relax the targets")
    return found


def cmd_cost(args) -> int:
    from bench.core.tables import csv_records
    from bench.results import store as results
    from bench.display.cost import console, print_cost_at_slo, print_self_cost, throughput_line
    from bench.cost.pricing import (OUT_COLUMNS, CostOptions, check_columns, compare, out_record, row_vendor_use,
                                    self_cost)
    from bench.config.hardware import canonical_name, load_hardware
    from bench.config.prices import in_force, load_prices
    from bench.cost.matching import vendors_for, wants_all

    # Everything is checked and computed before anything is printed or written.
    if args.out:
        from bench.results.outputs import check_table_out, config_files

        lead = ",".join(OUT_COLUMNS[:4]).encode() + b","  # a cost table of any bench version starts so
        check_table_out(args.out, [args.results, *config_files()], (".csv",), lambda first: first.startswith(lead),
                        "a cost table written by bench cost")
    hardware_book = load_hardware()
    opts = CostOptions(
        hardware=args.hardware, basis=args.basis, mix=args.mix,
        utilization=args.utilization, fx_cny_per_usd=args.fx_cny_per_usd, amortization_years=args.years,
        electricity_cny_per_kwh=args.electricity_cny_per_kwh, pue=args.pue,
        hosting_cny_per_month_per_card=args.hosting_cny_per_month, cost_of_capital_per_year=args.cost_of_capital,
        colocation_cny_per_kw_month=args.colocation_cny_per_kw_month, **hardware_price_kwargs(args, hardware_book),
    )
    if opts.hardware:
        canonical_name(opts.hardware, hardware_book)
    as_of = args.as_of or dt.date.today()
    price_book = load_prices()
    in_force(price_book, as_of, None if wants_all(args.vendors) else args.vendors)  # bad dates and names: exit 2
    path: Path = args.results
    results.check_results_file(path)
    header = results.read_header(path)
    if header and not results.is_bench_header(header):  # another tool's CSV: name the columns cost lacks
        check_columns(header, str(path))
    header, rows = results.read_results(path)  # as compare and report read it: another schema version is refused
    check_columns(header, str(path))
    measured = [r for r in rows if r.get("status") == "ok"]
    if not measured:
        raise BenchError(f"{path} has no row with status ok; nothing to price")
    use = vendor_use_of(args)
    given_traffic = args.traffic_tpm is not None or args.traffic_rpm is not None
    blocks, unpriced, matched, notes, priced = [], [], {}, [], []
    stands_on: dict[int, str | None] = {}
    for row in measured:
        try:
            mine = self_cost(row, opts, hardware_book)
        except BenchError as e:  # a mixed CSV: price the rest, say which rows could not be
            unpriced.append(f"run {row.get('run_id') or '?'} not priced: {e}")
            continue
        row_use = use if given_traffic else run_traffic(row, use)
        row_use = row_vendor_use(row, row_use, hit_rate_given=args.cache_hit_rate is not None)
        if mine.model not in matched:
            matched[mine.model], left_out = vendors_for(mine.model, args.vendors, as_of, price_book)
            notes += left_out
        comparisons = sorted((compare(mine, p, opts, row_use, as_of) for p, _ in matched[mine.model]),
                             key=lambda c: (c.vendor_cny_per_m_blended, c.vendor, c.vendor_model))
        blocks.append((mine, comparisons))
        priced.append((row, mine))
        stands_on[id(mine)] = throughput_line(row)
    if not blocks:
        raise BenchError(unpriced[0] if len(unpriced) == 1 else
                         f"no row could be priced ({len(unpriced)}): " + "; ".join(unpriced))

    at_slo = slo_costs(args, priced)
    keys_for = "--traffic-tpm/--traffic-rpm" if given_traffic else "this run's tokens and requests a minute"
    from bench.cost.predicted import prediction_of

    for (mine, comparisons), (row, _) in zip(blocks, priced):
        print_self_cost(mine, comparisons, as_of, keys_for=keys_for, matches=matched[mine.model],
                        prediction=prediction_of(row))
        if stands_on[id(mine)]:  # what the cost stands on: measured or predicted tok/s, the bound beside it
            console.print(f"  {stands_on[id(mine)]}", soft_wrap=True, highlight=False, markup=False)
    for line in notes:
        console.print(line, highlight=False)
    own = sorted({m.hardware for m, _ in blocks if m.measured_on and m.hardware != opts.hardware and not m.what_if})
    if opts.hardware and own:
        console.print(f"--hardware {opts.hardware} prices only rows naming no hardware; rows that ran on "
                      f"{', '.join(own)} are priced on their own (--what-if-hardware {opts.hardware} prices them as "
                      f"{opts.hardware})")
    for line in unpriced:
        console.print(f"[yellow]{line}[/yellow]")
    if at_slo:
        print_cost_at_slo(at_slo, args_slo(args), {m.model: c for m, c in blocks})
    skipped = len(rows) - len(measured)
    if skipped:
        console.print(f"skipped {skipped} row(s) whose status is not ok")
    if args.out:
        records = [out_record(mine, c, opts, as_of) for mine, comparisons in blocks for c in (comparisons or [None])]
        results.write_atomic(args.out, csv_records(OUT_COLUMNS, records))
        console.print(f"wrote {len(records)} line(s) to {args.out}")
    return 0
