"""The inputs a section added to the report from outside analysis (the seed articles' claims) is built from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bench.analysis.report.cost import Vendor
from bench.analysis.report.model import Priced, Run
from bench.config.hardware import HardwareBook
from bench.config.prices import PriceBook
from bench.cost.pricing import CostOptions


@dataclass(frozen=True)
class ReportInputs:
    """What the report computed, handed to each of ReportOptions.extra_sections (the seed claims: bench.studies)."""

    runs: list[Run]  # ok rows of the report
    best: list[Priced]  # cheapest run per model x hardware x engine x workload
    vendors: list[Vendor]  # prices in force on as_of, blended at the mix
    book: PriceBook  # the whole price history
    hardware: HardwareBook
    opts: CostOptions
    as_of: dt.date
    configs: dict[str, dict]  # catalog model name -> config.json
