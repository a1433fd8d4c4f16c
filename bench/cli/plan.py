"""`bench plan`: the fleet a traffic needs on each candidate hardware, its monthly cost on each basis, each
like-for-like vendor's bill for the same traffic, and the break-even volumes (docs/plan.md).

Bad input (unknown model or card, a traffic of 0 or unparseable, an SLO no point meets) prints one line and
exits 2; nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.flags import option
from bench.config.given import GivenGpus
from bench.config.pricing import (GpuHourOptions, MoneyOptions, PriceDayOptions, SloOptions, VendorChoiceOptions,
                                  VendorTermsOptions)
from bench.core.errors import BenchError

# The shared options bench plan takes (bench.config.pricing), after its own (PlanOptions).
PRICING = (GpuHourOptions, MoneyOptions, PriceDayOptions, VendorChoiceOptions, VendorTermsOptions, SloOptions)


class PlanOptions(BaseModel):
    """bench plan's own options: the model, the candidate cards, the traffic and its shape, the output."""

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
    output_len: int = option(256, "output tokens per request (input = output x the mix): requests a minute for "
                                  "rate limits, and the request shape of predicted points", ge=1)
    peak_to_mean: float = option(2.0, "busiest hour's load / the day's mean: the fleet is sized for the peak",
                                 metavar="K", ge=1.0)
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
                cmd_plan, (PlanOptions, GivenGpus, *PRICING))


def request_of(o: PlanOptions, money: MoneyOptions = MoneyOptions(), slo: SloOptions = SloOptions(),
               hour: GpuHourOptions = GpuHourOptions(), choice: VendorChoiceOptions = VendorChoiceOptions(),
               terms: VendorTermsOptions = VendorTermsOptions(), day: PriceDayOptions = PriceDayOptions(),
               gpus: GivenGpus = GivenGpus()):
    """The options -> bench.analysis.plan_build.PlanRequest; BenchError naming the option for bad input."""
    from bench.analysis.plan import Traffic, parse_traffic
    from bench.analysis.plan_build import PlanRequest
    from bench.config.hardware import canonical_name, load_hardware
    from bench.cost.pricing import cost_options

    summary = None
    if o.trace is not None:
        from bench.analysis.plan import trace_summary
        from bench.workload.trace import read_trace

        try:
            summary = trace_summary(read_trace(o.trace))
        except ValueError as e:
            raise BenchError(f"--trace {o.trace}: {e}") from None
    mix = summary.mix if summary and "mix" not in money.model_fields_set else money.mix
    if mix[1] == 0:
        raise BenchError(f"--mix {money.mix}: a plan needs output tokens; give IN:OUT with OUT above 0, such as 3:1")
    typed = o.model_fields_set
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
    return PlanRequest(
        model=o.model, hardware=hardware, traffic=Traffic(tokens_per_day, mix, peak_to_mean, output_len),
        slo=slo.slo, basis=hour.basis, vendors=tuple(choice.vendors) if choice.vendors else None,
        cache_hit_rate=terms.cache_hit_rate or 0.0, batch_share=terms.batch_share if terms.batch_share is not None
        else float(terms.batch_api), off_peak_share=terms.off_peak_share,
        results=tuple(o.results), as_of=day.as_of, tensor_parallel_size=o.tensor_parallel_size, profile=o.profile,
        traffic_source="" if summary is None else f"from the trace {o.trace.name} ({summary.requests:,} requests)",
        cost_options=cost_options(hour, money, day), given_gpus=gpus.gpus)


def cmd_plan(args) -> int:
    from bench.analysis.plan_build import build_plan
    from bench.cli.prices import warn_if_stale
    from bench.core.tables import csv_records
    from bench.display import plan as show
    from bench.results import store as results

    opts: PlanOptions = parsed(args, PlanOptions, "bench plan")
    given = {model.__name__: parsed(args, model, "bench plan") for model in PRICING}
    p = build_plan(request_of(opts, money=given["MoneyOptions"], slo=given["SloOptions"], hour=given["GpuHourOptions"],
                              choice=given["VendorChoiceOptions"], terms=given["VendorTermsOptions"],
                              day=given["PriceDayOptions"], gpus=parsed(args, GivenGpus, "bench plan")))
    # everything checked and computed before anything is printed or written
    stale = warn_if_stale([v.price for v in p.vendors], p.as_of)
    if opts.format == "json":
        print(json.dumps({**show.as_json(p), "price_book_note": stale}, indent=2, default=str))
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
