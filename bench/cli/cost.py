"""`bench cost`: CNY per million tokens of measured runs, beside every vendor's API price.

Bad input (unknown hardware or vendor, a results CSV without the needed columns, an as-of date
before every price) prints one line and exits 2, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.cli.prices import vendor_use_of, warn_if_stale
from bench.config.flags import option
from bench.config.given import GivenGpus, GivenModel
from bench.config.pricing import (GpuHourOptions, MoneyOptions, PriceDayOptions, PricedAsOptions, SloOptions,
                                  VendorChoiceOptions, VendorTermsOptions, VendorVolumeOptions)
from bench.core.errors import BenchError

# The shared options bench cost takes (bench.config.pricing), after its own (CostCommand).
PRICING = (GpuHourOptions, MoneyOptions, PriceDayOptions, PricedAsOptions, VendorChoiceOptions, VendorTermsOptions,
           VendorVolumeOptions, SloOptions)


class CostCommand(BaseModel):
    """bench cost's own options: the results to price, the card for rows naming none, and where the table goes."""

    results: Path = option(help="a results CSV written by `bench run`, or another tool's results file (vLLM bench, "
                                "AIPerf, GuideLLM, Benchmark Report v0.2; docs/interop.md)", positional=True,
                           metavar="RESULTS.csv")
    hardware: str | None = option(None, "hardware.yaml name (case-insensitive) for rows naming none of their own; a "
                                        "row that names its hardware (bench run --hardware, sim rows) is priced on "
                                        "it (see --what-if-hardware)", metavar="NAME")
    out: Path | None = option(None, "also write the comparison as CSV", metavar="FILE.csv")


def add_cost_command(sub) -> None:
    add_command(sub, "cost", "CNY per million tokens of measured runs, beside every vendor's API price", cmd_cost,
                (CostCommand, GivenModel, GivenGpus, *PRICING))


def run_traffic(row: dict, use):
    """`use` with the traffic of a measured row: its tokens a minute (total_tok_s x 60) and requests a
    minute (completed requests / elapsed_s x 60), so the API keys column says how many keys of each
    vendor match the throughput of the hardware the run used."""
    from dataclasses import replace

    tok_s, elapsed = row.get("total_tok_s"), row.get("elapsed_s")
    requests = row.get("completed") or row.get("num_prompts")
    rpm = requests / elapsed * 60 if requests and elapsed else None
    return replace(use, traffic_tokens_per_min=tok_s * 60 if tok_s else None, traffic_requests_per_min=rpm)


def slo_costs(slo, priced: list) -> list:
    """With --slo-ttft-ms/--slo-tpot-ms (`slo`, a bench.measure.slo.Slo): the cost at the point meeting them, per
    model x hardware (bench.analysis.slo); BenchError naming the best available point when no row meets them."""
    from bench.analysis.plan_build import describe_point
    from bench.analysis.slo import cost_at_slo

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
    from bench.display.interop import disagreement_line, source_line
    from bench.cost.pricing import (OUT_COLUMNS, check_columns, compare, cost_options, out_record, row_vendor_use,
                                    self_cost)
    from bench.config.hardware import canonical_name, load_hardware
    from bench.config.prices import in_force, load_prices
    from bench.cost.matching import vendors_for, wants_all

    # Everything is checked and computed before anything is printed or written.
    command = parsed(args, CostCommand, "bench cost")
    given = {model: parsed(args, model, "bench cost") for model in PRICING}
    vendors = given[VendorChoiceOptions].vendors
    terms = given[VendorTermsOptions]
    volume = given[VendorVolumeOptions]
    if command.out:
        from bench.results.outputs import check_table_out, config_files

        lead = ",".join(OUT_COLUMNS[:4]).encode() + b","  # a cost table of any bench version starts so
        check_table_out(command.out, [command.results, *config_files()], (".csv",),
                        lambda first: first.startswith(lead), "a cost table written by bench cost")
    hardware_book = load_hardware()
    opts = cost_options(*given.values(), hardware=command.hardware)
    if opts.hardware:
        canonical_name(opts.hardware, hardware_book)
    as_of = given[PriceDayOptions].as_of or dt.date.today()
    price_book = load_prices()
    in_force(price_book, as_of, None if wants_all(vendors) else vendors)  # bad dates and names: exit 2
    path: Path = command.results
    from bench.cli.interop import given_of
    from bench.interop import read

    if not path.is_dir():
        results.check_results_file(path)
        if not read.is_bench_csv(path) and read.kind_of(path) is None:
            header = results.read_header(path)
            if header:  # a CSV of neither kind: name the columns cost lacks
                check_columns(header, str(path))
    # a bench CSV as compare and report read it (another schema version is refused); another tool's file as rows
    header, rows = read.read_rows(path, given_of(args, command.hardware), read.PRICE, disagreements=False)
    check_columns(header, str(path))
    measured = [r for r in rows if r.get("status") == "ok"]
    if not measured:
        raise BenchError(f"{path} has no row with status ok; nothing to price")
    use = vendor_use_of(terms, volume)
    given_traffic = volume.traffic_tpm is not None or volume.traffic_rpm is not None
    blocks, unpriced, matched, notes, priced = [], [], {}, [], []
    stands_on: dict[int, str | None] = {}
    for row in measured:
        try:
            mine = self_cost(row, opts, hardware_book)
        except BenchError as e:  # a mixed CSV: price the rest, say which rows could not be
            unpriced.append(f"run {row.get('run_id') or '?'} not priced: {e}")
            continue
        row_use = use if given_traffic else run_traffic(row, use)
        row_use = row_vendor_use(row, row_use, hit_rate_given=terms.cache_hit_rate is not None)
        if mine.model not in matched:
            matched[mine.model], left_out = vendors_for(mine.model, vendors, as_of, price_book)
            notes += left_out
        lengths = row.get("input_len"), row.get("output_len")  # a tiered price: the run's tier (None: default)
        comparisons = sorted((compare(mine, p.for_request(*lengths), opts, row_use, as_of)
                              for p, _ in matched[mine.model]),
                             key=lambda c: (c.vendor_cny_per_m_blended, c.vendor, c.vendor_model))
        blocks.append((mine, comparisons))
        priced.append((row, mine))
        stands_on[id(mine)] = throughput_line(row)
    if not blocks:
        raise BenchError(unpriced[0] if len(unpriced) == 1 else
                         f"no row could be priced ({len(unpriced)}): " + "; ".join(unpriced))

    warn_if_stale([p for found in matched.values() for p, _ in found], as_of)
    slo = given[SloOptions].slo
    at_slo = slo_costs(slo, priced)
    keys_for = "--traffic-tpm/--traffic-rpm" if given_traffic else "this run's tokens and requests a minute"
    from bench.cost.predicted import prediction_of

    for (mine, comparisons), (row, _) in zip(blocks, priced):
        print_self_cost(mine, comparisons, as_of, keys_for=keys_for, matches=matched[mine.model],
                        prediction=prediction_of(row))
        if stands_on[id(mine)]:  # what the cost stands on: measured or predicted tok/s, the bound beside it
            console.print(f"  {stands_on[id(mine)]}", soft_wrap=True, highlight=False, markup=False)
        for line in (source_line(row), disagreement_line(row)):  # another tool's row: its source, what was given
            if line:
                console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)
    from bench.analysis.intervals import case_costs
    from bench.display.cost import print_case_intervals

    print_case_intervals(case_costs([(row, mine, comparisons) for (mine, comparisons), (row, _) in zip(blocks, priced)]))
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
        print_cost_at_slo(at_slo, slo, {m.model: c for m, c in blocks})
    skipped = len(rows) - len(measured)
    if skipped:
        console.print(f"skipped {skipped} row(s) whose status is not ok")
    if command.out:
        records = [out_record(mine, c, opts, as_of) for mine, comparisons in blocks for c in (comparisons or [None])]
        results.write_atomic(command.out, csv_records(OUT_COLUMNS, records))
        console.print(f"wrote {len(records)} line(s) to {command.out}")
    return 0
