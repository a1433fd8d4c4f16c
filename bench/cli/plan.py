"""`bench plan`: the fleet a traffic needs on each candidate hardware, its monthly cost on each basis, each
like-for-like vendor's bill for the same traffic, and the break-even volumes (docs/plan.md).

Bad input (unknown model or card, a traffic of 0 or unparseable, an SLO no point meets) prints one line and
exits 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from bench.cli.argtypes import day
from bench.cli.options import add_command, parsed
from bench.config.flags import option
from bench.config.hardware import RENTAL_TIERS
from bench.cost import formulas as cost
from bench.core.errors import BenchError

RentalTier = Literal[tuple(RENTAL_TIERS)]


class PlanOptions(BaseModel):
    model_config = {"protected_namespaces": ()}

    results: list[Path] = option([], "results CSVs (bench run / sweep / serve); measured rows of the model come "
                                     "first, an expected-value prediction (the roofline bound beside it) where a "
                                     "card has none", positional=True, nargs="*", metavar="RESULTS.csv")
    model: str = option(help="catalog name (`bench models`)")
    hardware: str = option(help="candidate hardware.yaml cards, comma-separated (H20,RTX-4090,H100-SXM)",
                           metavar="H[,H2...]")
    traffic: str | None = option(None, "tokens (or requests) a day: 500M/day, 120B/day, 2M req/day, 30k tok/s "
                                       "(required unless --trace has timestamps)", metavar="N/day")
    trace: Path | None = option(None, "a request trace (JSONL or CSV: input/output tokens, optional timestamp): "
                                      "sets the mix, output length, and with timestamps the traffic and "
                                      "peak-to-mean, unless those are given", metavar="FILE")
    mix: str = option("3:1", "input:output tokens of the traffic", metavar="IN:OUT")
    output_len: int = option(256, "output tokens per request (input = output x the mix): requests a minute for "
                                  "rate limits, and the request shape of predicted points", ge=1)
    peak_to_mean: float = option(2.0, "busiest hour's load / the day's mean: the fleet is sized for the peak",
                                 metavar="K", ge=1.0)
    slo_ttft_ms: float | None = option(None, "time-to-first-token target, ms", metavar="T", gt=0)
    slo_tpot_ms: float | None = option(None, "time-per-output-token target, ms", metavar="P", gt=0)
    slo_percentile: Literal[50, 99] = option(99, "percentile the targets apply to")
    basis: Literal["rental", "owned", "tco"] = option("rental", "headline cost basis (all three are shown)")
    vendors: str | None = option(None, "API models or vendors to compare, comma-separated; all: every price in "
                                       "force (default: the model's like-for-like list in models.yaml)",
                                 metavar="A,B|all")
    cache_hit_rate: float = option(0.0, "share of input tokens served from a vendor's context cache", metavar="H",
                                   ge=0, le=1)
    batch_share: float = option(0.0, "share of tokens sent through vendors' batch APIs, where they have a discount",
                                metavar="S", ge=0, le=1)
    off_peak_share: float = option(0.0, "share of tokens sent in vendors' off-peak windows", metavar="S", ge=0, le=1)
    as_of: str | None = option(None, "the day whose vendor prices apply, YYYY-MM-DD (default today)",
                               metavar="DATE")
    gpu_cny_per_hour: str | None = option(None, "CNY per GPU-hour replacing every basis: X, or per card "
                                                "H20=9.5,H100-SXM=14", metavar="X|NAME=X,...")
    rental_tier: RentalTier | None = option(None, "rental quote to use (hardware.yaml rental_tiers); default each "
                                                  "card's `rental` quote")
    years: float = option(cost.DEFAULT_AMORTIZATION_YEARS, "owned and tco bases: amortisation years", metavar="N",
                          gt=0)
    fx_cny_per_usd: float = option(cost.DEFAULT_FX_CNY_PER_USD, "CNY per USD for USD prices", metavar="RATE", gt=0)
    tensor_parallel_size: int | None = option(None, "GPUs per replica of predicted points (default: the model's, "
                                                    "raised until it fits)", flags=("--tensor-parallel-size", "-tp"),
                                              ge=1)
    profile: Path | None = option(None, "a calibration profile (`bench calibrate ... --out profile.yaml`) for the "
                                        "predicted points of cards with no measured row (default: the published "
                                        "fit shipped with bench)", metavar="PROFILE.yaml")
    out: Path | None = option(None, "also write one line per hardware x vendor as CSV", metavar="FILE.csv")
    format: Literal["table", "json", "markdown"] = option("table", "output format")


def add_plan_command(sub) -> None:
    add_command(sub, "plan", "the fleet, monthly cost and vendor bills for a traffic under latency targets",
                cmd_plan, (PlanOptions,))


def request_of(o: PlanOptions):
    """PlanOptions -> bench.analysis.plan_build.PlanRequest; BenchError naming the option for bad input."""
    from bench.analysis.frontier import Slo
    from bench.analysis.plan import Traffic, parse_traffic
    from bench.analysis.plan_build import PlanRequest
    from bench.config.hardware import canonical_name, load_hardware
    from bench.cost.pricing import CostOptions
    from bench.cost.hwchoice import parse_gpu_prices

    typed = o.model_fields_set
    summary = None
    if o.trace is not None:
        from bench.analysis.plan import trace_summary
        from bench.workload.trace import read_trace

        try:
            summary = trace_summary(read_trace(o.trace))
        except ValueError as e:
            raise BenchError(f"--trace {o.trace}: {e}") from None
    try:
        mix = summary.mix if summary and "mix" not in typed else cost.parse_mix(o.mix)
    except ValueError as e:
        raise BenchError(f"--mix: {e}") from None
    if mix[1] == 0:
        raise BenchError(f"--mix {o.mix}: a plan needs output tokens; give IN:OUT with OUT above 0, such as 3:1")
    output_len = summary.output_len if summary and "output_len" not in typed else o.output_len
    peak_to_mean = summary.peak_to_mean if summary and summary.peak_to_mean and "peak_to_mean" not in typed \
        else o.peak_to_mean
    shape = Traffic(1.0, mix, peak_to_mean, output_len)
    if o.traffic is None:
        if summary is None or summary.tokens_per_day is None:
            raise BenchError("--traffic is required (e.g. 500M/day), unless --trace has a timestamp on every request")
        tokens_per_day = summary.tokens_per_day
    else:
        try:
            tokens_per_day = parse_traffic(o.traffic, shape.tokens_per_request)
        except ValueError as e:
            raise BenchError(f"--traffic: {e}") from None
    book = load_hardware()
    hardware = tuple(dict.fromkeys(canonical_name(h.strip(), book) for h in o.hardware.split(",") if h.strip()))
    if not hardware:
        raise BenchError("--hardware is empty; give one or more hardware.yaml cards, e.g. H20,H100-SXM")
    try:
        as_of = day(o.as_of) if o.as_of else None
    except argparse.ArgumentTypeError as e:
        raise BenchError(f"--as-of: {e}") from None
    given = {}
    if o.gpu_cny_per_hour is not None:
        given["gpu_cny_per_hour"], given["gpu_cny_per_hour_by_hardware"] = parse_gpu_prices(o.gpu_cny_per_hour, book)
    vendors = tuple(v.strip() for v in o.vendors.split(",") if v.strip()) if o.vendors else None
    return PlanRequest(
        model=o.model, hardware=hardware, traffic=Traffic(tokens_per_day, mix, peak_to_mean, output_len),
        slo=Slo(o.slo_ttft_ms, o.slo_tpot_ms, o.slo_percentile), basis=o.basis, vendors=vendors,
        cache_hit_rate=o.cache_hit_rate, batch_share=o.batch_share, off_peak_share=o.off_peak_share,
        results=tuple(o.results), as_of=as_of, tensor_parallel_size=o.tensor_parallel_size, profile=o.profile,
        traffic_source="" if summary is None else f"from the trace {o.trace.name} ({summary.requests:,} requests)",
        cost_options=CostOptions(basis=o.basis, fx_cny_per_usd=o.fx_cny_per_usd, amortization_years=o.years,
                                 rental_tier=o.rental_tier, **given))


def cmd_plan(args) -> int:
    from bench.analysis.plan_build import build_plan
    from bench.core.tables import csv_records
    from bench.display import plan as show
    from bench.results import store as results

    opts: PlanOptions = parsed(args, PlanOptions, "bench plan")
    p = build_plan(request_of(opts))  # everything checked and computed before anything is printed or written
    if opts.format == "json":
        print(json.dumps(show.as_json(p), indent=2, default=str))
    elif opts.format == "markdown":
        print(show.markdown(p))
    else:
        show.print_plan(p)
    if opts.out:
        records = show.out_records(p)
        results.write_atomic(opts.out, csv_records(show.OUT_COLUMNS, records))
        if opts.format == "table":
            print(f"wrote {len(records)} line(s) to {opts.out}")
    return 0
