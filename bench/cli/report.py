"""`bench report RESULTS.csv... --out DIR`: registered by bench.cli. Bad input (a file that is not a
bench CSV or has another schema version, no ok row, unknown hardware or vendor) prints one line,
exits 2 and writes nothing. Its pricing options are bench.config.pricing's, as bench cost reads them."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from bench.cli.options import add_command, parsed
from bench.config.flags import Group, option
from bench.config.given import GivenGpus, GivenModel
from bench.config.pricing import (GpuHourOptions, MoneyOptions, PriceDayOptions, PricedAsOptions, SloOptions,
                                  VendorChoiceOptions)

# The shared options bench report takes (bench.config.pricing), after its own (ReportCommand).
PRICING = (GpuHourOptions, MoneyOptions, PriceDayOptions, PricedAsOptions, VendorChoiceOptions, SloOptions)


class ReportCommand(BaseModel):
    """bench report's own options: the results, the folder, the card for rows naming none, the traffic to size."""

    cli_groups: ClassVar[dict[str, Group]] = {"verdict": Group("the verdict block (first on the page)")}

    results: list[Path] = option(help="results CSVs (any number), or other tools' results files (docs/interop.md)",
                                 positional=True, nargs="+", metavar="RESULTS.csv")
    out: Path = option(help="folder for index.html, report.md and the charts (created; files of the same names "
                            "replaced)", metavar="DIR")
    hardware: str | None = option(None, "hardware.yaml name that prices rows naming none of their own (bench run "
                                        "--hardware, sim rows)", metavar="NAME")
    traffic: str | None = option(None, "tokens a day to size GPUs for: 500M/day, 120B/day (see bench plan)",
                                 metavar="N/day", group="verdict")
    peak_to_mean: float = option(2.0, "busiest hour / the day's mean, for the GPU count", metavar="K",
                                 group="verdict", gt=0, allow_inf_nan=False)


def add_report_command(sub) -> None:
    add_command(sub, "report", "one page (HTML + Markdown + PNG charts) from results CSVs", cmd_report,
                (ReportCommand, GivenModel, GivenGpus, *PRICING))


def cmd_report(args) -> int:
    from bench.analysis.plan import parse_traffic
    from bench.analysis.report.build import ReportOptions, build_report, write_report
    from bench.analysis.report.verdict import VerdictInputs
    from bench.cli.prices import warn_if_stale
    from bench.config.prices import in_force, load_prices
    from bench.core.errors import BenchError
    from bench.cost.matching import wants_all
    from bench.cost.pricing import cost_options
    from bench.results.outputs import check_report_dir, same_file
    from bench.studies.seed_claims import claims_section

    command = parsed(args, ReportCommand, "bench report")
    given = {model: parsed(args, model, "bench report") for model in PRICING}
    check_report_dir(command.out, list(command.results))
    for i, path in enumerate(command.results):  # its rows would count as repeats of themselves
        earlier = next((p for p in command.results[:i] if same_file(p, path) or p == path), None)
        if earlier is not None:
            raise BenchError(f"{path} is given twice ({earlier} and {path}); its rows would be counted twice: "
                             "list each file once")

    traffic = None
    if command.traffic is not None:
        try:  # requests a day are counted at 1,024 tokens each (768 in / 256 out)
            traffic = parse_traffic(command.traffic, 1024)
        except ValueError as e:
            raise BenchError(f"--traffic: {e}") from None
    priced_as, money = given[PricedAsOptions], given[MoneyOptions]
    verdict = VerdictInputs(utilization=priced_as.utilization, slo=given[SloOptions].slo,
                            traffic_tokens_per_day=traffic, peak_to_mean=command.peak_to_mean)
    hour = cost_options(given[GpuHourOptions], priced_as, given[PriceDayOptions])  # utilisation is the verdict's
    vendors = given[VendorChoiceOptions].vendors
    opts = ReportOptions(hardware=command.hardware, basis=hour.basis, as_of=given[PriceDayOptions].as_of,
                         mix=money.mix, fx_cny_per_usd=money.fx_cny_per_usd,
                         vendors=None if wants_all(vendors) else vendors,  # all: every price in force, the default
                         hardware_price=tuple((k, v) for k, v in asdict(hour).items()
                                              if k not in ("hardware", "basis", "mix", "fx_cny_per_usd", "utilization")),
                         verdict=verdict, extra_sections=(claims_section,),
                         given_model=parsed(args, GivenModel, "bench report").model,
                         given_gpus=parsed(args, GivenGpus, "bench report").gpus)
    report = build_report(list(command.results), opts)
    index = write_report(report, command.out)
    as_of = opts.as_of or dt.date.today()
    warn_if_stale(in_force(load_prices(), as_of, opts.vendors).prices, as_of)
    charts = sum(1 for s in report.sections if s.png is not None)
    skipped = [s.title for s in report.sections if s.png is None and s.note.startswith("Skipped")]
    print(f"{charts} chart(s)" + (f"; skipped for lack of data: {', '.join(skipped)}" if skipped else ""))
    print(f"report: {index} (+ {command.out / 'report.md'})")
    return 0
